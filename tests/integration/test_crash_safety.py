"""Issue 12's reproductions, each through a real fleet (`pronote-dc up`, real school processes):
kill -9 while provisioning, an interrupted order activation and clock advance, a school
restarted on a simulated clock, secrets at rest, temp files of killed writes, hostile
PRONOTE.net requests and uploads, the console login throttle."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from common import backup_plan
from common.pronote_net import Cipherer, deflate_raw
from protos import common_pb2, console_pb2
from tests.dates import at
from tests.integration.harness import (
    PRONOTE_DC,
    Datacenter,
    account,
    advance,
    backups,
    client,
    free_pool,
    rpc_error,
    running_datacenter,
    uai,
    wait_for,
)

START = "2026-10-05T09:00"


@pytest.fixture
def dc(tmp_path: Path) -> Iterator[Datacenter]:
    with running_datacenter(
        tmp_path, free_pool(27, "127.87"), clock="simulated", clock_start=START, clock_speed="0"
    ) as center:
        yield center


def school_uais(dc: Datacenter) -> set[str]:
    return {s.uai for s in dc.operator().ListSchools(console_pb2.ListSchoolsRequest()).schools}


def restart(dc: Datacenter, **faults: str) -> None:
    dc.stop(signal.SIGKILL)
    dc.env.pop("PRONOTE_DC_FAULT_POINTS", None)
    dc.env.update({f"PRONOTE_DC_{k.upper()}": v for k, v in faults.items()})
    dc.start()


def killed(dc: Datacenter, call: Any, *args: Any) -> None:
    """The call dies with its controller (a fault point SIGKILLs it)."""
    error = rpc_error(call, *args)
    assert error.code() == grpc.StatusCode.UNAVAILABLE, error
    assert dc.process is not None and dc.process.wait(10) == -signal.SIGKILL


def test_kill_9_while_provisioning_a_demo_school_leaves_nothing_and_add_works_again(
    dc: Datacenter,
) -> None:
    school_dir = dc.state_dir / "schools" / uai("0750701")
    outcome: list[Any] = []
    worker = threading.Thread(target=lambda: outcome.append(rpc_error(dc.provision, "0750701")))
    worker.start()
    wait_for(school_dir.exists, timeout=20, interval=0.005)
    assert dc.process is not None
    dc.process.kill()  # kill -9 as soon as the school's directory appears
    worker.join(30)
    assert outcome and outcome[0].code() == grpc.StatusCode.UNAVAILABLE  # the caller saw it fail
    restart(dc)
    assert uai("0750701") not in school_uais(dc)
    assert not school_dir.exists()
    school = dc.provision("0750701").school  # not ALREADY_EXISTS: it never half-existed
    assert school.state == "running" and len(school.sample_accounts) >= 6


def test_an_interrupted_order_activation_is_undone_and_can_be_activated_again(
    dc: Datacenter,
) -> None:
    order_uai = uai("0750702")
    dc.stop(signal.SIGKILL)
    dc.env["PRONOTE_DC_FAULT_POINTS"] = "activate.order_written"
    dc.start()
    console = dc.operator()
    placed = console.PlaceOrder(
        console_pb2.PlaceOrderRequest(
            client_number="123456",
            uai=order_uai,
            name="Lycée Crash",
            formula=console_pb2.FORMULA_80,
            responsable=console_pb2.Responsable(
                name="M", mobile="0612345678", email="m@example.org"
            ),
            contract_accepted=True,
        )
    )
    ref = console_pb2.OrderRef(id=placed.order.id)
    console.AcceptProforma(ref)
    killed(dc, console.ActivateOrder, ref)
    restart(dc)
    console = dc.operator()
    assert console.GetOrder(ref).order.state == "proforma_returned"
    assert order_uai not in school_uais(dc)
    activated = console.ActivateOrder(ref)  # not stuck: activate works
    assert activated.order.order.state == "activated"
    sms = [m for m in console.ListOutbox(console_pb2.OutboxRequest(uai=order_uai)).messages]
    assert any(m.channel == "sms" for m in sms)


def test_backups_of_an_advance_the_controller_died_in_are_made_after_restart(
    dc: Datacenter,
) -> None:
    school = dc.provision("0750703").school
    restart(dc, fault_points="scheduler.backups_made")
    killed(dc, advance, dc, "2026-10-08T09:00")  # three days: 36 sauvegardes, 3 archives
    restart(dc)
    advance(dc, "2026-10-08T09:01")
    archives = {b.made_at_seconds for b in backups(dc, school.uai) if b.kind == "archive"}
    due = backup_plan.due_between(at(START), at("2026-10-08T09:01"))
    assert {d.at_seconds for d in due if d.kind is backup_plan.Kind.ARCHIVE} <= archives
    slots = {b.made_at_seconds for b in backups(dc, school.uai) if b.kind == "sauvegarde"}
    assert at("2026-10-08T08:00") in slots


def test_a_school_restarted_on_a_simulated_clock_keeps_its_suspensions(dc: Datacenter) -> None:
    school = dc.provision("0750704").school
    admin, attacker = account(school, "administratif"), "127.63.0.20"
    with client(school.address, source_ip=attacker) as bad:
        for _ in range(5):
            rpc_error(bad.connect, admin.login, "wrong")
    pid = dc.school_pid(school.uai)
    done = threading.Event()

    def scrape() -> None:  # as Prometheus would, also in the moment the school comes back
        while not done.is_set():
            try:
                urllib.request.urlopen(f"http://{school.address}:49380/metrics", timeout=2).read()
            except OSError:
                time.sleep(0.001)

    scrapers = [threading.Thread(target=scrape) for _ in range(3)]
    for scraper in scrapers:
        scraper.start()
    os.kill(pid, signal.SIGKILL)  # the simulated clock is weeks behind the real one
    wait_for(lambda: dc.school_pid(school.uai) not in (0, pid), timeout=30)
    time.sleep(0.5)
    done.set()
    for scraper in scrapers:
        scraper.join()
    for _ in range(3):  # reads on the restarted school: a scrape, the console's list
        urllib.request.urlopen(f"http://{school.address}:49380/metrics", timeout=10).read()
        listed = dc.operator().ListSuspendedIps(console_pb2.SchoolRef(uai=school.uai))
        assert [s.ip for s in listed.suspended_ips] == [attacker]
    with client(school.address, source_ip=attacker) as bad:
        refused = rpc_error(bad.connect, admin.login, admin.password)
    assert refused.code() == grpc.StatusCode.PERMISSION_DENIED


def not_private(root: Path) -> list[str]:
    wrong = []
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if path.is_symlink():
            continue
        if mode & 0o077 or (path.is_dir() and mode != 0o700):
            wrong.append(f"{path.relative_to(root)} {mode:o}")
    return wrong


def test_the_state_dir_is_private_after_up_provisioning_and_backups(dc: Datacenter) -> None:
    assert not_private(dc.state_dir) == []
    registry = dc.state_dir / "registry.sqlite3"
    assert {p.name for p in dc.state_dir.glob("registry.sqlite3*")} >= {
        "registry.sqlite3",
        "registry.sqlite3-wal",
        "registry.sqlite3-shm",
    }
    school = dc.provision("0750705").school
    assert not_private(dc.state_dir) == []
    advance(dc, "2026-10-06T09:00")
    assert backups(dc, school.uai)
    assert not_private(dc.state_dir) == [], "after backups"
    assert stat.S_IMODE(registry.stat().st_mode) == 0o600


def test_an_old_state_dir_is_made_private_at_start(dc: Datacenter) -> None:
    dc.provision("0750706")
    for path in [dc.state_dir, *dc.state_dir.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)  # as pronote-dc left it before
    restart(dc)
    assert not_private(dc.state_dir / "registry.sqlite3") == []
    assert not_private(dc.state_dir / "schools") == []


def test_temp_files_of_killed_writes_are_removed_at_start(dc: Datacenter) -> None:
    school = dc.provision("0750707").school
    school_dir = dc.state_dir / "schools" / school.uai
    leftovers = [
        school_dir / ".agent.json.k2j4x9ab",
        dc.state_dir / ".clock.json.ab12cd34.tmp",
        school_dir / "data" / ".state.json.zz9y8x7w.tmp",
        dc.state_dir / "backups" / school.uai / ".Base année 2026-202701.sauvs.q1w2e3r4.tmp",
    ]
    for path in leftovers:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half written")
    restart(dc)  # the controller removes its own
    assert not leftovers[0].exists() and not leftovers[1].exists()
    pid = dc.school_pid(school.uai)
    os.kill(pid, signal.SIGKILL)  # the school removes those of its data and backups
    wait_for(lambda: dc.school_pid(school.uai) not in (0, pid), timeout=30)
    assert not leftovers[2].exists() and not leftovers[3].exists()


# -- hostile input through the real edges -----------------------------------------------------


def espace_session(address: str, query: str) -> str:
    page = urllib.request.urlopen(f"http://{address}:8080/pronote/eleve.html?{query}", timeout=10)
    found = re.search(r"h:'(\d+)'", page.read().decode())
    assert found, "no session number in the espace page"
    return found.group(1)


def post_call(address: str, session: str, body: bytes) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"http://{address}:8080/pronote/appelfonction/3/{session}/x",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def peak_rss_kib(pid: int) -> int:
    """The process's peak resident memory (VmHWM): freed memory does not hide a spike."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+)", status).group(1))  # type: ignore[union-attr]


