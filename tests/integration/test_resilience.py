"""The controller restarts dead school servers and adopts running ones after its own restart."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import psutil

from protos import common_pb2, console_pb2
from tests.integration.harness import (
    Datacenter,
    account,
    client,
    free_pool,
    running_datacenter,
    wait_for,
)


def listening_pids(address: str) -> set[int]:
    pids = set()
    for connection in psutil.net_connections(kind="tcp"):
        if (
            connection.status == psutil.CONN_LISTEN
            and connection.laddr.ip.removeprefix("::ffff:") == address
            and connection.laddr.port == 49300
        ):
            pids.add(connection.pid)
    return pids


def test_a_killed_school_server_is_restarted_with_its_state(datacenter: Datacenter) -> None:
    school = datacenter.provision("0750021").school
    operator = datacenter.operator()
    operator.SetReservedLicences(console_pb2.SetReservedLicencesRequest(uai=school.uai, count=2))
    bases_before = operator.ListBases(console_pb2.SchoolRef(uai=school.uai))
    old_pid = datacenter.school_pid(school.uai)

    os.kill(old_pid, signal.SIGKILL)
    new_pid = wait_for(lambda: (pid := datacenter.school_pid(school.uai)) != old_pid and pid)
    assert listening_pids(school.address) == {new_pid}

    bases_after = operator.ListBases(console_pb2.SchoolRef(uai=school.uai))
    assert bases_after == bases_before
    assert bases_after.server_state == common_pb2.SERVER_STATE_SERVING
    usage = operator.GetLicences(console_pb2.SchoolRef(uai=school.uai))
    assert usage.reserved_for_administration == 2
    admin = account(school, "administratif")
    with client(school.address) as c:
        c.connect(admin.login, admin.password)


def test_controller_restart_keeps_schools_and_adopts_their_processes(
    datacenter: Datacenter,
) -> None:
    schools = [datacenter.provision(f"07500{n}").school for n in (31, 32, 33)]
    pids = {s.uai: datacenter.school_pid(s.uai) for s in schools}
    admin = account(schools[0], "administratif")
    with client(schools[0].address) as c:
        session = c.connect(admin.login, admin.password)

        datacenter.stop(signal.SIGKILL)  # a crash, not a clean stop
        datacenter.start()

        listed = datacenter.operator().ListSchools(console_pb2.ListSchoolsRequest()).schools
        assert {s.uai: s.pid for s in listed} == pids
        assert {s.state for s in listed} == {"running"}
        for school in schools:
            assert listening_pids(school.address) == {pids[school.uai]}
        # The adopted server kept its live sessions: nothing was restarted.
        c.heartbeat(session.session_id)


def test_schools_started_by_a_previous_controller_are_restarted_if_dead(
    datacenter: Datacenter,
) -> None:
    school = datacenter.provision("0750041").school
    datacenter.stop()
    old_pid = datacenter.school_pid(school.uai)
    os.kill(old_pid, signal.SIGKILL)
    datacenter.start()
    new_pid = wait_for(lambda: (pid := datacenter.school_pid(school.uai)) != old_pid and pid)
    assert listening_pids(school.address) == {new_pid}
    listed = datacenter.operator().GetSchool(console_pb2.SchoolRef(uai=school.uai))
    assert listed.state == "running"


def test_a_killed_school_is_restarted_on_its_exit_event_with_no_pass_to_wait_for(
    tmp_path: Path,
) -> None:
    """DESIGN decision 31: the passes are an hour apart here, so only the pidfd's event can
    restart the school; after a controller restart too (the pidfds are opened at adoption)."""
    hour = "3600"
    with running_datacenter(
        tmp_path,
        free_pool(),
        reconcile_interval_seconds=hour,
        reconcile_full_interval_seconds=hour,
    ) as dc:
        school = dc.provision("0750051", demo=False).school
        for controller_restarted in (False, True):
            if controller_restarted:
                dc.stop()
                dc.start()  # adopts the school, and watches it again
            old_pid = dc.school_pid(school.uai)
            os.kill(old_pid, signal.SIGKILL)
            new_pid = wait_for(
                lambda old=old_pid: (pid := dc.school_pid(school.uai)) not in (0, old) and pid,
                timeout=10,
            )
            assert listening_pids(school.address) == {new_pid}
            state = dc.operator().GetSchool(console_pb2.SchoolRef(uai=school.uai)).state
            assert state == "running"


def test_down_kills_a_controller_that_does_not_stop_so_it_cannot_restart_the_schools(
    datacenter: Datacenter,
) -> None:
    """Deaths are events (DESIGN decision 31): a controller still alive would restart the
    schools `down` stops. One that does not stop within 10 s (here: frozen) is killed first."""
    school = datacenter.provision("0750041", demo=False).school
    school_pid = datacenter.school_pid(school.uai)
    assert datacenter.process is not None
    controller = datacenter.process
    os.kill(controller.pid, signal.SIGSTOP)
    down = datacenter.cli("down")
    assert f"controller (pid {controller.pid}) did not stop within 10 s: killed" in down.stdout
    assert controller.wait(timeout=10) == -signal.SIGKILL
    assert "1 school servers stopped" in down.stdout
    wait_for(lambda: gone(school_pid), timeout=5)  # at most a zombie until it is reaped
    assert listening_pids(school.address) == set()


def gone(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True
