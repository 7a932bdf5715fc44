"""Ordering hosting end to end (seed 000): the real CLI against a real `pronote-dc up`, from the
order to the console login with the credentials found in the outbox."""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from protos import console_pb2
from tests.integration.harness import Datacenter, client, free_pool, rpc_error, uai

UAI = uai("0750655")
PLACE = [
    "order", "place", UAI, "--client-number", "123456", "--name", "Lycée Test",
    "--responsable", "Mme Martin", "--mobile", "06 12 34 56 78", "--email", "martin@example.org",
    "--formula", "80", "--accept-contract",
]  # fmt: skip


@pytest.fixture
def dc(tmp_path: Path) -> Iterator[Datacenter]:
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    dc = Datacenter(state_dir, free_pool(first_octets="127.110"))
    dc.start()
    try:
        yield dc
    finally:
        dc.down()


def cli_json(dc: Datacenter, *args: str) -> Any:
    return json.loads(dc.cli(*args, "--json").stdout)


def refused(dc: Datacenter, *args: str) -> str:
    result = dc.cli(*args, check=False)
    assert result.returncode != 0, result.stdout
    return " ".join(result.stderr.split())


def said(dc: Datacenter, *args: str) -> str:
    return " ".join(dc.cli(*args).stdout.split())  # unwrapped from the terminal's width


def outbox(dc: Datacenter) -> list[dict[str, Any]]:
    return cli_json(dc, "order", "outbox")  # type: ignore[no-any-return]


def credentials(dc: Datacenter) -> tuple[str, str, str]:
    """Hosting number and invoice number from the last credentials e-mail, password from the
    last SMS."""
    messages = outbox(dc)
    mail = [m for m in messages if m["subject"] == "Vos identifiants d'hébergement PRONOTE"][-1]
    sms = [m for m in messages if m["channel"] == "sms"][-1]
    hosting = re.search(r"Numéro d'hébergement : (\d{12})", mail["body"])
    invoice = re.search(r"Numéro de facture : (\w+)", mail["body"])
    assert hosting and invoice, mail["body"]
    return hosting.group(1), invoice.group(1), sms["body"].split()[-1]


def login(dc: Datacenter, hosting: str, password: str, invoice: str = "") -> Any:
    return dc.console().Login(
        console_pb2.LoginRequest(hosting_number=hosting, password=password, invoice_number=invoice)
    )


def state_of(dc: Datacenter) -> tuple[Any, Any, Any]:
    return (
        cli_json(dc, "order", "list"),
        outbox(dc),
        cli_json(dc, "school", "list"),
    )


def test_order_to_console_login(dc: Datacenter) -> None:
    placed = cli_json(dc, *PLACE)
    order_id = str(placed["order"]["id"])
    assert placed["order"]["state"] == "proforma_sent"
    assert placed["order"]["responsable"]["mobile"] == "612345678"  # without the leading 0

    proforma = cli_json(dc, "order", "proforma", order_id)
    today = datetime.datetime.now(tz=datetime.UTC).date()
    assert (proforma["amount_ht"], proforma["state"]) == ("650.00", "pending")
    assert proforma["vat_rate"] == "20"  # the rate in force since 2014
    assert (proforma["vat"], proforma["amount_ttc"]) == ("130.00", "780.00")
    assert proforma["valid_until"] == (today + datetime.timedelta(days=30)).isoformat()
    assert "Total TTC € │ │ │ 780,00" in said(dc, "order", "proforma", order_id)
    [mail] = outbox(dc)
    assert mail["recipient"] == "martin@example.org" and "780,00" in mail["body"]

    before = state_of(dc)
    assert "has not been returned yet" in refused(dc, "order", "activate", order_id)
    assert state_of(dc) == before

    assert cli_json(dc, "order", "accept", order_id)["order"]["state"] == "proforma_returned"
    activated = cli_json(dc, "order", "activate", order_id)
    school = activated["school"]
    assert activated["order"]["order"]["state"] == "activated"
    expires = activated["order"]["order"]["licence_expires_on"]
    assert expires == today.replace(year=today.year + 1).isoformat()
    assert school["address"].startswith(dc.pool.rsplit(".", 1)[0])
    with client(school["address"]) as pronote:  # the school runs on its own address
        assert pronote.info().uai == UAI

    messages = outbox(dc)
    sms = [m for m in messages if m["channel"] == "sms"]
    assert len(sms) == 1 and sms[0]["recipient"] == "+33612345678"
    hosting, invoice, password = credentials(dc)
    assert (hosting, invoice) == (school["hosting_number"], school["invoice_number"])

    error = rpc_error(login, dc, hosting, password)  # the first login needs the invoice number
    assert error.code() is grpc.StatusCode.UNAUTHENTICATED
    assert "invoice number" in (error.details() or "")
    session = login(dc, hosting, password, invoice)
    assert session.uai == UAI
    account = dc.console(session.token).GetAccount(console_pb2.SchoolRef())
    assert (account.hosting_number, account.client_number) == (hosting, "123456")
    assert (account.licence_expires_on, account.formula) == (expires, console_pb2.FORMULA_80)
    assert account.administratif_licences == 4

    # "Mon compte" through the CLI, logged in as the school.
    dc.cli("console", "login", "--hosting-number", hosting, "--password", password)
    shown = said(dc, "console", "account")
    assert hosting in shown and expires[8:10] + "/" + expires[5:7] + "/" + expires[:4] in shown

    # Resend from the school's own session: a new password; the old one stops working.
    assert "new console password" in said(dc, "order", "resend-credentials")
    new_hosting, new_invoice, new_password = credentials(dc)
    assert (new_hosting, new_invoice) == (hosting, invoice) and new_password != password
    assert rpc_error(login, dc, hosting, password).code() is grpc.StatusCode.UNAUTHENTICATED
    error = rpc_error(dc.console(session.token).GetAccount, console_pb2.SchoolRef())
    assert error.code() is grpc.StatusCode.UNAUTHENTICATED  # open sessions end too
    assert login(dc, hosting, new_password).uai == UAI
    dc.cli("console", "logout")

    # Renewal: a new proforma; once returned, the licence runs one more year.
    renewal = cli_json(dc, "order", "renew", UAI)
    assert renewal["proforma"]["kind"] == "renewal"
    assert renewal["proforma"]["amount_ttc"] == "780.00"
    assert renewal["proforma"]["number"] != proforma["number"]
    renewed = cli_json(dc, "order", "accept", order_id)["order"]
    assert renewed["licence_expires_on"] == today.replace(year=today.year + 2).isoformat()


