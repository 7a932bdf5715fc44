"""`pronote-dc order …`: ordering hosting (seed 000), from the order to the school's activation.

place -> proforma (sent by e-mail) -> accept (the signed proforma came back) -> activate (the
school is provisioned; hosting number and invoice number by e-mail, password by SMS, all in
the outbox) -> resend-credentials; renew gives a new proforma for one more year.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any

import typer

from datacenter.cli.options import JsonOption
from datacenter.cli.output import console, emit, emit_object
from datacenter.cli.remote import formula_value, open_console, to_dict
from protos import console_pb2

app = typer.Typer(help="Order hosting: proforma, activation, credentials, renewal (operator).")

OrderId = Annotated[int, typer.Argument(help="The order's number (see `order list`).")]


def _french_date(iso: str) -> str:
    return datetime.date.fromisoformat(iso).strftime("%d/%m/%Y") if iso else ""


def _money(text: str) -> str:
    return text.replace(".", ",")


def _formula(value: Any) -> str:
    return str(value).removeprefix("FORMULA_").lower()


def _row(detail: dict[str, Any]) -> dict[str, object]:
    order, proforma = detail["order"], detail.get("proforma") or {}
    return {
        "order": order["id"],
        "uai": order["uai"],
        "formula": _formula(order["formula"]),
        "state": order["state"],
        "proforma": proforma.get("number", ""),
        "pf_state": proforma.get("state", ""),
        "ttc": _money(proforma.get("amount_ttc", "")),
        "hosting_number": order["hosting_number"],
        "expires": _french_date(order["licence_expires_on"]),
    }


def print_proforma(detail: dict[str, Any]) -> None:
    """The proforma as the seed shows it: one line of hosting, then HT, TVA and TTC."""
    order, p = detail["order"], detail["proforma"]
    console.print(f"[bold]Proforma {p['number']}[/] du {_french_date(p['issued_on'])}")
    console.print("Hébergement dans les locaux d'Index Education")
    console.print(
        f"Cette offre est valable jusqu'au {_french_date(p['valid_until'])} ({p['state']})"
    )
    rows: list[dict[str, Any]] = [
        {
            "Hébergement": "Redevance annuelle d'hébergement des applications PRONOTE Serveur et "
            f"PRONOTE.net ({p['label']})",
            "Qté": 1,
            "Mont.UHT": _money(p["amount_ht"]),
            "Total HT": _money(p["amount_ht"]),
        },
        {"Hébergement": "Total HT", "Total HT": _money(p["amount_ht"])},
        {
            "Hébergement": f"Total TVA ({_money(p['vat_rate'])}%)",
            "Total HT": _money(p["vat"]),
        },
        {"Hébergement": "Total TTC €", "Total HT": _money(p["amount_ttc"])},
    ]
    emit(rows, False, columns=["Hébergement", "Qté", "Mont.UHT", "Total HT"])
    r = order["responsable"]
    console.print(
        f"Responsable de l'hébergement : {r['name']}, portable +33{r['mobile']}, {r['email']}"
    )
    console.print(
        f"Établissement : N° de client {order['client_number']}, N° de RNE {order['uai']}"
    )


@app.command()
def place(
    ctx: typer.Context,
    uai: Annotated[str, typer.Argument(help="RNE/UAI: 7 digits and the check letter.")],
    client_number: Annotated[str, typer.Option(help="Index Education client number.")],
    name: Annotated[str, typer.Option(help="The school's name.")],
    responsable: Annotated[str, typer.Option(help="Responsable hébergement's name.")],
    mobile: Annotated[str, typer.Option(help="Responsable's mobile: the password comes by SMS.")],
    email: Annotated[str, typer.Option(help="Responsable's e-mail: proforma, hosting number.")],
    formula: Annotated[str, typer.Option(help="30, 50, 80 or unlimited (teachers).")] = "50",
    fax: Annotated[str, typer.Option(help="Responsable's fax (optional).")] = "",
    accept_contract: Annotated[
        bool,
        typer.Option(
            "--accept-contract", help="J'ai lu et j'accepte les termes du contrat d'hébergement."
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Order hosting for a school: the recap, and the proforma e-mailed to the responsable."""
    formula_code = formula_value(formula)  # refused before the controller is asked
    reply = open_console(ctx, operator=True).PlaceOrder(
        console_pb2.PlaceOrderRequest(
            client_number=client_number,
            uai=uai,
            name=name,
            formula=formula_code,
            responsable=console_pb2.Responsable(name=responsable, mobile=mobile, email=email),
            contract_accepted=accept_contract,
            fax=fax,
        )
    )
    detail = to_dict(reply)
    if as_json:
        emit_object(detail, as_json=True)
        return
    order, p = detail["order"], detail["proforma"]
    r = order["responsable"]
    emit_object(
        {
            "commande": order["id"],
            "client": order["client_number"],
            "RNE": order["uai"],
            "établissement": order["name"],
            "formule": p["label"],
            "prix": f"{_money(p['amount_ht'])} € HT",
            "responsable": r["name"],
            "e-mail": r["email"],
            "portable": f"+33{r['mobile']}",
        },
        as_json=False,
        title="Récapitulatif de votre commande d'hébergement",
    )
    console.print(
        f"proforma {p['number']} e-mailed to {r['email']} (valid until "
        f"{_french_date(p['valid_until'])}); once it comes back signed: "
        f"`pronote-dc order accept {order['id']}`"
    )


