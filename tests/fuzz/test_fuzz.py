"""Fuzz (issue 12): Hypothesis drives hostile input through the real edges of a real fleet
(`pronote-dc up`, real school processes) and of a PRONOTE.net app on a real socket, and checks
that every refusal is a refusal: no UNKNOWN/INTERNAL gRPC status, no HTTP 500, no process
death, no state change after a refusal, memory bounded.

Each target runs for PRONOTE_DC_FUZZ_SECONDS (default 20) or its example cap, whichever comes
first, and prints its cases per second.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import io
import json
import os
import re
import sqlite3
import threading
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import grpc
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from common import edt_zip, hnot
from common.clock import SimulatedClock
from common.pronote_net import Cipherer, aes_encrypt, deflate_raw
from protos import client_pb2, client_pb2_grpc, common_pb2, console_pb2
from tests.integration.harness import Datacenter, free_pool, running_datacenter
from tests.integration.pronote_net_helpers import NOW, issue_sample_passwords, new_school
from tests.rates import report
from vm_agent.adapters.pronote_net.app import pronote_net_app
from vm_agent.adapters.slot import SchoolSlot

SECONDS = float(os.environ.get("PRONOTE_DC_FUZZ_SECONDS", "20"))
BAD_CODES = (grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL)
BATCH = settings(
    max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=30,
)


class Budget:
    """Runs a Hypothesis test in batches of 25 cases, each from its own seed, until SECONDS
    have passed (so the run is bounded in time, not in cases), and reports its rate."""

    def __init__(self, name: str) -> None:
        self.name, self.cases, self.started = name, 0, time.monotonic()

    def spent(self) -> bool:
        self.cases += 1
        return False

    def run(self, *strategies: Any) -> Callable[[Callable[..., None]], None]:
        def runner(test: Callable[..., None]) -> None:
            batch = 0
            while time.monotonic() - self.started < SECONDS:
                BATCH(seed(batch)(given(*strategies)(test)))()
                batch += 1

        return runner

    def report(self) -> None:
        elapsed = time.monotonic() - self.started
        report(f"fuzz {self.name}: {self.cases} cases in {elapsed:.1f} s: "
               f"{self.cases / elapsed:.0f} cases per second")  # fmt: skip


def mutations(data: bytes) -> st.SearchStrategy[bytes]:
    """A valid file, damaged: bytes flipped, cut, inserted, or repeated."""
    size = len(data)
    flip = st.lists(st.tuples(st.integers(0, max(0, size - 1)), st.integers(0, 255)), max_size=8)
    return st.one_of(
        flip.map(lambda changes: _flip(data, changes)),
        st.integers(0, size).map(lambda n: data[:n]),
        st.tuples(st.integers(0, size), st.binary(max_size=64)).map(
            lambda t: data[: t[0]] + t[1] + data[t[0] :]
        ),
        st.binary(max_size=256),
    )


def _flip(data: bytes, changes: list[tuple[int, int]]) -> bytes:
    out = bytearray(data)
    for position, value in changes:
        if out:
            out[position % len(out)] = value
    return bytes(out)


def deep(levels: int) -> bytes:
    """JSON text nested `levels` deep (json.dumps cannot even write it)."""
    return b"[" * levels + b"1" + b"]" * levels


def resign(header: hnot.Header, text: bytes) -> bytes:
    """A hosting file around any JSON text, correctly compressed and signed (hnot.encode's
    format): what a hostile generator would send."""
    body = gzip.compress(text, mtime=0)
    header = hnot.Header(**{**asdict(header), "payload_size": len(body)})
    start = b"%s %s %d\n%s\n" % (
        hnot.MAGIC, header.kind.value.encode(), header.version, header.to_json(),
    )  # fmt: skip
    content = start + body
    return content + b"SHA256 " + hashlib.sha256(content).hexdigest().encode() + b"\n"


# -- a real fleet --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Datacenter]:
    with running_datacenter(
        tmp_path_factory.mktemp("fuzz"), free_pool(27, "127.87"), clock="simulated",
        clock_start="2026-10-05T09:00", clock_speed="0",
    ) as center:  # fmt: skip
        yield center


def snapshot(dc: Datacenter, uai: str, school_state: bool = True) -> tuple[Any, ...]:
    """What a refusal must not change: the registry's rows, the school's bases and state."""
    with sqlite3.connect(dc.state_dir / "registry.sqlite3") as db:
        rows = tuple(
            tuple(db.execute(f"SELECT * FROM {table} ORDER BY 1"))
            for table in ("schools", "leases", "orders", "proformas", "intents")
        )
    bases = operator(dc).ListBases(console_pb2.SchoolRef(uai=uai)).SerializeToString()
    state = (dc.state_dir / "schools" / uai / "data" / "state.json").read_bytes()
    return rows, bases, state if school_state else b""


_OPERATORS: dict[int, Any] = {}


def operator(dc: Datacenter) -> Any:
    """One operator channel for the whole run (a channel per call runs the client out of
    resources, and gRPC's client then fails calls itself, as INTERNAL)."""
    return _OPERATORS.setdefault(id(dc), dc.operator())


def rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]


