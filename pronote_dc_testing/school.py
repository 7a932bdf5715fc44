"""One demo school of an embedded data-center, as a client's test sees it: its address, port
49300, each espace's URL (and its mobile twin), the sample accounts per role, and the states a
client must handle (publication stopped, IP suspended, sessions expired, server stopped,
authentication delegated to an ENT), each set through the console API as the operator would."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any, Protocol

import grpc

from common.relay import SourceAddressRelay
from pronote_dc_testing.dates import Moment
from protos import client_pb2, client_pb2_grpc, common_pb2, console_pb2


class SchoolHost(Protocol):
    """What a school needs of its data-center (`embedded.EmbeddedDatacenter` provides it): the
    clock, the operator's console API and the controller's settings."""

    console: Any
    settings: dict[str, str]

    def now(self) -> datetime.datetime: ...

    def advance_clock(self, when: Moment | datetime.timedelta) -> datetime.datetime: ...


SUSPEND_ATTEMPTS_MAX = 100


@dataclass(frozen=True)
class Account:
    """A sample account: `role` is spr, administratif, enseignant, vie_scolaire, parent or
    eleve; `espaces` where it logs in ("client" for Client PRONOTE, or a PRONOTE.net espace)."""

    role: str
    login: str
    password: str
    espaces: tuple[str, ...]
    mode: str  # Client PRONOTE mode, e.g. MODE_ENSEIGNANT; MODE_UNSPECIFIED for web-only


@dataclass(frozen=True)
class Espace:
    """A PRONOTE.net page: `page` is "commune" or an espace (eleve, parent, professeur...)."""

    page: str
    label: str
    url: str
    mobile_url: str
    public_url: str  # the real service's name, https://<RNE>.index-education.net/pronote/...
    published: bool


class School:
    """A running demo school. `address` is its own loopback address, `port` 49300 (Client
    PRONOTE), `url(espace)` a PRONOTE.net page, `account(role)` a sample account."""

    def __init__(self, datacenter: SchoolHost, details: dict[str, Any]) -> None:
        self.datacenter = datacenter
        self.details = details
        self.uai: str = details["uai"]
        self.name: str = details["name"]
        self.address: str = details["address"]
        self.port: int = int(details["client_port"])
        self.hosting_number: str = details["hosting_number"]
        self.accounts: dict[str, Account] = {
            a["role"]: Account(a["role"], a["login"], a["password"], tuple(a["espaces"]), a["mode"])
            for a in details["sample_accounts"]
        }
        self.espaces: dict[str, Espace] = {
            e["page"]: Espace(
                e["page"], e["label"], e["url"], e["mobile_url"], e["public_url"], e["published"]
            )
            for e in details["espaces"]
        }

    def __repr__(self) -> str:
        return f"<School {self.uai} on {self.address}:{self.port}>"

    # -- what a client needs -----------------------------------------------------------------

    def url(self, espace: str = "commune", mobile: bool = False) -> str:
        """The URL of a PRONOTE.net page, e.g. url("eleve") -> http://<address>:8080/pronote/
        eleve.html; mobile=True gives its mobile twin. KeyError lists the pages."""
        try:
            page = self.espaces[espace]
        except KeyError:
            raise KeyError(f"no page {espace!r}; choose one of {', '.join(self.espaces)}") from None
        return page.mobile_url if mobile else page.url

    def account(self, role: str) -> Account:
        """The sample account of a role (spr, administratif, enseignant, vie_scolaire, parent,
        eleve). KeyError lists the roles."""
        try:
            return self.accounts[role]
        except KeyError:
            raise KeyError(
                f"no account {role!r}; choose one of {', '.join(self.accounts)}"
            ) from None

    # -- the clock (the data-center's: every school of it moves) -----------------------------

    def now(self) -> datetime.datetime:
        return self.datacenter.now()

    def advance_clock(self, when: Moment | datetime.timedelta) -> datetime.datetime:
        """Move the simulated clock forward to `when` (or by a timedelta); returns the new time."""
        return self.datacenter.advance_clock(when)

    # -- states a client must handle ---------------------------------------------------------

    def _call(self, method: str, request: Any) -> Any:
        return getattr(self.datacenter.console, method)(request)

    def stop_publication(self) -> None:
        """Arrêter la publication: every espace answers as unavailable."""
        self._call("SetPublished", console_pb2.SetPublishedRequest(uai=self.uai, published=False))

    def publish(self) -> None:
        """Publier la base again."""
        self._call("SetPublished", console_pb2.SetPublishedRequest(uai=self.uai, published=True))

    def suspend_ip(self, ip: str = "127.0.0.1") -> int:
        """Suspend `ip` (any 127.0.0.0/8 address; this process's clients appear as 127.0.0.1)
        the way it happens for real: wrong passwords from it on port 49300 until the school
        refuses it (PERMISSION_DENIED). Returns the number of failed attempts it took."""
        relay = SourceAddressRelay(ip, self.address, self.port)
        channel = grpc.insecure_channel(
            relay.address, options=[("grpc.use_local_subchannel_pool", 1)]
        )
        stub = client_pb2_grpc.ClientPronoteStub(channel)
        request = client_pb2.ConnectRequest(
            mode=common_pb2.MODE_ADMINISTRATIF,
            login=self.account("spr").login,
            password="not-the-password",
        )
        try:
            for attempt in range(SUSPEND_ATTEMPTS_MAX):
                try:
                    stub.Connect(request, timeout=15)
                except grpc.RpcError as error:
                    if error.code() == grpc.StatusCode.PERMISSION_DENIED:
                        return attempt
                    if error.code() != grpc.StatusCode.UNAUTHENTICATED:
                        raise
            raise RuntimeError(f"{ip} still not suspended after {SUSPEND_ATTEMPTS_MAX} attempts")
        finally:
            channel.close()
            relay.close()

    def suspended_ips(self) -> list[str]:
        reply = self._call("ListSuspendedIps", console_pb2.SchoolRef(uai=self.uai))
        return [entry.ip for entry in reply.suspended_ips]

    def unblock_ip(self, ip: str = "") -> None:
        """Lift the suspension of `ip` (empty: of every IP)."""
        self._call("UnblockIps", console_pb2.UnblockIpsRequest(uai=self.uai, ip=ip, all=not ip))

    def expire_sessions(self) -> datetime.datetime:
        """Move the clock past the idle timeout: every Client PRONOTE and PRONOTE.net session
        open now expires (pronotepy then logs in again by itself)."""
        idle_seconds = float(self.datacenter.settings.get("session_idle_timeout_seconds", 600))
        return self.advance_clock(datetime.timedelta(seconds=idle_seconds + 1))

    def stop_server(self) -> None:
        """Arrêter le serveur: everyone is disconnected; Client PRONOTE and PRONOTE.net refuse."""
        self._call("StopServer", console_pb2.SchoolRef(uai=self.uai))

    def put_in_service(self) -> None:
        """Mettre en service the base the school was serving (after stop_server)."""
        bases = self._call("ListBases", console_pb2.SchoolRef(uai=self.uai)).bases
        base = next(b for b in bases if b.ever_in_service)
        # Its SPR was defined at its first mise en service: the request leaves it empty.
        self._call(
            "PutBaseInService", console_pb2.PutBaseInServiceRequest(uai=self.uai, base_id=base.id)
        )

    def delegate_to_ent(
        self,
        ent: str = "educonnect",
        espaces: tuple[str, ...] = ("eleve", "parent"),
        allow_direct_login: bool = False,
    ) -> None:
        """Déléguer l'authentification of `espaces` to an ENT of the catalogue (its id, e.g.
        ecollege31, or educonnect): their pages answer a 302 to the ENT's login; with
        allow_direct_login=False PRONOTE.net's own form (`?login=true`) redirects too. The
        publication is stopped for the change and published again."""
        delegation = common_pb2.Delegation(
            ent=ent, espaces=list(espaces), allow_direct_authentication=allow_direct_login
        )
        self.stop_publication()
        try:
            self._call(
                "SetDelegation",
                console_pb2.SetDelegationRequest(uai=self.uai, delegation=delegation),
            )
        finally:
            self.publish()

    def remove_delegation(self) -> None:
        self.stop_publication()
        try:
            self._call("RemoveDelegation", console_pb2.SchoolRef(uai=self.uai))
        finally:
            self.publish()