def test_a_pre_login_deflate_bomb_is_refused_and_costs_the_school_no_memory(
    dc: Datacenter,
) -> None:
    school = dc.provision("0750708").school
    session = espace_session(school.address, "CrA=0")
    pid = dc.school_pid(school.uai)
    before = peak_rss_kib(pid)
    cipher = Cipherer(encrypt=False, compress=True)
    bomb = deflate_raw(b"0" * (256 * 1024 * 1024)).hex().upper()  # ~0.5 MB on the wire
    body = json.dumps({"session": int(session), "no": cipher.order(1), "id": "FonctionParametres",
                       "dataSec": bomb}).encode()  # fmt: skip
    status, reply = post_call(school.address, session, body)
    assert status < 500
    assert "Erreur" in json.dumps(reply) or status >= 400, reply
    assert peak_rss_kib(pid) - before < 64 * 1024, "the school inflated the bomb"


def test_a_body_of_100000_brackets_is_a_refusal_not_a_500(dc: Datacenter) -> None:
    school = dc.provision("0750709").school
    session = espace_session(school.address, "")
    status, reply = post_call(school.address, session, b"[" * 100_000)
    assert status < 500, reply
    assert dc.school_pid(school.uai) != 0


def test_a_file_the_school_refuses_early_is_its_own_status_not_unknown(
    dc: Datacenter, tmp_path: Path
) -> None:
    school = dc.provision("0750710").school  # its base is in service: it refuses a load
    dc.cli(
        "hnot", "generate", "--uai", school.uai, "--hosting-number", school.hosting_number,
        "--school-year", "2026-2027", "-o", str(tmp_path), "--password", "Rentree2026",
    )  # fmt: skip
    real = (tmp_path / "Base année 2026-2027.HNOT").read_bytes()

    def chunks() -> Iterator[common_pb2.BaseFileChunk]:
        yield common_pb2.BaseFileChunk(
            uai=school.uai, operation="load", file_name="Base.HNOT", data=real
        )
        for _ in range(128):  # 8 MiB more: the school refused it at the first chunk
            yield common_pb2.BaseFileChunk(data=b"\0" * 65_536)

    console = dc.operator()
    error = rpc_error(
        lambda: console.stub.UploadBaseFile(
            chunks(), metadata=(("authorization", f"Bearer {dc.operator_token}"),), timeout=30
        )
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, error
    assert "RPC already finished" not in (error.details() or "")


def test_console_logins_are_throttled_per_source_address(dc: Datacenter) -> None:
    provisioned = dc.provision("0750711", demo=False)
    console = dc.console()
    for _ in range(5):
        wrong = rpc_error(
            console.Login,
            console_pb2.LoginRequest(
                hosting_number=provisioned.school.hosting_number, password="wrong"
            ),
        )
        assert wrong.code() == grpc.StatusCode.UNAUTHENTICATED
    refused = rpc_error(
        console.Login,
        console_pb2.LoginRequest(
            hosting_number=provisioned.school.hosting_number,
            password=provisioned.console_password,
            invoice_number=provisioned.school.invoice_number,
        ),
    )
    assert refused.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "too many failed console logins" in (refused.details() or "")


def test_passwords_reach_the_cli_without_a_command_line(dc: Datacenter) -> None:
    """--password-stdin and PRONOTE_DC_PASSWORD: nothing secret in `ps`."""
    provisioned = dc.provision("0750712", demo=False)
    school = provisioned.school
    login = [*PRONOTE_DC, "console", "login", "--hosting-number", school.hosting_number,
             "--invoice-number", school.invoice_number]  # fmt: skip
    env = {k: v for k, v in dc.env.items() if k != "PRONOTE_DC_PASSWORD"}
    by_stdin = subprocess.run(
        [*login, "--password-stdin"],
        input=provisioned.console_password + "\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert by_stdin.returncode == 0, by_stdin.stderr
    by_env = subprocess.run(
        login,
        env={**env, "PRONOTE_DC_PASSWORD": provisioned.console_password},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert by_env.returncode == 0, by_env.stderr
    missing = subprocess.run(
        login, env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )
    assert missing.returncode != 0 and "--password-stdin" in missing.stderr