def alive(dc: Datacenter, uai: str) -> None:
    assert dc.process is not None and dc.process.poll() is None, "the controller died"
    assert dc.school_pid(uai) != 0 and Path(f"/proc/{dc.school_pid(uai)}").exists()


def upload(
    dc: Datacenter, uai: str, operation: str, data: bytes, **fields: Any
) -> grpc.RpcError | None:
    def chunks() -> Iterator[common_pb2.BaseFileChunk]:
        yield common_pb2.BaseFileChunk(
            uai=uai, operation=operation, file_name="fuzz", data=data[:65536], **fields
        )
        for start in range(65536, len(data), 65536):
            yield common_pb2.BaseFileChunk(data=data[start : start + 65536])

    try:
        operator(dc).stub.UploadBaseFile(
            chunks(), metadata=(("authorization", f"Bearer {dc.operator_token}"),), timeout=30
        )
    except grpc.RpcError as error:
        return error
    return None


def refused_cleanly(
    dc: Datacenter, uai: str, call: Callable[[], grpc.RpcError | None], school_state: bool = True
) -> None:
    """`school_state=False` for the Client PRONOTE protocol: a refused login is counted (and
    may suspend the address) in the school's saved state, as fail2ban must."""
    before = snapshot(dc, uai, school_state)
    error = call()
    if error is not None:
        assert error.code() not in BAD_CODES, f"{error}\ncontroller log:\n{dc.log()[-1500:]}"
        assert error.code() != grpc.StatusCode.RESOURCE_EXHAUSTED or "larger" in (
            error.details() or ""
        ), error
        after = snapshot(dc, uai, school_state)
        assert after == before, f"a refusal changed the state: {error.details()}"
    alive(dc, uai)


def test_hosting_files_and_edt_zips_through_the_console(dc: Datacenter, tmp_path: Path) -> None:
    school = dc.provision("0750801").school
    dc.operator().StopServer(console_pb2.SchoolRef(uai=school.uai))  # loads need it stopped
    dc.cli(
        "hnot", "generate", "--uai", school.uai, "--hosting-number", school.hosting_number,
        "--school-year", "2026-2027", "-o", str(tmp_path), "--password", "Rentree2026",
        "--documents", "2", "--photos", "2", "--courriers", "2",
    )  # fmt: skip
    files = {p.suffix.lstrip("."): p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    operation_of = {"HNOT": "load", "profils": "users", "HDOCJOINTS": "complete",
                    "HPHOTOS": "complete", "HCOURRIERS": "complete"}  # fmt: skip
    header = hnot.read_header(files["HNOT"][: hnot.MAX_HEADER_BYTES])
    profils = hnot.read_header(files["profils"][: hnot.MAX_HEADER_BYTES])
    resigned = {
        "deep JSON": resign(header, b'{"users":' + deep(5000) + b"}"),
        "deep JSON profils": resign(profils, b'{"users":' + deep(5000) + b"}"),
        "100 kB login": resign(
            profils, json.dumps({"users": [{"login": "x" * 100_000, "password": "p"}]}).encode()
        ),
    }
    good_zip = edt_zip.build(
        school.uai, "2026-2027", {"eleve": True}, professeurs=3, classes=2, salles=4
    )
    pid = dc.school_pid(school.uai)
    memory = rss_kib(pid)
    budget = Budget("hosting files and EDT zips (console UploadBaseFile)")

    @budget.run(
        st.sampled_from(sorted(files)).flatmap(
            lambda kind: st.tuples(st.just(kind), mutations(files[kind]))
        )
        | st.sampled_from(sorted(resigned)).map(lambda name: ("profils", resigned[name]))
        | mutations(good_zip).map(lambda data: ("zip", data))
        | st.sampled_from(
            [
                _zip_with({edt_zip.MANIFEST: b'{"format": 1e400}'}, good_zip),
                _zip_with({edt_zip.RESOURCES: b"[" * 100_000}, good_zip),
                _negative_offset(good_zip),
            ]
        ).map(lambda data: ("zip", data))
    )
    def case(item: tuple[str, bytes]) -> None:
        budget.spent()
        kind, data = item
        operation = "edt" if kind == "zip" else operation_of[kind]
        refused_cleanly(dc, school.uai, lambda: upload(dc, school.uai, operation, data))

    budget.report()
    assert rss_kib(dc.school_pid(school.uai)) - memory < 64 * 1024, "memory grew"
    assert dc.school_pid(school.uai) == pid, "the school restarted: it died"


def _zip_with(replace: dict[str, bytes], good: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as source, zipfile.ZipFile(out, "w") as archive:
        for info in source.infolist():
            archive.writestr(info.filename, replace.get(info.filename) or source.read(info))
    return out.getvalue()


def _negative_offset(good: bytes) -> bytes:
    """The central directory's first local header offset made huge (a negative seek)."""
    data = bytearray(good)
    central = data.find(b"PK\x01\x02")
    data[central + 42 : central + 46] = b"\xff\xff\xff\x7f"
    return bytes(data)


# -- console and client RPCs ---------------------------------------------------------------

# A header value gRPC's client sends at all (others fail in the client, as INTERNAL).
TOKENS = st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=40)
FIELD_VALUES = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=30),
    st.sampled_from(["0750801", "0750801A", "", "..", "x" * 5000]),
)


