"""PRONOTE.net publication: which espaces are published, at which pages.

Publication is on by default (DOMAIN.md, "PRONOTE.net and the ENT"); each espace can be
published or not. Changing the parameters requires publication to be stopped first.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from vm_agent.domain.errors import InvalidArgument, WrongState


class Espace(enum.Enum):
    """An espace and its page under /pronote/ (its mobile twin is `mobile.<page>`)."""

    DIRECTION = "direction"
    PROFESSEUR = "professeur"
    VIE_SCOLAIRE = "viescolaire"
    PARENT = "parent"
    ACCOMPAGNANT = "accompagnant"
    ELEVE = "eleve"
    ENTREPRISE = "entreprise"
    ACADEMIE = "academie"

    @property
    def page(self) -> str:
        return f"{self.value}.html"

    @property
    def mobile_page(self) -> str:
        return f"mobile.{self.value}.html"


def parse_espace(name: str) -> Espace:
    try:
        return Espace(name)
    except ValueError:
        known = ", ".join(e.value for e in Espace)
        raise InvalidArgument(f"no espace {name!r}: choose one of {known}") from None


@dataclass
class Publication:
    published: bool = True
    espaces: dict[Espace, bool] = field(default_factory=lambda: dict.fromkeys(Espace, True))

    def refusal(self, espace: Espace) -> str | None:
        """Why this espace cannot be used now, or None when it is open."""
        if not self.published:
            return "PRONOTE.net n'est pas publié : la publication est arrêtée"
        if not self.espaces.get(espace, False):
            return f"L'espace {espace.value} n'est pas publié"
        return None

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

    def require_stopped(self, action: str) -> None:
        if self.published:
            raise WrongState(
                f"stop the publication of PRONOTE.net before you {action}, then publish again"
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "published": self.published,
            "espaces": {e.value: on for e, on in self.espaces.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Publication:
        espaces = dict.fromkeys(Espace, True)
        espaces.update({Espace(name): bool(on) for name, on in data.get("espaces", {}).items()})
        return cls(published=bool(data.get("published", True)), espaces=espaces)
