"""Failed logins suspend the source IP (fail2ban semantics); unblocking; restarts keep bans."""

from __future__ import annotations

import os
import signal

import grpc

from protos import console_pb2
from tests.integration.harness import Datacenter, account, client, rpc_error, wait_for

ATTACKER = "127.63.0.10"
BYSTANDER = "127.63.0.11"


def suspended(dc: Datacenter, uai: str) -> list[str]:
    reply = dc.operator().ListSuspendedIps(console_pb2.SchoolRef(uai=uai))
    return [s.ip for s in reply.suspended_ips]


def brute_force(address: str, login: str, attempts: int, source_ip: str) -> list[grpc.StatusCode]:
    with client(address, source_ip=source_ip) as attacker:
        return [rpc_error(attacker.connect, login, "wrong").code() for _ in range(attempts)]


def test_maxretry_failures_suspend_that_ip_only(datacenter: Datacenter) -> None:
    school = datacenter.provision("0750011").school
    admin = account(school, "administratif")

    codes = brute_force(school.address, admin.login, 5, ATTACKER)
    assert codes == [grpc.StatusCode.UNAUTHENTICATED] * 5
    assert suspended(datacenter, school.uai) == [ATTACKER]

    with client(school.address, source_ip=ATTACKER) as attacker:
        refused = rpc_error(attacker.connect, admin.login, admin.password)
        assert refused.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "suspended" in refused.details() and "unblock" in refused.details()
    with client(school.address, source_ip=BYSTANDER) as bystander:
        bystander.connect(admin.login, admin.password)


def test_fewer_failures_than_maxretry_do_not_suspend(datacenter: Datacenter) -> None:
    school = datacenter.provision("0750012").school
    admin = account(school, "administratif")
    brute_force(school.address, admin.login, 4, ATTACKER)
    assert suspended(datacenter, school.uai) == []
    with client(school.address, source_ip=ATTACKER) as c:
        c.connect(admin.login, admin.password)


def test_unblock_one_ip_then_all_and_failures_are_forgotten(datacenter: Datacenter) -> None:
    school = datacenter.provision("0750013").school
    admin = account(school, "administratif")
    others = ["127.63.0.20", "127.63.0.21"]
    for ip in [ATTACKER, *others]:
        brute_force(school.address, admin.login, 5, ip)
    assert sorted(suspended(datacenter, school.uai)) == sorted([ATTACKER, *others])

    operator = datacenter.operator()
    reply = operator.UnblockIps(console_pb2.UnblockIpsRequest(uai=school.uai, ip=ATTACKER))
    assert reply.unblocked == 1
    assert sorted(suspended(datacenter, school.uai)) == sorted(others)
    # The failure count was cleared too: 4 new failures do not suspend again.
    brute_force(school.address, admin.login, 4, ATTACKER)
    assert ATTACKER not in suspended(datacenter, school.uai)

    reply = operator.UnblockIps(console_pb2.UnblockIpsRequest(uai=school.uai, all=True))
    assert reply.unblocked == 2
    assert suspended(datacenter, school.uai) == []
    with client(school.address, source_ip=others[0]) as c:
        c.connect(admin.login, admin.password)


def test_suspensions_survive_a_school_server_restart(datacenter: Datacenter) -> None:
    school = datacenter.provision("0750014").school
    admin = account(school, "administratif")
    brute_force(school.address, admin.login, 5, ATTACKER)
    old_pid = datacenter.school_pid(school.uai)

    os.kill(old_pid, signal.SIGKILL)
    # Not 0: that is the restart in progress, when the console answers UNAVAILABLE.
    wait_for(lambda: (pid := datacenter.school_pid(school.uai)) != old_pid and pid)
    wait_for(lambda: suspended(datacenter, school.uai) == [ATTACKER])
    with client(school.address, source_ip=ATTACKER) as attacker:
        assert rpc_error(attacker.connect, admin.login, admin.password).code() == (
            grpc.StatusCode.PERMISSION_DENIED
        )
