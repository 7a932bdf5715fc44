"""The Console API's ordering calls (adapter): checks who may act, then asks `Ordering`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from datacenter.adapters.console.panel import ConsolePanel, Context, translated
from datacenter.adapters.console.schools import school_message
from datacenter.adapters.wire import FORMULA_FROM_PROTO, FORMULA_TO_PROTO
from datacenter.core import errors
from datacenter.core.auth import Principal, require_operator
from datacenter.core.contacts import Responsable
from datacenter.core.ordering import FORMULA_LABELS, Order, OrderRequest, Proforma
from datacenter.core.orders import Ordering
from datacenter.core.uai import validate_uai
from protos import console_pb2

if TYPE_CHECKING:
    from datacenter.core.fleet import Fleet


def order_message(order: Order) -> console_pb2.Order:
    r = order.responsable
    return console_pb2.Order(
        id=order.id,
        client_number=order.client_number,
        uai=order.uai,
        name=order.name,
        formula=FORMULA_TO_PROTO[order.formula],
        responsable=console_pb2.Responsable(name=r.name, mobile=r.mobile, email=r.email),
        fax=r.fax,
        state=order.state.value,
        placed_at_seconds=order.placed_at,
        activated_at_seconds=order.activated_at or 0.0,
        hosting_number=order.hosting_number,
        licence_expires_on=order.licence_expires_on.isoformat() if order.licence_expires_on else "",
    )


def proforma_message(proforma: Proforma, state: str) -> console_pb2.Proforma:
    a = proforma.amounts
    return console_pb2.Proforma(
        number=proforma.number,
        order_id=proforma.order_id,
        kind=proforma.kind.value,
        formula=FORMULA_TO_PROTO[proforma.formula],
        label=FORMULA_LABELS[proforma.formula],
        amount_ht=str(a.ht),
        vat_rate=str(a.vat_rate),
        vat=str(a.vat),
        amount_ttc=str(a.ttc),
        issued_on=proforma.issued_on.isoformat(),
        valid_until=proforma.valid_until.isoformat(),
        state=state,
        accepted_on=proforma.accepted_on.isoformat() if proforma.accepted_on else "",
    )


def order_detail(
    ordering: Ordering, order: Order, proforma: Proforma | None
) -> console_pb2.OrderDetail:
    detail = console_pb2.OrderDetail(order=order_message(order))
    if proforma is not None:
        detail.proforma.CopyFrom(proforma_message(proforma, proforma.state(ordering.today())))
    return detail


class OrdersConsole(ConsolePanel):
    """Mixed into ConsoleService, which provides `_principal`, `_authorized_uai`, `_fleet` and
    `_client_port`."""

    _ordering: Ordering
    _fleet: Fleet
    _client_port: int

    def _principal(self, context: Context) -> Principal:
        raise NotImplementedError

    def _detail(self, order: Order, proforma: Proforma | None) -> console_pb2.OrderDetail:
        return order_detail(self._ordering, order, proforma)

    def _authorized_uai(self, context: Context, uai: str) -> str:
        raise NotImplementedError

    @translated
    async def PlaceOrder(
        self, request: console_pb2.PlaceOrderRequest, context: Context
    ) -> console_pb2.OrderDetail:
        require_operator(self._principal(context), "place orders")
        if request.formula not in FORMULA_FROM_PROTO:
            raise errors.InvalidArgument("choose a formula: 30, 50, 80 or unlimited")
        r = request.responsable
        order, proforma = self._ordering.place(
            OrderRequest(
                client_number=request.client_number,
                uai=request.uai,
                name=request.name,
                formula=FORMULA_FROM_PROTO[request.formula],
                responsable=Responsable(r.name, r.mobile, r.email, request.fax),
                contract_accepted=request.contract_accepted,
            )
        )
        return self._detail(order, proforma)

    @translated
    async def ListOrders(
        self, request: console_pb2.ListOrdersRequest, context: Context
    ) -> console_pb2.Orders:
        require_operator(self._principal(context), "list orders")
        uai = validate_uai(request.uai) if request.uai else ""
        store = self._ordering.store
        return console_pb2.Orders(
            orders=[self._detail(o, store.latest_proforma(o.id)) for o in store.all(uai)]
        )

    @translated
    async def GetOrder(
        self, request: console_pb2.OrderRef, context: Context
    ) -> console_pb2.OrderDetail:
        require_operator(self._principal(context), "read orders")
        return self._detail(*self._ordering.get(request.id))

    @translated
    async def AcceptProforma(
        self, request: console_pb2.OrderRef, context: Context
    ) -> console_pb2.OrderDetail:
        require_operator(self._principal(context), "record a returned proforma")
        return self._detail(*self._ordering.accept(request.id))

    @translated
    async def ActivateOrder(
        self, request: console_pb2.OrderRef, context: Context
    ) -> console_pb2.ActivatedOrder:
        require_operator(self._principal(context), "activate orders")
        activated = await self._ordering.activate(request.id)
        return console_pb2.ActivatedOrder(
            order=self._detail(
                activated.order, self._ordering.store.latest_proforma(activated.order.id)
            ),
            school=school_message(activated.record, self._fleet, self._client_port),
        )

    @translated
    async def ListOutbox(
        self, request: console_pb2.OutboxRequest, context: Context
    ) -> console_pb2.Outbox:
        require_operator(self._principal(context), "read the outbox")
        uai = validate_uai(request.uai) if request.uai else ""
        return console_pb2.Outbox(
            messages=[
                console_pb2.OutboxMessage(
                    id=m.id,
                    sent_at_seconds=m.sent_at,
                    channel=m.channel,
                    recipient=m.recipient,
                    subject=m.subject,
                    body=m.body,
                    uai=m.uai,
                    order_id=m.order_id or 0,
                )
                for m in self._ordering.store.outbox(uai)
            ]
        )