def random_message(message_type: Any, draw: Any, depth: int = 0) -> Any:
    message = message_type()
    for field in message_type.DESCRIPTOR.fields:
        if draw(st.booleans()):
            continue
        kind = field.type
        if field.message_type is not None:
            if depth < 2 and not field.is_repeated:
                sub = random_message(type(getattr(message, field.name)), draw, depth + 1)
                getattr(message, field.name).CopyFrom(sub)
            continue
        if kind == field.TYPE_STRING:
            value: Any = draw(FIELD_VALUES)
        elif kind == field.TYPE_BOOL:
            value = draw(st.booleans())
        elif kind in (field.TYPE_DOUBLE, field.TYPE_FLOAT):
            value = draw(st.floats(allow_nan=True, allow_infinity=True))
        elif kind == field.TYPE_ENUM:
            value = draw(st.integers(-1, 8))
        elif kind == field.TYPE_BYTES:
            value = draw(st.binary(max_size=64))
        else:
            value = draw(st.integers(-(2**31), 2**31 - 1))
        try:
            if field.is_repeated:
                getattr(message, field.name).append(value)
            else:
                setattr(message, field.name, value)
        except (ValueError, TypeError):
            pass
    return message


# Calls that move the data-center's clock or remove schools would only slow the run down or
# empty it: they are fuzzed with the rest, on a school of their own, but not with a far date.
def test_every_console_and_client_rpc(dc: Datacenter) -> None:
    school = dc.provision("0750802").school
    service = console_pb2.DESCRIPTOR.services_by_name["Console"]
    methods = [m for m in service.methods if not m.client_streaming and not m.server_streaming]
    client_service = client_pb2.DESCRIPTOR.services_by_name["ClientPronote"]
    client = client_pb2_grpc.ClientPronoteStub(grpc.insecure_channel(f"{school.address}:49300"))
    pid, memory = dc.school_pid(school.uai), rss_kib(dc.process.pid)  # type: ignore[union-attr]
    rpc_console = dc.console()  # its token changes with each case
    budget = Budget("console and client RPCs")

    @budget.run(st.data())
    def case(data: st.DataObject) -> None:
        budget.spent()
        use_client = data.draw(st.booleans())
        if use_client:
            method = data.draw(st.sampled_from(list(client_service.methods)))
            request = random_message(_message_class(method.input_type, client_pb2), data.draw)
            call = getattr(client, method.name)
        else:
            method = data.draw(st.sampled_from(methods))
            if method.name in ("AdvanceClock", "DeprovisionSchool"):
                return
            request = random_message(_message_class(method.input_type, console_pb2), data.draw)
            token = dc.operator_token if data.draw(st.booleans()) else data.draw(TOKENS)
            console = rpc_console
            console.token = token

            def call(r: Any, **_: Any) -> Any:
                return getattr(console, method.name)(r)

        def attempt() -> grpc.RpcError | None:
            try:
                call(request, timeout=30)
            except grpc.RpcError as error:
                return error
            return None

        refused_cleanly(dc, school.uai, attempt, school_state=not use_client)

    budget.report()
    assert dc.school_pid(school.uai) == pid, "the school restarted: it died"
    assert rss_kib(dc.process.pid) - memory < 64 * 1024  # type: ignore[union-attr]


def _message_class(descriptor: Any, module: Any) -> Any:
    from google.protobuf import message_factory

    return message_factory.GetMessageClass(descriptor)


# -- PRONOTE.net, in every mode, before and after login -------------------------------------


