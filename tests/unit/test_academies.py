from __future__ import annotations

import pytest

from datacenter.core.academies import ACADEMIE_OF_DEPARTEMENT, academie_of


@pytest.mark.parametrize(
    ("uai", "academie"),
    [
        ("0750655E", "paris"),
        ("0130001A", "aix-marseille"),
        ("0932001A", "creteil"),
        ("0141234A", "normandie"),
        ("6200001G", "corse"),
        ("7200009X", "corse"),
        ("9740001A", "reunion"),
        ("9760001A", "mayotte"),
    ],
)
def test_the_academie_comes_from_the_departement(uai: str, academie: str) -> None:
    assert academie_of(uai) == academie


@pytest.mark.parametrize("uai", ["0990001A", "0000001A", "9750001A"])
def test_an_unknown_departement_has_no_academie(uai: str) -> None:
    assert academie_of(uai) is None


def test_every_metropolitan_departement_has_one_academie() -> None:
    metropolitan = {f"{n:02d}" for n in range(1, 96) if n != 20} | {"2A", "2B"}
    assert metropolitan <= set(ACADEMIE_OF_DEPARTEMENT)
