"""Orders of hosting: every field checked and put in canonical form before anything is written."""

from __future__ import annotations

import pytest

from datacenter.core.contacts import Responsable
from datacenter.core.errors import InvalidArgument
from datacenter.core.fleet import FORMULAS, SchoolOrder, validate_order


def order(
    uai: str = "0750655E",
    name: str = "Collège Test",
    formula: str = "50",
    responsable_name: str = "Mme Martin",
    mobile: str = "0612345678",
    email: str = "martin@example.org",
    administratif_licences: int = 4,
) -> SchoolOrder:
    return SchoolOrder(
        uai, name, formula, Responsable(responsable_name, mobile, email), administratif_licences
    )


@pytest.mark.parametrize(
    "mobile",
    [
        "06 12 34 56 78",
        "0612345678",
        "+33612345678",
        "+33 6 12 34 56 78",
        "0033612345678",
        "06.12.34.56.78",
        "06-12-34-56-78",
        "612345678",
    ],
)
def test_mobile_is_stored_without_the_leading_zero(mobile: str) -> None:
    assert validate_order(order(mobile=mobile)).responsable.mobile == "612345678"


def test_07_mobiles_are_accepted() -> None:
    assert validate_order(order(mobile="07 98 76 54 32")).responsable.mobile == "798765432"


@pytest.mark.parametrize(
    "mobile", ["", "0112345678", "0512345678", "061234567", "06123456789", "+3306123456789", "abc"]
)
def test_bad_mobile_is_refused(mobile: str) -> None:
    with pytest.raises(InvalidArgument, match="not a French mobile number"):
        validate_order(order(mobile=mobile))


@pytest.mark.parametrize("formula", ["30", "50", "80", "unlimited"])
def test_every_formula_is_accepted(formula: str) -> None:
    assert validate_order(order(formula=formula)).formula == formula


@pytest.mark.parametrize("formula", ["", "40", "Unlimited", "illimité", "100"])
def test_bad_formula_is_refused(formula: str) -> None:
    with pytest.raises(InvalidArgument, match="choose 30, 50, 80 or unlimited"):
        validate_order(order(formula=formula))


def test_formulas_cap_teachers() -> None:
    assert FORMULAS == {"30": 30, "50": 50, "80": 80, "unlimited": None}


@pytest.mark.parametrize("email", ["", "martin", "martin@example", "a b@example.org", "@x.org"])
def test_bad_email_is_refused(email: str) -> None:
    with pytest.raises(InvalidArgument, match="not an e-mail address"):
        validate_order(order(email=email))


@pytest.mark.parametrize("name", ["", "   ", "x" * 121])
def test_bad_name_is_refused(name: str) -> None:
    with pytest.raises(InvalidArgument, match="name of 1 to 120 characters"):
        validate_order(order(name=name))


@pytest.mark.parametrize("count", [0, -1, 1000])
def test_administratif_licences_out_of_range_are_refused(count: int) -> None:
    with pytest.raises(InvalidArgument, match="between 1 and 999"):
        validate_order(order(administratif_licences=count))


def test_bad_uai_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="0750655E"):
        validate_order(order(uai="0750655F"))


def test_order_is_returned_in_canonical_form() -> None:
    result = validate_order(
        order(
            uai="0750655e",
            name="  Collège Test ",
            responsable_name="  ",
            email=" martin@example.org ",
            administratif_licences=6,
        )
    )
    assert result == SchoolOrder(
        uai="0750655E",
        name="Collège Test",
        formula="50",
        responsable=Responsable("Responsable hébergement", "612345678", "martin@example.org"),
        administratif_licences=6,
    )
