"""The responsable hébergement and the checks of their contact details (DOMAIN.md "Ordering
hosting", seed 000): one definition for the order and the school it becomes.

The mobile number is mandatory and stored without its leading 0, as the real console does
(06 12 34 56 78 -> 612345678): the console password goes to it by SMS. The e-mail receives the
hosting and invoice numbers (and, for an order, the proforma).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from datacenter.core.errors import InvalidArgument

_MOBILE = re.compile(r"^(?:\+33|0033|0)?([67]\d{8})$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Responsable:
    name: str
    mobile: str  # stored without the leading 0 (seed 000): "612345678"
    email: str
    fax: str = ""  # an order may give one; the school's record keeps none


def normalise_mobile(text: str) -> str:
    """A French mobile number as stored: without the leading 0 (06 12 34 56 78 -> 612345678)."""
    match = _MOBILE.match(re.sub(r"[\s.-]", "", text))
    if match is None:
        raise InvalidArgument(
            f"{text!r} is not a French mobile number (06… or 07…); it is mandatory: the "
            "console password is sent to it by SMS"
        )
    return match.group(1)


def international_mobile(stored: str) -> str:
    return f"+33{stored}"


def normalise_email(text: str, sent: str) -> str:
    """The e-mail address, trimmed; `sent` says what goes to it, for the refusal."""
    email = text.strip()
    if not _EMAIL.match(email):
        raise InvalidArgument(f"{text!r} is not an e-mail address; {sent} sent to it")
    return email
