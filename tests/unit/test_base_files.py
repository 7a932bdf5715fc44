"""The hosting file format (common.hnot), the EDT transfer reader (common.edt_zip), the
Historique, and what the server does with verified files (vm_agent.domain.base_files)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from common import edt_zip, hnot
from common.clock import SimulatedClock
from common.hnot import FileKind, Header
from vm_agent.domain import base_files
from vm_agent.domain.bases import base_to_dict, new_base
from vm_agent.domain.errors import InvalidArgument, WrongState
from vm_agent.domain.history import Action, History
from vm_agent.domain.licences import LicencePolicy
from vm_agent.domain.school import SchoolIdentity, SchoolServer
from vm_agent.domain.security import SecurityPolicy

UAI, HOSTING = "0750655E", "261122100001"
HEADER = Header(FileKind.HNOT, hnot.FORMAT_VERSION, UAI, HOSTING, "2026-2027", "g1", 0.0, 0)


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "file"
    path.write_bytes(data)
    return path


def test_a_file_reads_back_as_written(tmp_path: Path) -> None:
    data = hnot.encode(HEADER, {"base": {"x": 1}})
    header, payload = hnot.verify(write(tmp_path, data))
    assert (header.hosting_number, header.kind, payload) == (
        HOSTING,
        FileKind.HNOT,
        {"base": {"x": 1}},
    )
    assert hnot.read_header(data[:200]).generation_id == "g1"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d[:-1], "truncated"),
        (lambda d: d[:40], "truncated"),
        (lambda d: d + b"x", "more than its header says"),
        (lambda d: d[:-20] + bytes([d[-20] ^ 1]) + d[-19:], "SHA-256"),
        (lambda d: d.replace(HOSTING.encode(), b"261122100009"), "SHA-256"),
        (lambda d: d.replace(b"HNOT 1", b"HNOT 7", 1), "newer"),
        (lambda d: d.replace(b"HNOT 1", b"HNOTE 1", 1), "unknown file kind"),
        (lambda d: b"PK\x03\x04" + d, "not a hosting file"),
    ],
)
def test_a_damaged_file_is_refused_with_what_is_wrong(
    tmp_path: Path, change: Any, words: str
) -> None:
    data = change(hnot.encode(HEADER, {"base": {}}))
    with pytest.raises(hnot.BadFile, match=words):
        hnot.verify(write(tmp_path, data))


def test_a_compression_bomb_inside_a_valid_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = hnot.encode(HEADER, {"items": ["0" * 5000]})  # a valid checksum is easy to forge
    monkeypatch.setattr(hnot, "MAX_PAYLOAD_BYTES", 4000)
    with pytest.raises(hnot.BadFile, match="compression bomb"):
        hnot.verify(write(tmp_path, data))


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_an_edt_transfer_reads_back_and_hostile_zips_are_refused() -> None:
    good = edt_zip.build(UAI, "2026-2027", {"eleve": True}, professeurs=3, classes=2, salles=4)
    transfer = edt_zip.read(good)
    assert (len(transfer.resources["professeurs"]), transfer.eleves) == (3, 422)
    assert len(transfer.lessons) == 2 * 5 * 6 and transfer.espaces == {"eleve": True}
    members = {n: zipfile.ZipFile(io.BytesIO(good)).read(n) for n in edt_zip.REQUIRED}
    for hostile, words in [
        ({**members, "../../etc/cron.d/x": b""}, "path traversal"),
        ({**members, "C:\\evil": b""}, "path traversal"),
        ({**members, edt_zip.LESSONS: b"0" * (edt_zip.MAX_MEMBER_BYTES + 1)}, "zip bomb"),
        ({edt_zip.MANIFEST: members[edt_zip.MANIFEST]}, "lacks ressources.json, cours.json"),
        ({**members, edt_zip.LESSONS: b'{"cours": [{"professeur": "X"}]}'}, "not in ressou"),
        ({**members, edt_zip.LESSONS: b'{"cours": 3}'}, "malformed"),
        ({**members, edt_zip.MANIFEST: json.dumps({"format": 2}).encode()}, "newer"),
    ]:
        with pytest.raises(edt_zip.BadZip, match=words):
            edt_zip.read(zip_of(hostile))


def test_the_history_is_bounded_and_survives_a_round_trip() -> None:
    history = History(limit=3)
    for n in range(5):
        history.record(float(n), Action.BASE_CREATED, f"base {n}")
    assert [e.detail for e in history.entries()] == ["base 2", "base 3", "base 4"]
    again = History.from_list([*history.to_list(), {"action": "from_the_future", "at_seconds": 9}])
    assert again.entries() == History(history.entries()).entries()


def school(saved: list[dict[str, Any]]) -> SchoolServer:
    return SchoolServer(
        SchoolIdentity(UAI, "Lycée"),
        LicencePolicy(4, 30),
        SecurityPolicy(5, 600.0, 600.0),
        600.0,
        SimulatedClock(1_790_000_000.0),
        saved.append,
    )


def test_loading_needs_a_stopped_server_and_changes_nothing_when_refused() -> None:
    saved: list[dict[str, Any]] = []
    server = school(saved)
    base = server.create_base("2026-2027")
    server.put_in_service(base.id, "spr", "Spr-Passw0rd")
    payload = {"base": {"school_year": "2026-2027", "created_at_seconds": 1.0, "counters": {},
                        "users": {}}}  # fmt: skip
    with pytest.raises(WrongState, match="stop the server"):
        base_files.load_base(server, HEADER, payload)
    server.stop()
    before = len(saved)
    with pytest.raises(InvalidArgument, match="hosting number 261122100001, not"):
        base_files.check_binding(server, HEADER, "261122100002")
    with pytest.raises(InvalidArgument, match="cannot be read"):
        base_files.load_base(server, HEADER, {"base": {"school_year": "2026-2027"}})
    assert len(saved) == before and len(server.bases) == 1
    loaded = base_files.load_base(server, HEADER, payload)
    assert (loaded.origin, loaded.generation_id, loaded.ever_in_service) == (
        "etablissement",
        "g1",
        False,
    )
    assert [e.action for e in server.history.entries()] == [
        Action.BASE_CREATED, Action.PUT_IN_SERVICE, Action.SERVER_STOPPED, Action.BASE_LOADED,
    ]  # fmt: skip
    assert saved[-1]["history"][-1]["action"] == "base_loaded"
    again = SchoolServer(
        SchoolIdentity(UAI, "Lycée"), LicencePolicy(4, 30), SecurityPolicy(5, 600.0, 600.0),
        600.0, SimulatedClock(0.0), saved.append, saved_state=saved[-1],
    )  # fmt: skip
    assert again.history.entries() == server.history.entries()  # saved with the school


def test_a_loaded_base_file_cannot_ask_to_be_counted() -> None:
    """`counted` is the server's own bookkeeping (DESIGN decision 30): a file saying it was
    not counted keeps its counters; its synthetic school is never regenerated to replace them."""
    base = new_base("2026-2027", 0.0)
    base.seed = UAI
    base.counters.eleves, base.counters.classes, base.counters.notes = 300, 12, 7
    server = school([])
    loaded = base_files.load_base(
        server, HEADER, {"base": {**base_to_dict(base), "counted": False}}
    )
    server.count_pending()
    assert loaded.counted and loaded.counters.notes == 7