@app.command("list")
def list_orders(
    ctx: typer.Context,
    uai: Annotated[str, typer.Option(help="Only this school's orders.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Every order with its state and latest proforma."""
    reply = open_console(ctx, operator=True).ListOrders(console_pb2.ListOrdersRequest(uai=uai))
    details = [to_dict(d) for d in reply.orders]
    emit(details if as_json else [_row(d) for d in details], as_json, title="orders")


@app.command()
def show(ctx: typer.Context, order_id: OrderId, as_json: JsonOption = False) -> None:
    """One order: its state, its responsable and its latest proforma."""
    detail = to_dict(open_console(ctx, operator=True).GetOrder(console_pb2.OrderRef(id=order_id)))
    if as_json:
        emit_object(detail, as_json=True)
        return
    order = detail["order"]
    r = order["responsable"]
    emit_object(
        {
            **_row(detail),
            "name": order["name"],
            "client_number": order["client_number"],
            "responsable": r["name"],
            "mobile": f"+33{r['mobile']}",
            "email": r["email"],
        },
        as_json=False,
        title=f"order {order_id}",
    )


@app.command()
def proforma(ctx: typer.Context, order_id: OrderId, as_json: JsonOption = False) -> None:
    """The order's latest proforma: HT, TVA, TTC and its validity date."""
    detail = to_dict(open_console(ctx, operator=True).GetOrder(console_pb2.OrderRef(id=order_id)))
    if as_json:
        emit_object(detail["proforma"], as_json=True)
        return
    print_proforma(detail)


@app.command()
def accept(ctx: typer.Context, order_id: OrderId, as_json: JsonOption = False) -> None:
    """Record the signed proforma as returned (a renewal's extends the licence by one year)."""
    reply = open_console(ctx, operator=True).AcceptProforma(console_pb2.OrderRef(id=order_id))
    detail = to_dict(reply)
    if as_json:
        emit_object(detail, as_json=True)
        return
    order = detail["order"]
    if order["state"] == "activated":
        console.print(
            f"renewal recorded: the hosting licence of {order['uai']} now expires on "
            f"{_french_date(order['licence_expires_on'])}"
        )
    else:
        console.print(
            f"proforma {detail['proforma']['number']} returned; activate the hosting with "
            f"`pronote-dc order activate {order_id}`"
        )


@app.command()
def activate(ctx: typer.Context, order_id: OrderId, as_json: JsonOption = False) -> None:
    """Activate: start the school's server on its own address and send its credentials."""
    stub = open_console(ctx, operator=True)
    with console.status(f"activating order {order_id}: starting the school's server…"):
        reply = stub.ActivateOrder(console_pb2.OrderRef(id=order_id), timeout=120)
    result = to_dict(reply)
    if as_json:
        emit_object(result, as_json=True)
        return
    school, order = result["school"], result["order"]["order"]
    emit_object(
        {
            "uai": school["uai"],
            "name": school["name"],
            "address": school["address"],
            "port": school["client_port"],
            "state": school["state"],
            "hosting_number": school["hosting_number"],
            "expires": _french_date(order["licence_expires_on"]),
        },
        as_json=False,
        title=f"order {order_id} activated",
    )
    r = school["responsable"]
    console.print(
        f"hosting number and invoice number e-mailed to {r['email']}, password sent by SMS to "
        f"+33{r['mobile']}: read them with `pronote-dc order outbox --uai {school['uai']}`"
    )


@app.command()
def outbox(
    ctx: typer.Context,
    uai: Annotated[str, typer.Option(help="Only the messages about this school.")] = "",
    as_json: JsonOption = False,
) -> None:
    """The e-mails and SMS sent to responsables (proformas, credentials, renewals)."""
    reply = open_console(ctx, operator=True).ListOutbox(console_pb2.OutboxRequest(uai=uai))
    messages = [to_dict(m) for m in reply.messages]
    if as_json:
        emit(messages, as_json=True)
        return
    if not messages:
        console.print("[dim]outbox: empty[/]")
    for m in messages:  # whole messages, as the responsable receives them
        sent = datetime.datetime.fromtimestamp(m["sent_at_seconds"], tz=datetime.UTC)
        what = "SMS" if m["channel"] == "sms" else f"e-mail « {m['subject']} »"
        console.print(
            f"[bold]#{m['id']}[/] {sent:%Y-%m-%d %H:%M} {what} to {m['recipient']} "
            f"({m['uai']}, order {m['order_id'] or '-'})"
        )
        console.print(f"  {m['body']}", highlight=False)


@app.command("resend-credentials")
def resend_credentials(
    ctx: typer.Context,
    uai: Annotated[str, typer.Argument(help="The school (implied after `console login`).")] = "",
    client_number: Annotated[
        str, typer.Option(help="Without any login: the school's client number proves the ask.")
    ] = "",
) -> None:
    """Recevoir mes identifiants d'hébergement: a NEW password by SMS (only its hash is kept, so
    the old one cannot be re-sent and stops working), hosting and invoice numbers by e-mail."""
    if client_number:
        import grpc

        from datacenter.cli.remote import cli_state, console_address, rpc_errors
        from protos import console_pb2_grpc

        address = console_address(cli_state(ctx).settings())
        stub = console_pb2_grpc.ConsoleStub(grpc.insecure_channel(address))
        with rpc_errors():
            reply = stub.ResendCredentials(
                console_pb2.ResendCredentialsRequest(uai=uai, client_number=client_number),
                timeout=30,
            )
    else:
        reply = open_console(ctx).ResendCredentials(console_pb2.ResendCredentialsRequest(uai=uai))
    console.print(
        f"hosting number and invoice number e-mailed to {reply.email}; a new console password "
        f"sent by SMS to {reply.mobile} (the previous password no longer works)"
    )


@app.command()
def renew(
    ctx: typer.Context,
    uai: Annotated[
        str, typer.Argument(help="The hosted school (implied after `console login`).")
    ] = "",
    as_json: JsonOption = False,
) -> None:
    """Renew the hosting licence: a new proforma for one more year, e-mailed to the responsable."""
    detail = to_dict(open_console(ctx).RenewLicence(console_pb2.SchoolRef(uai=uai)))
    if as_json:
        emit_object(detail, as_json=True)
        return
    print_proforma(detail)
    console.print(
        f"once it comes back signed: `pronote-dc order accept {detail['order']['id']}` "
        "(the licence then runs one more year)"
    )