@pytest.fixture(scope="module")
def espaces() -> Iterator[tuple[str, list[int], SchoolSlot, dict[str, str]]]:
    """A PRONOTE.net app on a real socket, counting the 5xx it answers."""
    clock = SimulatedClock(NOW.timestamp())
    school = new_school("0750655E", clock, maxretry=1_000_000)  # fuzz is no brute force
    passwords = issue_sample_passwords(school)
    slot = SchoolSlot()
    slot.fill(school)
    errors: list[int] = []
    app = pronote_net_app(slot, clock)

    async def count(request: web.Request, response: web.StreamResponse) -> None:
        if response.status >= 500:
            errors.append(response.status)

    app.on_response_prepare.append(count)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, access_log=None)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.87.255.1", 0, reuse_port=False)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.87.255.1:{port}/pronote", errors, slot, passwords
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.run_until_complete(runner.cleanup())
        loop.close()


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as reply:
        return str(reply.read().decode())


def _post(url: str, body: bytes) -> int:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            reply.read()
            return int(reply.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


MODES = [
    ("", Cipherer()),
    ("?CrA=0", Cipherer(encrypt=False)),
    ("?CoA=0", Cipherer(compress=False)),
    ("?CrA=0&CoA=0", Cipherer(encrypt=False, compress=False)),
]
BEFORE_LOGIN = ["FonctionParametres", "Identification", "Authentification", "PageEmploiDuTemps"]
AFTER_LOGIN = ["PageEmploiDuTemps", "DernieresNotes", "PageCahierDeTexte", "Navigation", "x"]


def test_pronote_net_requests_in_every_mode(espaces: Any) -> None:
    base, errors, _, _ = espaces
    budget = Budget("PRONOTE.net requests (4 modes, before login)")
    bomb = deflate_raw(b"0" * (64 * 1024 * 1024)).hex()

    @budget.run(
        st.sampled_from(range(len(MODES))),
        st.sampled_from([*BEFORE_LOGIN, "x"]),
        st.one_of(
            JSON.map(lambda v: ("sealed", v)),
            st.binary(max_size=512).map(lambda v: ("raw", v)),
            st.just(("raw", b"[" * 100_000)),
            st.just(("bomb", None)),
            st.just(("deep", deep(3000))),
        ),
    )  # fmt: skip
    def case(mode: int, name: str, payload: tuple[str, Any]) -> None:
        budget.spent()
        query, cipher = MODES[mode]
        page = _get(f"{base}/eleve.html{query}")
        found = re.search(r"h:'(\d+)'", page)
        assert found
        session = int(found.group(1))
        kind, value = payload
        if kind == "raw":
            body = value
        else:
            if kind == "bomb":  # inflates to 64 MiB
                data_sec: Any = bomb
            elif kind == "deep":
                data_sec = _seal_text(cipher, value)
            else:
                data_sec = _seal(cipher, value)
            body = json.dumps({"session": session, "no": cipher.order(1), "id": name,
                               "dataSec": data_sec}).encode()  # fmt: skip
        status = _post(f"{base}/appelfonction/3/{session}/x", body)
        assert status < 500 and not errors, f"HTTP {status} {errors}"

    budget.report()


def _seal_text(cipher: Cipherer, text: bytes) -> Any:
    """Cipherer.seal_request for JSON text json.dumps cannot write."""
    if not (cipher.compress or cipher.encrypt):
        return 0  # unsealed mode: the raw body cases cover it
    data = deflate_raw(text.hex().encode()) if cipher.compress else text
    if cipher.encrypt:
        data = aes_encrypt(cipher.key, cipher.iv, data)
    return data.hex().upper()


def _seal(cipher: Cipherer, value: Any) -> Any:
    try:
        return cipher.seal_request(value)
    except (ValueError, RecursionError):  # the client side cannot even encode it: send raw
        return "00"


def test_pronote_net_requests_after_login(espaces: Any) -> None:
    """pronotepy logs in for real, then its own channel sends fuzzed calls."""
    import pronotepy

    base, errors, _, passwords = espaces
    login = next(name for name in passwords if name.startswith("eleve"))
    client = pronotepy.Client(f"{base}/eleve.html", login, passwords[login])
    assert client.logged_in
    budget = Budget("PRONOTE.net requests (after login, pronotepy's session)")

    @budget.run(
        st.sampled_from(AFTER_LOGIN),
        st.dictionaries(st.text(max_size=10), JSON, max_size=4),
    )  # fmt: skip
    def case(name: str, data: dict[str, Any]) -> None:
        budget.spent()
        with contextlib.suppress(pronotepy.PronoteAPIError):  # a refusal, as PRONOTE gives
            client.communication.post(name, {"_Signature_": {"onglet": 16}, "donnees": data})
        assert not errors, f"HTTP {errors}"

    budget.report()
