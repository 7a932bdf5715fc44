"""The ordering service: places orders, sends proformas, activates (provisions) schools and
delivers their credentials to the outbox; renews licences. Every date comes from the Clock.

Who may do what (DOMAIN.md, seed 000; enforced by the console adapter):
- the operator (Index Education's side) places, accepts, activates and renews orders and reads
  the outbox;
- a school's console session reads its own "Mon compte" and may ask for its licence renewal;
- "Recevoir mes identifiants d'hébergement" is open to the operator, to the school's own
  session, and to anyone giving the school's client number with its UAI (as on the public
  site): the credentials only ever go to the responsable's registered e-mail and mobile.
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Callable
from dataclasses import dataclass

from common import secrets
from common.clock import Clock
from datacenter.core.auth import ConsoleAuth
from datacenter.core.contacts import Responsable, international_mobile
from datacenter.core.errors import AlreadyExists, NotFound, WrongState
from datacenter.core.fleet import Fleet, SchoolOrder
from datacenter.core.order_store import Message, OrderStore
from datacenter.core.ordering import (
    FORMULA_LABELS,
    Order,
    OrderRequest,
    OrderState,
    Proforma,
    ProformaKind,
    VatSchedule,
    check_accept,
    check_activate,
    day_of,
    licence_expiry,
    money,
    proforma_for,
    renewed_expiry,
    validate_request,
)
from datacenter.core.registry import SchoolRecord


@dataclass(frozen=True)
class Activated:
    order: Order
    record: SchoolRecord


@dataclass(frozen=True)
class Account:
    """ "Mon compte": what the console shows a school about its hosting."""

    record: SchoolRecord
    order: Order | None  # None for a school provisioned without an order (`school add`)


@dataclass(frozen=True)
class Resent:
    email: str
    mobile: str


class Ordering:
    def __init__(
        self,
        fleet: Fleet,
        auth: ConsoleAuth,
        clock: Clock,
        vat: VatSchedule,
        console_address: Callable[[], str],
    ) -> None:
        self._fleet = fleet
        self._auth = auth
        self._clock = clock
        self._vat = vat
        self._console_address = console_address
        self.store = OrderStore(fleet.registry)
        self._activating: set[int] = set()

    def today(self) -> datetime.date:
        return day_of(self._clock.now())

    # -- order and proforma ----------------------------------------------------------------

    def place(self, request: OrderRequest) -> tuple[Order, Proforma]:
        request = validate_request(request)
        if self._fleet.registry.exists(request.uai):
            raise AlreadyExists(
                f"school {request.uai} is already hosted; to extend its licence use "
                f"`pronote-dc order renew {request.uai}`"
            )
        today = self.today()
        for order in self.store.all(request.uai):
            proforma = self.store.latest_proforma(order.id)
            open_order = order.state is OrderState.PROFORMA_RETURNED or (
                order.state is OrderState.PROFORMA_SENT
                and proforma is not None
                and proforma.state(today) != "expired"
            )
            if open_order:
                raise AlreadyExists(
                    f"order {order.id} for {request.uai} is already in progress "
                    f"({order.state.value}); see `pronote-dc order show {order.id}`"
                )
        now = self._clock.now()
        with self._fleet.registry.transaction() as db:
            order_id = self.store.add_order(request, now, db)
            number = self.store.next_proforma_number(today, db)
            proforma = proforma_for(
                number, order_id, ProformaKind.ORDER, request.formula, today, self._vat
            )
            self.store.add_proforma(proforma, db)
            self.store.send(
                [self._proforma_mail(request.responsable.email, proforma)],
                request.uai,
                order_id,
                now,
                db,
            )
        return self.store.get(order_id), proforma

    def get(self, order_id: int) -> tuple[Order, Proforma | None]:
        return self.store.get(order_id), self.store.latest_proforma(order_id)

    def accept(self, order_id: int) -> tuple[Order, Proforma]:
        """The signed proforma came back: record it (a renewal extends the licence now)."""
        order, proforma = self.get(order_id)
        today = self.today()
        check_accept(order, proforma, today)
        assert proforma is not None
        with self._fleet.registry.transaction() as db:
            self.store.accept_proforma(proforma.number, today, db)
            if proforma.kind is ProformaKind.ORDER:
                self.store.set_state(order.id, OrderState.PROFORMA_RETURNED, db)
                subject = "Hébergement PRONOTE - proforma reçue"
                body = (
                    f"Nous avons bien reçu votre proforma {proforma.number}. Vos identifiants "
                    "d'hébergement vous seront envoyés à l'activation."
                )
            else:
                expires = renewed_expiry(order.licence_expires_on, today)
                self.store.set_licence_expiry(order.id, expires, db)
                subject = "Hébergement PRONOTE - licence renouvelée"
                body = f"Votre licence d'hébergement expire le : {expires:%d/%m/%Y}"
            mail = Message("email", order.responsable.email, subject, body)
            self.store.send([mail], order.uai, order.id, self._clock.now(), db)
        accepted = self.store.latest_proforma(order_id)
        assert accepted is not None
        return self.store.get(order_id), accepted

    # -- activation ------------------------------------------------------------------------

    async def activate(self, order_id: int) -> Activated:
        """Provision the school (all-or-nothing), then mark the order and send the credentials
        in one transaction; if that fails, the school is removed again."""
        order, proforma = self.get(order_id)
        check_activate(order, proforma, self.today())
        if order_id in self._activating:
            raise WrongState(f"order {order_id} is being activated; wait for it to finish")
        self._activating.add(order_id)
        try:
            provisioned = await self._fleet.provision(
                SchoolOrder(
                    uai=order.uai,
                    name=order.name,
                    formula=order.formula,
                    responsable=Responsable(
                        order.responsable.name, order.responsable.mobile, order.responsable.email
                    ),
                )
            )
            record = provisioned.record
            try:
                now = self._clock.now()
                with self._fleet.registry.transaction() as db:
                    self.store.set_activated(
                        order.id, now, record.hosting_number, licence_expiry(day_of(now)), db
                    )
                    self.store.send(
                        self._credentials(record, provisioned.console_password, resent=False),
                        record.uai,
                        order.id,
                        now,
                        db,
                    )
            except BaseException:
                await asyncio.shield(self._fleet.deprovision(record.uai))
                raise
        finally:
            self._activating.discard(order_id)
        return Activated(self.store.get(order_id), record)

    # -- credentials and account -----------------------------------------------------------

    def resend_credentials(self, uai: str) -> Resent:
        """The password is stored hashed, so it cannot be re-sent: a new one is issued by SMS
        (the old one stops working, open console sessions end) and the hosting number and
        invoice number are e-mailed again."""
        record = self._fleet.registry.get(uai)
        password = secrets.new_password()
        order = self.store.activated_for(uai)
        with self._fleet.registry.transaction() as db:
            self._fleet.registry.set_console_password_hash(uai, secrets.hash_secret(password))
            self.store.send(
                self._credentials(record, password, resent=True),
                uai,
                order.id if order else None,
                self._clock.now(),
                db,
            )
        self._auth.forget_school(uai)
        return Resent(record.responsable.email, international_mobile(record.responsable.mobile))

    def check_client_number(self, uai: str, client_number: str) -> None:
        order = self.store.activated_for(uai)
        if order is None or order.client_number != client_number.strip():
            raise NotFound(
                f"no hosted school {uai} with client number {client_number!r}; check both on "
                "your Index Education contract"
            )

    def account(self, uai: str) -> Account:
        return Account(self._fleet.registry.get(uai), self.store.activated_for(uai))

    def renew(self, uai: str) -> tuple[Order, Proforma]:
        """A new proforma for one more year of hosting, e-mailed to the responsable."""
        record = self._fleet.registry.get(uai)
        order = self.store.activated_for(record.uai)
        if order is None:
            raise WrongState(
                f"school {uai} was provisioned without an order (`school add`), so it has no "
                "hosting licence to renew; place an order for new schools instead"
            )
        today = self.today()
        pending = self.store.latest_proforma(order.id)
        if pending is not None and pending.state(today) == "pending":
            raise AlreadyExists(
                f"proforma {pending.number} for {uai} is still waiting to be returned (valid "
                f"until {pending.valid_until:%d/%m/%Y}); record it with `pronote-dc order "
                f"accept {order.id}`"
            )
        with self._fleet.registry.transaction() as db:
            number = self.store.next_proforma_number(today, db)
            proforma = proforma_for(
                number, order.id, ProformaKind.RENEWAL, record.formula, today, self._vat
            )
            self.store.add_proforma(proforma, db)
            self.store.send(
                [self._proforma_mail(order.responsable.email, proforma)],
                uai,
                order.id,
                self._clock.now(),
                db,
            )
        return self.store.get(order.id), proforma

    # -- messages --------------------------------------------------------------------------

    def _proforma_mail(self, email: str, proforma: Proforma) -> Message:
        a = proforma.amounts
        return Message(
            "email",
            email,
            "Proforma - Hébergement PRONOTE",
            f"Suite à votre demande concernant l'hébergement de PRONOTE, voici votre proforma "
            f"{proforma.number} ({FORMULA_LABELS[proforma.formula]}) : total HT "
            f"{money(a.ht)} €, TVA ({money(a.vat_rate)} %) {money(a.vat)} €, total TTC "
            f"{money(a.ttc)} €. Cette offre est valable jusqu'au "
            f"{proforma.valid_until:%d/%m/%Y}. Renvoyez-la signée pour l'activation.",
        )

    def _credentials(self, record: SchoolRecord, password: str, resent: bool) -> list[Message]:
        note = (
            " Votre mot de passe étant conservé chiffré, un nouveau mot de passe vous est "
            "envoyé par SMS ; l'ancien ne fonctionne plus."
            if resent
            else " Votre mot de passe vous est envoyé par SMS."
        )
        mail = Message(
            "email",
            record.responsable.email,
            "Vos identifiants d'hébergement PRONOTE",
            f"Établissement {record.uai} - {record.name}. Numéro d'hébergement : "
            f"{record.hosting_number}. Numéro de facture : {record.invoice_number} (demandé à "
            f"la première connexion). Console d'hébergement : {self._console_address()}. "
            f"Formule : {FORMULA_LABELS[record.formula]}.{note}",
        )
        sms = Message(
            "sms",
            international_mobile(record.responsable.mobile),
            "",
            f"PRONOTE hébergement {record.hosting_number} : mot de passe de la console {password}",
        )
        return [mail, sms]
