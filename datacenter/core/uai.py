"""UAI (ex-RNE) numbers: 7 digits and a check letter computed from them (DOMAIN.md)."""

from __future__ import annotations

import re

from datacenter.core.errors import InvalidArgument

CHECK_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"  # 23 letters: no I, O, Q
_SHAPE = re.compile(r"^(\d{7})([A-Z])$")


def check_letter(digits: str) -> str:
    return CHECK_LETTERS[int(digits) % 23]


def make_uai(digits: str) -> str:
    return digits + check_letter(digits)


def validate_uai(text: str) -> str:
    """Return the UAI in canonical form (upper case) or raise InvalidArgument saying why."""
    uai = text.strip().upper()
    match = _SHAPE.match(uai)
    if match is None:
        raise InvalidArgument(
            f"{text!r} is not a UAI: write 7 digits then the check letter, e.g. 0750655E"
        )
    digits, letter = match.groups()
    expected = check_letter(digits)
    if letter != expected:
        raise InvalidArgument(
            f"{uai} has a wrong check letter: for {digits} it is {expected} ({digits}{expected})"
        )
    return uai
