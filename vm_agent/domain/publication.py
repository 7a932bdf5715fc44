"""PRONOTE.net publication: which espaces are published, at which pages, and who
authenticates their users (seed 004 Fiches 8-9).

Publication is on by default (DOMAIN.md, "PRONOTE.net and the ENT"); each espace can be
published or not. Changing the parameters or the delegation requires publication to be
stopped first; every change is checked whole before anything is modified.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vm_agent.domain.delegation import Delegation
from vm_agent.domain.errors import InvalidArgument, WrongState
from vm_agent.domain.espaces import COMMUNE, PAGES, Espace, parse_espace

__all__ = ["COMMUNE", "Espace", "Publication", "parse_espace"]


@dataclass
class Publication:
    published: bool = True
    espaces: dict[Espace, bool] = field(default_factory=lambda: dict.fromkeys(Espace, True))
    commune: bool = True  # the page commune /pronote/
    delegation: Delegation | None = None

    def refusal(self, espace: Espace) -> str | None:
        """Why this espace cannot be used now, or None when it is open."""
        if not self.published:
            return "PRONOTE.net n'est pas publié : la publication est arrêtée"
        if not self.espaces.get(espace, False):
            return f"L'espace {espace.value} n'est pas publié"
        return None

    def page_published(self, name: str) -> bool:
        """Whether a page (COMMUNE or an espace's name) is checked "Publier"."""
        return self.commune if name == COMMUNE else self.espaces[parse_espace(name)]

    def delegation_for(self, espace: Espace) -> Delegation | None:
        if self.delegation is not None and self.delegation.delegates(espace):
            return self.delegation
        return None

    def direct_login_allowed(self, espace: Espace) -> bool:
        """Whether PRONOTE.net's own login form is allowed on this espace: always without a
        delegation, and beside one only with "Autoriser l'authentification directe"."""
        delegation = self.delegation_for(espace)
        return delegation is None or delegation.allow_direct_authentication

    # -- changes ---------------------------------------------------------------------------

    def start(self) -> None:
        if self.published:
            raise WrongState("PRONOTE.net is already published")
        self.published = True

    def stop(self) -> None:
        if not self.published:
            raise WrongState("PRONOTE.net publication is already stopped")
        self.published = False

    def set_espace(self, espace: Espace, published: bool) -> None:
        self.require_stopped(f"change whether espace {espace.value} is published")
        self.espaces[espace] = published

    def set_page(self, name: str, published: bool) -> None:
        """Publish or not a page: the page commune or an espace, by name."""
        if name == COMMUNE:
            self.require_stopped("change whether the page commune is published")
            self.commune = published
            return
        known = ", ".join(p.name for p in PAGES)
        if name not in (p.name for p in PAGES):
            raise InvalidArgument(f"no page {name!r}: choose one of {known}")
        self.set_espace(parse_espace(name), published)

    def delegate(self, delegation: Delegation) -> None:
        """Déléguer l'authentification: replaces the delegation in place, if any."""
        self.require_stopped("change the delegation of authentication")
        self.delegation = delegation

    def remove_delegation(self) -> None:
        self.require_stopped("remove the delegation of authentication")
        if self.delegation is None:
            raise WrongState("no authentication is delegated: there is nothing to remove")
        self.delegation = None

    def require_stopped(self, action: str) -> None:
        if self.published:
            raise WrongState(
                f"stop the publication of PRONOTE.net before you {action} "
                "(`pronote-dc console pronote-net stop`), then publish again"
            )

    # -- saved state -----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "published": self.published,
            "espaces": {e.value: on for e, on in self.espaces.items()},
            "commune": self.commune,
            "delegation": self.delegation.to_dict() if self.delegation else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Publication:
        espaces = dict.fromkeys(Espace, True)
        espaces.update({Espace(name): bool(on) for name, on in data.get("espaces", {}).items()})
        delegation = data.get("delegation")
        return cls(
            published=bool(data.get("published", True)),
            espaces=espaces,
            commune=bool(data.get("commune", True)),
            delegation=Delegation.from_dict(delegation) if delegation else None,
        )
