"""PRONOTE.net's pages (seed 004 Fiche 8): the page commune `/pronote/` and one page per
espace, each with its `mobile.` twin, at the school's address and at the public name the
real service uses (`https://<RNE>.index-education.net/pronote/`)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from vm_agent.domain.errors import InvalidArgument

COMMUNE = "commune"  # the page commune: links to every published espace
PUBLIC_HOST = "{rne}.index-education.net"


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

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Espace.DIRECTION: "Espace Direction",
    Espace.PROFESSEUR: "Espace Professeurs",
    Espace.VIE_SCOLAIRE: "Espace Vie scolaire",
    Espace.PARENT: "Espace Parents",
    Espace.ACCOMPAGNANT: "Espace Accompagnants",
    Espace.ELEVE: "Espace Élèves",
    Espace.ENTREPRISE: "Espace Entreprise",
    Espace.ACADEMIE: "Espace Académie",
}


def parse_espace(name: str) -> Espace:
    try:
        return Espace(name)
    except ValueError:
        known = ", ".join(e.value for e in Espace)
        raise InvalidArgument(f"no espace {name!r}: choose one of {known}") from None


@dataclass(frozen=True)
class Page:
    name: str  # COMMUNE or an espace's value
    label: str
    path: str  # under /pronote/: "" for the page commune
    mobile_path: str


PAGES = (
    Page(COMMUNE, "Page commune", "", "mobile.html"),
    *(Page(e.value, e.label, e.page, e.mobile_page) for e in Espace),
)


@dataclass(frozen=True)
class PageAddresses:
    page: Page
    url: str
    mobile_url: str
    public_url: str
    public_mobile_url: str


def page_addresses(page: Page, host: str, port: int, rne: str) -> PageAddresses:
    local = f"http://{host}:{port}/pronote/"
    public = f"https://{PUBLIC_HOST.format(rne=rne)}/pronote/"
    return PageAddresses(
        page,
        local + page.path,
        local + page.mobile_path,
        public + page.path,
        public + page.mobile_path,
    )
