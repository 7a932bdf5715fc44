"""UAI (RNE) numbers: 7 digits and the check letter computed from them."""

from __future__ import annotations

import pytest

from datacenter.core.errors import InvalidArgument
from datacenter.core.uai import CHECK_LETTERS, check_letter, make_uai, validate_uai


def test_domain_example_is_valid() -> None:
    assert validate_uai("0750655E") == "0750655E"


def test_wrong_check_letter_names_the_right_one() -> None:
    with pytest.raises(InvalidArgument, match=r"for 0750655 it is E \(0750655E\)"):
        validate_uai("0750655F")


def test_lower_case_is_accepted_and_upper_cased() -> None:
    assert validate_uai("0750655e") == "0750655E"


def test_surrounding_spaces_are_ignored() -> None:
    assert validate_uai(" 0750655E\n") == "0750655E"


@pytest.mark.parametrize(
    "text",
    ["", "0750655", "075065E", "00750655E", "0750655EE", "A750655E", "0750655 E", "07506551"],
)
def test_wrong_shapes_are_refused(text: str) -> None:
    with pytest.raises(InvalidArgument, match="7 digits then the check letter"):
        validate_uai(text)


def test_check_letters_skip_i_o_q() -> None:
    assert len(CHECK_LETTERS) == 23
    assert not set("IOQ") & set(CHECK_LETTERS)


def test_check_letter_is_the_digits_modulo_23() -> None:
    assert check_letter("0750655") == "E"
    assert check_letter("0000000") == "A"
    assert check_letter("0000022") == "Z"
    assert check_letter("0000023") == "A"


def test_make_uai_gives_valid_uais() -> None:
    for digits in ("0000000", "0310001", "9999999", "0693330"):
        uai = make_uai(digits)
        assert uai.startswith(digits)
        assert validate_uai(uai) == uai
