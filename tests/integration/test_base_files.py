"""Files from the school through a real fleet and the CLI as a user runs it (seed 004 Fiches
5 and 7): `hnot generate` -> Charger une base -> Ouvrir -> Compléter -> Récupérer les
utilisateurs -> they log in on port 49300; every bad file refused with nothing changed;
EDT .zip (and hostile ones); Autres bases; Historique in order, dated by the simulated clock."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from common import edt_zip, hnot
from protos import console_pb2
from tests.dates import at
from tests.integration.harness import Datacenter, free_pool, running_datacenter

YEAR = "2026-2027"
START = "2026-09-01T08:00:00"
CAP_BYTES = 8 * 1024 * 1024
PASSWORD = "Rentree2026"


@pytest.fixture
def dc(tmp_path: Path) -> Iterator[Datacenter]:
    with running_datacenter(
        tmp_path,
        free_pool(first_octets="127.140"),
        clock="simulated",
        clock_start=START,
        max_upload_bytes=str(CAP_BYTES),
    ) as datacenter:
        yield datacenter


def generate(dc: Datacenter, school: Any, folder: Path, *options: str, **kw: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    dc.cli(
        "hnot", "generate", "--uai", school.uai,
        "--hosting-number", kw.get("hosting_number", school.hosting_number),
        "--school-year", kw.get("school_year", YEAR), "-o", str(folder), "--password", PASSWORD,
        *options,
    )  # fmt: skip
    return folder / f"Base année {kw.get('school_year', YEAR)}"


def state_of(dc: Datacenter, uai: str) -> tuple[Any, bytes, list[str]]:
    """What must not change on a refusal: the bases (and which is in service), the school's
    saved state byte for byte, and the files in its directory."""
    bases = dc.operator().ListBases(console_pb2.SchoolRef(uai=uai))
    school_dir = dc.state_dir / "schools" / uai / "data"
    files = sorted(str(p.relative_to(school_dir)) for p in school_dir.rglob("*") if p.is_file())
    return bases, (school_dir / "state.json").read_bytes(), files


def refused(dc: Datacenter, uai: str, code: str, words: str, *command: str) -> None:
    before = state_of(dc, uai)
    result = dc.cli(*command, "--uai", uai, check=False)
    assert result.returncode != 0, result.stdout
    assert f"[{code}]" in result.stderr and words in result.stderr, result.stderr
    assert state_of(dc, uai) == before


def history(dc: Datacenter, uai: str) -> list[dict[str, Any]]:
    history: list[dict[str, Any]] = json.loads(
        dc.cli("console", "history", "--uai", uai, "--json").stdout
    )
    return history


def bases(dc: Datacenter, uai: str) -> list[Any]:
    return list(dc.operator().ListBases(console_pb2.SchoolRef(uai=uai)).bases)


def test_generate_load_open_complete_recover_then_users_log_in(
    dc: Datacenter, tmp_path: Path
) -> None:
    school = dc.provision("0751101").school
    # 300 photos of 16 KiB: a .HPHOTOS larger than one gRPC message (4 MB), sent in chunks.
    stem = generate(dc, school, tmp_path / "out", "--photos", "300", "--item-kib", "16")
    assert Path(f"{stem}.HPHOTOS").stat().st_size > 4 * 1024 * 1024
    (demo_base,) = bases(dc, school.uai)

    refused(dc, school.uai, "FAILED_PRECONDITION", "stop the server", "console", "load-base",
            f"{stem}.HNOT")  # fmt: skip
    dc.cli("console", "stop-server", "--uai", school.uai)
    loaded = json.loads(
        dc.cli("console", "load-base", f"{stem}.HNOT", "--uai", school.uai, "--json").stdout
    )["base"]
    assert loaded["in_service"] is False and loaded["origin"] == "etablissement"
    _, generated = hnot.verify(Path(f"{stem}.HNOT"))
    assert generated["base"]["seed"] == school.uai  # the school's synthetic school travels
    assert {k: int(v) for k, v in loaded["counters"].items()} == {
        k: v for k, v in generated["base"]["counters"].items()
    }
    refused(dc, school.uai, "ALREADY_EXISTS", "already loaded", "console", "load-base",
            f"{stem}.HNOT")  # fmt: skip

    others = json.loads(dc.cli("console", "other-bases", "--uai", school.uai, "--json").stdout)
    assert {(o["id"], o["liste"]) for o in others} == {
        (demo_base.id, "Bases précédemment mises en service"),
        (loaded["id"], "Bases téléchargées depuis l'établissement"),
    }
    dc.cli("console", "open-base", loaded["id"], "--spr-login", "spr.local",
           "--spr-password", "Spr-Passw0rd", "--uai", school.uai)  # fmt: skip
    (in_service,) = [b for b in bases(dc, school.uai) if b.in_service]
    assert in_service.id == loaded["id"]
    refused(dc, school.uai, "FAILED_PRECONDITION", "stop the server", "console", "open-base",
            demo_base.id)  # fmt: skip

    dc.cli("console", "complete-base", f"{stem}.HDOCJOINTS", f"{stem}.HPHOTOS",
           f"{stem}.HCOURRIERS", "--uai", school.uai)  # fmt: skip
    recovered = json.loads(
        dc.cli("console", "recover-users", f"{stem}.profils", "--uai", school.uai, "--json").stdout
    )
    _, profils = hnot.verify(Path(f"{stem}.profils"))
    assert recovered["items"] == len(profils["users"]) > 5
    counters = recovered["base"]["counters"]
    assert (counters["documents_joints"], counters["photos"], counters["courriers"]) == (
        20,
        300,
        10,
    )
    annexes = dc.state_dir / "schools" / school.uai / "data" / "annexes" / loaded["id"]
    assert sorted(p.name for p in annexes.iterdir()) == [
        "annexe.HCOURRIERS", "annexe.HDOCJOINTS", "annexe.HPHOTOS",
    ]  # fmt: skip

    teacher = next(u["login"] for u in profils["users"] if u["kind"] == "professeur")
    connected = dc.cli("client", "connect", school.uai, "--mode", "enseignant", "--login",
                       teacher, "--password", PASSWORD, "--hold", "0")  # fmt: skip
    assert "connected" in connected.stdout.lower()
    wrong = dc.cli("client", "connect", school.uai, "--mode", "enseignant", "--login", teacher,
                   "--password", "not-it", "--hold", "0", check=False)  # fmt: skip
    assert "[UNAUTHENTICATED]" in wrong.stderr

    actions = [e["action"] for e in history(dc, school.uai)]
    assert actions == [
        "base_created", "put_in_service", "server_stopped", "base_loaded", "base_opened",
        "put_in_service", "base_completed", "base_completed", "base_completed",
        "users_recovered",
    ]  # fmt: skip
    assert {e["at_seconds"] for e in history(dc, school.uai)} == {at(START)}  # the injected clock
    table = dc.cli("console", "history", "--uai", school.uai).stdout
    assert "Chargement d'une base" in table and "2026-09-01 08:00:00" in table


def test_every_bad_file_is_refused_and_nothing_changes(dc: Datacenter, tmp_path: Path) -> None:
    school = dc.provision("0751102").school
    other = dc.provision("0751103").school
    stem = generate(dc, school, tmp_path / "good")
    good = Path(f"{stem}.HNOT").read_bytes()
    (demo_base,) = bases(dc, school.uai)
    dc.cli("console", "stop-server", "--uai", school.uai)

    def bad(name: str, data: bytes) -> str:
        path = tmp_path / name
        path.write_bytes(data)
        return str(path)

    load = ("console", "load-base")
    for option, value, words in [
        ("--hosting-number", "2611", "12 digits"),
        ("--uai", "0751102A", "wrong check letter"),
        ("--school-year", "2026", "two consecutive years"),
    ]:
        args = {"--uai": school.uai, "--hosting-number": school.hosting_number,
                "--school-year": YEAR, option: value}  # fmt: skip
        result = dc.cli("hnot", "generate", "-o", str(tmp_path / "never"),
                        *[x for pair in args.items() for x in pair], check=False)  # fmt: skip
        assert result.returncode != 0 and words in result.stderr, result.stderr
        assert not list((tmp_path / "never").glob("*.HNOT"))
    foreign = generate(dc, other, tmp_path / "foreign")
    refused(dc, school.uai, "INVALID_ARGUMENT", other.hosting_number, *load, f"{foreign}.HNOT")
    # The header rewritten to this school's hosting number: the checksum gives it away.
    forged = (
        Path(f"{foreign}.HNOT")
        .read_bytes()
        .replace(other.hosting_number.encode(), school.hosting_number.encode())
    )
    refused(dc, school.uai, "INVALID_ARGUMENT", "SHA-256", *load, bad("forged.HNOT", forged))
    refused(dc, school.uai, "INVALID_ARGUMENT", "truncated", *load,
            bad("cut.HNOT", good[: len(good) // 2]))  # fmt: skip
    refused(dc, school.uai, "INVALID_ARGUMENT", "truncated", *load, bad("cut2.HNOT", good[:-1]))
    corrupt = bytearray(good)
    corrupt[-100] ^= 0xFF
    refused(dc, school.uai, "INVALID_ARGUMENT", "SHA-256", *load,
            bad("corrupt.HNOT", bytes(corrupt)))  # fmt: skip
    newer = good.replace(b"PRONOTE-DC HNOT 1\n", b"PRONOTE-DC HNOT 2\n", 1)
    refused(dc, school.uai, "INVALID_ARGUMENT", "newer", *load, bad("newer.HNOT", newer))
    refused(dc, school.uai, "INVALID_ARGUMENT", "not a hosting file", *load,
            bad("random.HNOT", b"\x00garbage" * 100))  # fmt: skip
    refused(dc, school.uai, "INVALID_ARGUMENT", "is empty", *load,
            bad("empty.HNOT", b""))  # fmt: skip
    refused(dc, school.uai, "INVALID_ARGUMENT", "takes *.HNOT", *load, f"{stem}.HPHOTOS")
    huge = generate(dc, school, tmp_path / "huge", "--photos", "600", "--item-kib", "16")
    refused(dc, school.uai, "RESOURCE_EXHAUSTED", "PRONOTE_DC_MAX_UPLOAD_BYTES",
            "console", "complete-base", f"{huge}.HPHOTOS", "--base", demo_base.id)  # fmt: skip
    refused(dc, school.uai, "FAILED_PRECONDITION", "no base is in service",
            "console", "recover-users", f"{stem}.profils")  # fmt: skip

    # Annexes only go with the base they were generated with.
    dc.cli("console", "load-base", f"{stem}.HNOT", "--uai", school.uai)
    (loaded,) = [b for b in bases(dc, school.uai) if b.origin == "etablissement"]
    refused(dc, school.uai, "INVALID_ARGUMENT", "another base", "console", "complete-base",
            f"{huge}.HDOCJOINTS", "--base", loaded.id)  # fmt: skip
    refused(dc, school.uai, "NOT_FOUND", "no base", "console", "recover-users",
            f"{stem}.profils", "--base", "nope")  # fmt: skip
    assert [e["action"] for e in history(dc, school.uai)][-1] == "base_loaded"


def hostile_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_a_base_initialised_from_edt_and_hostile_zips(dc: Datacenter, tmp_path: Path) -> None:
    school = dc.provision("0751104").school
    dc.cli("console", "stop-server", "--uai", school.uai)
    created = json.loads(
        dc.cli("console", "create-base", "2027-2028", "--uai", school.uai, "--json").stdout
    )
    good = tmp_path / "edt.zip"
    dc.cli("hnot", "edt-zip", "--uai", school.uai, "--school-year", "2027-2028", "-o", str(good),
           "--publish", "direction,viescolaire,parent")  # fmt: skip
    members = {n: zipfile.ZipFile(good).read(n) for n in edt_zip.REQUIRED}
    init = ("console", "init-from-edt")

    def bad(name: str, data: bytes) -> str:
        path = tmp_path / name
        path.write_bytes(data)
        return str(path)

    for name, data, words in [
        ("traversal.zip", hostile_zip({**members, "../evil.json": b"{}"}), "path traversal"),
        ("absolute.zip", hostile_zip({**members, "/etc/evil.json": b"{}"}), "path traversal"),
        ("bomb.zip", hostile_zip({**members, "cours.json": b" " * (20 * 1024 * 1024)}), "bomb"),
        ("missing.zip", hostile_zip({edt_zip.MANIFEST: members[edt_zip.MANIFEST]}), "lacks"),
        ("notzip.zip", b"PK\x03\x04 not really", "not a zip"),
    ]:
        assert len(data) < CAP_BYTES
        refused(dc, school.uai, "INVALID_ARGUMENT", words, *init, bad(name, data),
                "--base", created["id"])  # fmt: skip
    wrong_year = tmp_path / "2026.zip"
    dc.cli("hnot", "edt-zip", "--uai", school.uai, "--school-year", YEAR, "-o", str(wrong_year))
    refused(dc, school.uai, "INVALID_ARGUMENT", "2026-2027", *init, str(wrong_year),
            "--base", created["id"])  # fmt: skip

    reply = json.loads(
        dc.cli(*init, str(good), "--base", created["id"], "--uai", school.uai, "--json").stdout
    )
    counters = reply["base"]["counters"]
    assert (counters["professeurs"], counters["classes"], counters["salles"]) == (35, 16, 38)
    assert reply["items"] == 16 * 5 * 6  # 6 lessons a day, 5 days, 16 classes
    saved = json.loads((dc.state_dir / "schools" / school.uai / "data" / "state.json").read_text())
    espaces = saved["publication"]["espaces"]
    assert {name for name, on in espaces.items() if on} == {"direction", "viescolaire", "parent"}
    refused(dc, school.uai, "FAILED_PRECONDITION", "already has resources", *init, str(good),
            "--base", created["id"])  # fmt: skip
    # The user's choice at the transfer overrides EDT's.
    other = json.loads(
        dc.cli("console", "create-base", "2028-2029", "--uai", school.uai, "--json").stdout
    )
    later = tmp_path / "later.zip"
    dc.cli("hnot", "edt-zip", "--uai", school.uai, "--school-year", "2028-2029", "-o", str(later))
    dc.cli(*init, str(later), "--base", other["id"], "--publish", "eleve", "--uai", school.uai)
    saved = json.loads((dc.state_dir / "schools" / school.uai / "data" / "state.json").read_text())
    assert {n for n, on in saved["publication"]["espaces"].items() if on} == {"eleve"}
    assert [e["action"] for e in history(dc, school.uai)] == [
        "base_created", "put_in_service", "server_stopped",
        "base_created", "base_initialised_from_edt", "publication_changed",
        "base_created", "base_initialised_from_edt", "publication_changed",
    ]  # fmt: skip