def test_bad_input_is_refused_with_nothing_changed(dc: Datacenter) -> None:
    empty = state_of(dc)
    without_contract = [a for a in PLACE if a != "--accept-contract"]
    assert "contract must be accepted" in refused(dc, *without_contract)
    bad_letter = [("0750655A" if a == UAI else a) for a in PLACE]
    assert "wrong check letter" in refused(dc, *bad_letter)
    bad_mobile = [("0112345678" if a == "06 12 34 56 78" else a) for a in PLACE]
    assert "not a French mobile number" in refused(dc, *bad_mobile)
    bad_formula = [("40" if a == "80" else a) for a in PLACE]
    assert "choose 30, 50, 80 or unlimited" in refused(dc, *bad_formula)
    assert "no order 42" in refused(dc, "order", "accept", "42")
    assert "no order 42" in refused(dc, "order", "activate", "42")
    assert "[NOT_FOUND]" in refused(dc, "order", "renew", UAI)
    assert state_of(dc) == empty

    order_id = str(cli_json(dc, *PLACE)["order"]["id"])
    placed = state_of(dc)
    assert "already in progress" in refused(dc, *PLACE)
    assert state_of(dc) == placed

    # A school session may read its own account but not act as the operator.
    dc.provision("0310001", demo=False)
    other = cli_json(dc, "school", "show", uai("0310001"))
    hosting = other["hosting_number"]
    assert "no hosting licence" in said(dc, "console", "account", "--uai", uai("0310001"))
    assert "without an order" in refused(dc, "order", "renew", uai("0310001"))
    dc.cli("order", "resend-credentials", uai("0310001"))  # its password was shown once
    token = login(dc, hosting, credentials(dc)[2], other["invoice_number"]).token
    school = dc.console(token)
    for call, request in [
        (school.PlaceOrder, console_pb2.PlaceOrderRequest(uai=UAI)),
        (school.ListOutbox, console_pb2.OutboxRequest()),
        (school.AcceptProforma, console_pb2.OrderRef(id=int(order_id))),
        (school.ActivateOrder, console_pb2.OrderRef(id=int(order_id))),
        (school.GetAccount, console_pb2.SchoolRef(uai=UAI)),
    ]:
        assert rpc_error(call, request).code() is grpc.StatusCode.PERMISSION_DENIED
    # The public "Recevoir mes identifiants" form needs the right client number.
    anonymous = dc.console()
    error = rpc_error(
        anonymous.ResendCredentials,
        console_pb2.ResendCredentialsRequest(uai=uai("0310001"), client_number="1"),
    )
    assert error.code() is grpc.StatusCode.NOT_FOUND
    error = rpc_error(anonymous.ResendCredentials, console_pb2.ResendCredentialsRequest(uai=UAI))
    assert error.code() is grpc.StatusCode.UNAUTHENTICATED
    assert cli_json(dc, "order", "show", order_id)["order"]["state"] == "proforma_sent"


def test_a_failed_activation_leaves_the_order_unactivated_and_no_school(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    network = free_pool(first_octets="127.110").split("/")[0]
    prefix, last = network.rsplit(".", 1)
    dc = Datacenter(state_dir, f"{prefix}.{int(last) + 1}/32")  # room for one school only
    dc.start()
    try:
        dc.provision("0310001", demo=False)  # takes the only address
        order_id = str(cli_json(dc, *PLACE)["order"]["id"])
        dc.cli("order", "accept", order_id)
        before = state_of(dc)
        assert "is full" in refused(dc, "order", "activate", order_id)
        assert state_of(dc) == before
        assert cli_json(dc, "order", "show", order_id)["order"]["state"] == "proforma_returned"
        dc.operator().DeprovisionSchool(console_pb2.SchoolRef(uai=uai("0310001")))
        activated = cli_json(dc, "order", "activate", order_id)  # room again: it works
        assert activated["school"]["uai"] == UAI
    finally:
        dc.down()
