"""A school's console login sees and acts on its own school only, on every console RPC."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import symbol_database

from protos import console_pb2
from tests.integration.harness import Datacenter, rpc_error

CONSOLE = console_pb2.DESCRIPTOR.services_by_name["Console"]
# Not about one school: logging in, and reading the data-center's clock (any login may).
UNSCOPED = {"Login", "GetClock", "ListEnts"}  # ListEnts: the ENT catalogue
SCOPED_METHODS = [m for m in CONSOLE.methods if m.name not in UNSCOPED]


def request_for(method_name: str, uai: str) -> object:
    message_class = symbol_database.Default().GetSymbol(
        CONSOLE.methods_by_name[method_name].input_type.full_name
    )
    request = message_class()
    if "uai" in message_class.DESCRIPTOR.fields_by_name:
        setattr(request, "uai", uai)  # noqa: B010 (a message class found by name)
    if CONSOLE.methods_by_name[method_name].client_streaming:  # a file sent in chunks
        return iter([request])
    return request


@pytest.fixture
def two_schools(datacenter: Datacenter) -> tuple[object, object, str]:
    first = datacenter.provision("0750051")
    second = datacenter.provision("0750052")
    login = datacenter.console().Login(
        console_pb2.LoginRequest(
            hosting_number=first.school.hosting_number,
            password=first.console_password,
            invoice_number=first.school.invoice_number,
        )
    )
    assert login.uai == first.school.uai
    return first.school, second.school, login.token


@pytest.mark.parametrize("method", [m.name for m in SCOPED_METHODS])
def test_a_school_login_cannot_touch_another_school(
    datacenter: Datacenter, two_schools: tuple[object, object, str], method: str
) -> None:
    _, other, token = two_schools
    console = datacenter.console(token)
    refused = rpc_error(getattr(console, method), request_for(method, other.uai))  # type: ignore[attr-defined]
    assert refused.code() == grpc.StatusCode.PERMISSION_DENIED, refused.details()


def test_a_school_login_reads_and_acts_on_its_own_school(
    datacenter: Datacenter, two_schools: tuple[object, object, str]
) -> None:
    own, other, token = two_schools
    console = datacenter.console(token)
    assert console.GetSchool(console_pb2.SchoolRef()).uai == own.uai  # type: ignore[attr-defined]
    assert console.GetClock(console_pb2.ClockRequest()).now_seconds > 0
    usage = console.SetReservedLicences(console_pb2.SetReservedLicencesRequest(count=1))
    assert usage.reserved_for_administration == 1
    assert console.ListBases(console_pb2.SchoolRef(uai=own.uai)).bases  # type: ignore[attr-defined]
    # The other school was not touched.
    other_usage = datacenter.operator().GetLicences(console_pb2.SchoolRef(uai=other.uai))  # type: ignore[attr-defined]
    assert other_usage.reserved_for_administration == 0


def test_console_calls_without_a_valid_token_are_refused(datacenter: Datacenter) -> None:
    school = datacenter.provision("0750053").school
    for token in ("", "not-a-token"):
        refused = rpc_error(
            datacenter.console(token).ListBases, console_pb2.SchoolRef(uai=school.uai)
        )
        assert refused.code() == grpc.StatusCode.UNAUTHENTICATED


def test_first_login_needs_the_invoice_number_and_later_ones_do_not(
    datacenter: Datacenter,
) -> None:
    provisioned = datacenter.provision("0750054")
    school, password = provisioned.school, provisioned.console_password
    console = datacenter.console()
    without = rpc_error(
        console.Login,
        console_pb2.LoginRequest(hosting_number=school.hosting_number, password=password),
    )
    assert without.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "invoice number" in without.details()
    wrong = rpc_error(
        console.Login,
        console_pb2.LoginRequest(hosting_number=school.hosting_number, password="nope"),
    )
    assert wrong.code() == grpc.StatusCode.UNAUTHENTICATED
    console.Login(
        console_pb2.LoginRequest(
            hosting_number=school.hosting_number,
            password=password,
            invoice_number=school.invoice_number,
        )
    )
    later = console.Login(
        console_pb2.LoginRequest(hosting_number=school.hosting_number, password=password)
    )
    assert later.uai == school.uai
