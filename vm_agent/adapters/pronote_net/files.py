"""`FichiersExternes/<hex>/<name>?Session=<h>`: files downloaded while the page's session
lives. `<hex>` is `{"N": id, "Actif": true}` AES-encrypted with the page's key and IV: the
clients make it themselves for an attachment (pronotepy `Attachment`, dataClasses.py:762-773;
pawnote `decodeAttachment`, src/decoders/attachment.ts:20-31) and receive it from
`GenerationPDF` for a PDF (`url`). Ids: an attachment's (`PJ-…`, `PJT-…`), `PDFB-<student>-
<period>` (report card), `PDFE-<person>-<week>` (timetable). Spec: docs/pronote-net/files.md.
"""

from __future__ import annotations

import datetime
import json
import urllib.parse
from dataclasses import dataclass

from common.pronote_net import CryptoError, aes_decrypt, aes_encrypt
from vm_agent.adapters.pronote_net import documents
from vm_agent.adapters.pronote_net.envelope import PageState
from vm_agent.domain import bulletins, synthetic_contents
from vm_agent.domain.school_data import SchoolData, Student

REPORT_CARD = "PDFB"
TIMETABLE = "PDFE"
WEEK = datetime.timedelta(days=7)


class FileNotAvailable(Exception):
    """No such file for this session (a bad link, another school's, a closed page)."""


@dataclass(frozen=True)
class File:
    name: str
    content_type: str
    body: bytes  # for a link: empty, and `redirect` is set
    redirect: str = ""


def url(state: PageState, session_number: int, file_id: str, name: str) -> str:
    """The relative URL a client appends to its `…/pronote` root."""
    plain = json.dumps({"N": file_id, "Actif": True}, separators=(",", ":")).encode()
    blob = aes_encrypt(state.cipher.key, state.cipher.iv, plain).hex()
    return f"FichiersExternes/{blob}/{urllib.parse.quote(name)}?Session={session_number}"


def file_id(state: PageState, blob: str) -> str:
    try:
        plain = aes_decrypt(state.cipher.key, state.cipher.iv, bytes.fromhex(blob))
    except (CryptoError, ValueError):
        raise FileNotAvailable("this link was not made for this session") from None
    pad = plain[-1] if plain else 0
    if 0 < pad <= 16 and plain.endswith(bytes([pad]) * pad):  # pronotepy pads twice
        plain = plain[:-pad]
    try:
        value = json.loads(plain)
    except (ValueError, UnicodeDecodeError):
        raise FileNotAvailable("this link was not made for this session") from None
    found = value.get("N") if isinstance(value, dict) else None
    if not isinstance(found, str):
        raise FileNotAvailable("the link names no file")
    return found


def load(school: SchoolData, school_name: str, wanted: str, today: datetime.date) -> File:
    kind, _, rest = wanted.partition("-")
    if kind == REPORT_CARD:
        student_id, _, period_id = rest.rpartition("-")
        student = school.person_by_id(student_id)
        period = next((p for p in school.periods if p.id == period_id), None)
        card = (
            bulletins.report_card(school, student, period, today)
            if isinstance(student, Student) and period is not None
            else None
        )
        if card is None:
            raise FileNotAvailable("no report card for this period yet")
        body = documents.report_card_pdf(card, school_name)
        return File(f"Bulletin {period.name}.pdf" if period else "", "application/pdf", body)
    if kind == TIMETABLE:
        person_id, _, week_text = rest.rpartition("-")
        person = school.person_by_id(person_id)
        if person is None or not week_text.isdigit():
            raise FileNotAvailable("no such timetable")
        monday = school.first_monday + (int(week_text) - 1) * WEEK
        lessons = school.lessons(person.id, monday, monday + WEEK)
        labels = {s.id: s.name for s in school.subjects}
        labels |= {t.id: t.display_name for t in school.teachers}
        labels |= {r.id: r.name for r in school.rooms}
        klass = next((c.name for c in school.classes
                      if isinstance(person, Student) and c.id == person.class_id), "")  # fmt: skip
        body = documents.timetable_pdf(person.display_name, klass, monday, lessons, labels)
        return File("Emploi du temps.pdf", "application/pdf", body)
    attachment = synthetic_contents.attachment(school, wanted)
    if attachment is None:
        raise FileNotAvailable("no such attachment")
    if attachment.is_link:
        return File(attachment.name, "text/uri-list", b"", attachment.url)
    return File(
        attachment.name, "application/pdf", documents.attachment_pdf(attachment, school_name)
    )
