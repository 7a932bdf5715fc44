"""Every refusal is a clear gRPC status, and leaves no school, lease, file or process behind."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from protos import console_pb2
from tests.integration.harness import Datacenter, free_pool, rpc_error, running_datacenter, uai


@pytest.fixture
def tiny_datacenter(tmp_path: Path) -> Iterator[Datacenter]:
    """A data-center whose pool holds two addresses."""
    with running_datacenter(tmp_path, free_pool(prefix_length=30)) as dc:
        yield dc


def schools(dc: Datacenter) -> list[str]:
    return [s.uai for s in dc.operator().ListSchools(console_pb2.ListSchoolsRequest()).schools]


def school_dirs(dc: Datacenter) -> list[str]:
    directory = dc.state_dir / "schools"
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def provision_refused(dc: Datacenter, **fields: object) -> grpc.RpcError:
    request = console_pb2.ProvisionSchoolRequest(
        uai=str(fields.pop("uai")),
        name=str(fields.pop("name", "Collège Test")),
        formula=fields.pop("formula", console_pb2.FORMULA_50),  # type: ignore[arg-type]
        responsable=console_pb2.Responsable(
            mobile=str(fields.pop("mobile", "0612345678")),
            email=str(fields.pop("email", "ce@example.org")),
        ),
    )
    return rpc_error(dc.operator().ProvisionSchool, request)


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"uai": "0750655F"}, "check letter: for 0750655 it is E"),
        ({"uai": "75A"}, "7 digits then the check letter"),
        ({"uai": uai("0750061"), "formula": console_pb2.FORMULA_UNSPECIFIED}, "formula"),
        ({"uai": uai("0750061"), "mobile": "0123456789"}, "mobile"),
        ({"uai": uai("0750061"), "email": "nobody"}, "e-mail"),
        ({"uai": uai("0750061"), "name": " "}, "name"),
    ],
)
def test_invalid_orders_are_refused_with_a_reason(
    datacenter: Datacenter, fields: dict[str, object], says: str
) -> None:
    refused = provision_refused(datacenter, **fields)
    assert refused.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert says in refused.details()
    assert schools(datacenter) == [] and school_dirs(datacenter) == []


def test_a_duplicate_uai_is_refused_and_the_school_untouched(datacenter: Datacenter) -> None:
    school = datacenter.provision("0750062").school
    pid = datacenter.school_pid(school.uai)
    refused = rpc_error(datacenter.provision, "0750062")
    assert refused.code() == grpc.StatusCode.ALREADY_EXISTS
    assert schools(datacenter) == [school.uai]
    assert datacenter.school_pid(school.uai) == pid
    again = datacenter.operator().GetSchool(console_pb2.SchoolRef(uai=school.uai))
    assert again.hosting_number == school.hosting_number


def test_an_unknown_school_is_not_found(datacenter: Datacenter) -> None:
    operator = datacenter.operator()
    for call in (operator.GetSchool, operator.ListBases, operator.DeprovisionSchool):
        refused = rpc_error(call, console_pb2.SchoolRef(uai=uai("0750063")))
        assert refused.code() == grpc.StatusCode.NOT_FOUND
        assert "school list" in refused.details()


def test_an_exhausted_pool_is_refused_and_leaves_nothing(tiny_datacenter: Datacenter) -> None:
    first = tiny_datacenter.provision("0750071", demo=False).school
    second = tiny_datacenter.provision("0750072", demo=False).school
    refused = rpc_error(tiny_datacenter.provision, "0750073")
    assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "pool" in refused.details() and "PRONOTE_DC_ADDRESS_POOL" in refused.details()
    assert schools(tiny_datacenter) == sorted([first.uai, second.uai])
    assert school_dirs(tiny_datacenter) == sorted([first.uai, second.uai])
    # Deprovisioning releases the address for the next school.
    tiny_datacenter.operator().DeprovisionSchool(console_pb2.SchoolRef(uai=first.uai))
    third = tiny_datacenter.provision("0750073", demo=False).school
    assert third.address == first.address


def test_a_taken_port_is_refused_and_the_lease_released(tiny_datacenter: Datacenter) -> None:
    first_host = tiny_datacenter.pool.split("/")[0].rsplit(".", 1)
    squatted = f"{first_host[0]}.{int(first_host[1]) + 1}"
    with socket.socket() as squatter:
        squatter.bind((squatted, 49300))
        squatter.listen()
        refused = rpc_error(tiny_datacenter.provision, "0750081")
        assert refused.code() == grpc.StatusCode.UNAVAILABLE
        assert f"cannot listen on {squatted}:49300" in refused.details()
        assert schools(tiny_datacenter) == [] and school_dirs(tiny_datacenter) == []
    school = tiny_datacenter.provision("0750081").school
    assert school.address == squatted  # the lease was released, not leaked


def test_the_cli_says_what_went_wrong(datacenter: Datacenter) -> None:
    bad = datacenter.cli(
        "school", "add", "0750655F", "--name", "X", "--mobile", "0612345678",
        "--email", "a@b.fr", check=False,
    )  # fmt: skip
    assert bad.returncode == 1
    assert "wrong check letter" in bad.stderr and "0750655E" in bad.stderr
    unknown = datacenter.cli("school", "show", uai("0750091"), check=False)
    assert unknown.returncode == 1 and "no school" in unknown.stderr
    # An unknown UAI is refused before any confirmation is asked (stdin is empty here).
    gone = datacenter.cli("school", "remove", uai("0750091"), check=False)
    assert gone.returncode == 1 and "no school" in gone.stderr
    assert "remove school" not in gone.stdout


def test_the_cli_without_a_controller_says_how_to_start_one(tmp_path: Path) -> None:
    dc = Datacenter(tmp_path, free_pool())
    result = dc.cli("school", "list", check=False)
    assert result.returncode == 1
    assert "no controller is running" in result.stderr and "pronote-dc up" in result.stderr


def test_the_cli_refuses_an_unknown_formula_before_calling_anyone(tmp_path: Path) -> None:
    dc = Datacenter(tmp_path, free_pool())
    for command in (
        ["school", "add", "0750655E", "--name", "X"],
        ["order", "place", "0750655E", "--client-number", "50623", "--name", "X",
         "--responsable", "Mme Martin",
         "--accept-contract"],
    ):  # fmt: skip
        result = dc.cli(
            *command, "--formula", "40", "--mobile", "0612345678", "--email", "a@b.fr",
            check=False,
        )  # fmt: skip
        assert result.returncode == 1, result.stderr
        assert "formula '40' does not exist: choose 30, 50, 80 or unlimited" in result.stderr


def test_the_cli_refuses_what_it_cannot_send_with_a_reason(
    datacenter: Datacenter, tmp_path: Path
) -> None:
    """Found by a fresh user: a directory as an upload ended in UNKNOWN, a licence count past
    int32 in a traceback, an unblock of something that is no IP in '0 IP(s) unblocked'."""
    school = datacenter.provision("0750801")
    code = school.school.uai
    for args, says in (
        (("console", "serveur", "load-base", str(tmp_path), "--uai", code), "is not a file"),
        (("console", "clients", "reserve-licences", "99999999999", "--uai", code), "2147483647"),
        (("console", "clients", "unblock", "notanip", "--uai", code), "is not an IP address"),
    ):
        run = datacenter.cli(*args, check=False)
        assert run.returncode != 0, args
        assert says in run.stdout + run.stderr, (args, run.stdout, run.stderr)
        assert "Traceback" not in run.stderr and "UNKNOWN" not in run.stderr


def test_more_demo_schools_than_the_pool_holds_are_refused_before_anything_starts(
    tmp_path: Path,
) -> None:
    """Found by a reviewer: `up --demo 99999999999999999999` started the controller, then
    ended in a traceback (and a count past the pool was refused school by school)."""
    dc = Datacenter(tmp_path, free_pool(prefix_length=29))
    for count in ("99999999999999999999", "7"):  # a /29 holds 6 schools
        result = dc.cli("up", "--demo", count, check=False)
        assert result.returncode == 1, result.stderr
        assert f"--demo {count} is more schools than the address pool" in result.stderr
        assert "holds (6): ask for at most 6" in result.stderr
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "controller.json").exists()  # nothing started


def test_an_http_address_in_use_is_refused_cleanly(tmp_path: Path) -> None:
    """Found by a reviewer: the refusal came, then grpc's `Server.__del__` printed 'Event loop
    is closed' (the console server, already started, was left to the garbage collector)."""
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        address = f"127.0.0.1:{squatter.getsockname()[1]}"
        dc = Datacenter(tmp_path, free_pool(), http_address=address)
        result = dc.cli("up", "--console-address", "127.0.0.1:0", check=False)
    assert result.returncode == 1, result.stderr
    assert f"cannot listen on {address} (HTTP" in result.stderr
    assert "PRONOTE_DC_HTTP_ADDRESS" in result.stderr
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr
    assert not (tmp_path / "controller.json").exists()
