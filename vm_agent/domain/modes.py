"""Client modes and the kinds of user allowed in each."""

from __future__ import annotations

import enum


class Mode(enum.Enum):
    ADMINISTRATIF = "administratif"
    ENSEIGNANT = "enseignant"
    VIE_SCOLAIRE = "vie_scolaire"
    EDT = "edt"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def modifies(self) -> bool:
        """Administratif and Client EDT sessions hold a "licence en modification"."""
        return self in (Mode.ADMINISTRATIF, Mode.EDT)


_LABELS = {
    Mode.ADMINISTRATIF: "Administratif",
    Mode.ENSEIGNANT: "Enseignant",
    Mode.VIE_SCOLAIRE: "Vie scolaire",
    Mode.EDT: "Client EDT",
}


class UserKind(enum.Enum):
    PERSONNEL = "personnel"
    PROFESSEUR = "professeur"
    ELEVE = "eleve"  # PRONOTE.net only (espace élève)
    RESPONSABLE = "responsable"  # a parent: PRONOTE.net only (espace parent)


ADMINISTRATION_GROUP = "Administration"
VIE_SCOLAIRE_GROUP = "Vie scolaire"

ALLOWED_KINDS = {
    Mode.ADMINISTRATIF: {UserKind.PERSONNEL},
    Mode.ENSEIGNANT: {UserKind.PROFESSEUR},
    Mode.VIE_SCOLAIRE: {UserKind.PERSONNEL},
    Mode.EDT: {UserKind.PERSONNEL},
}
