"""A school that times out while being provisioned on a loaded machine is started again on a
fresh server before its provisioning is rolled back (issue 15). A starved process is made
real: the warm parent that forks the schools is frozen with SIGSTOP, alive but not running."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import grpc

from protos import console_pb2
from tests.integration.harness import (
    Datacenter,
    client,
    free_pool,
    rpc_error,
    running_datacenter,
    uai,
    wait_for,
)
from tests.integration.metrics_helpers import samples, value

START_TIMEOUT = "2"  # seconds a school may take to become ready, here


def _warm_parent(dc: Datacenter) -> int:
    assert dc.process is not None
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == dc.process.pid and b"vm_agent.zygote" in cmdline:
            return int(entry.name)
    raise AssertionError("the controller has no warm parent")


@contextmanager
def frozen(pid: int) -> Iterator[None]:
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def _retries(dc: Datacenter) -> float:
    page = samples(f"http://{dc.http_address}/metrics")
    return value(page, "pronote_fleet_provision_retries_total")


def _servers_of(school_uai: str) -> int:
    """School server processes running for this UAI (named pdc-<UAI>)."""
    count = 0
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().strip() == f"pdc-{school_uai}":
                count += 1
        except OSError:
            continue
    return count


def test_a_school_that_timed_out_is_started_again_then_rolled_back_if_it_times_out_again(
    tmp_path: Path,
) -> None:
    pool = free_pool(first_octets="127.122")
    with running_datacenter(tmp_path, pool, start_timeout_seconds=START_TIMEOUT) as dc:
        warm_parent = _warm_parent(dc)
        # The first attempt finds the machine too loaded; the second does not.
        with ThreadPoolExecutor(1) as background:
            with frozen(warm_parent):
                provisioning = background.submit(dc.provision, "0751001")
                wait_for(lambda: _retries(dc) == 1, timeout=20)
                assert not provisioning.done()
            school = provisioning.result(timeout=60).school
        assert school.state == "running"
        assert {a.role for a in school.sample_accounts} >= {"spr", "enseignant", "eleve"}
        assert "school 0751001" in dc.log() and "timed out while being provisioned" in dc.log()
        wait_for(lambda: _servers_of(school.uai) == 1)  # the first attempt left no process
        with client(school.address) as first_school:
            assert first_school.info()
        # Timed out twice: rolled back, with a refusal that says what to do.
        with frozen(warm_parent):
            error = rpc_error(dc.provision, "0751002")
        assert error.code() == grpc.StatusCode.UNAVAILABLE
        assert "timed out 2 times" in str(error.details())
        assert "PRONOTE_DC_PROVISION_PARALLELISM" in str(error.details())
        assert _retries(dc) == 2
        second = uai("0751002")
        listed = dc.operator().ListSchools(console_pb2.ListSchoolsRequest()).schools
        assert second not in {s.uai for s in listed}
        wait_for(lambda: _servers_of(second) == 0)  # the cancelled starts were never served
        assert not (dc.state_dir / "schools" / second).exists()
