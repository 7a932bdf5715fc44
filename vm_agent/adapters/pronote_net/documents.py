"""The PDF files PRONOTE.net hands out, made with fpdf2: a report card, a week's timetable,
and the attachments of the cahier de textes (a one-page document). Bytes in, nothing kept."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from vm_agent.domain.bulletins import ReportCard
from vm_agent.domain.school_data import Lesson
from vm_agent.domain.synthetic_contents import Attachment

_DAYS = ("Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi", "Samedi", "Dimanche")


def report_card_pdf(card: ReportCard, school_name: str) -> bytes:
    """Bulletin: header, one row per subject (student, class, min, max, appréciation), the
    overall averages, the head teacher's appréciation and the vie scolaire summary."""
    pdf = _document(f"Bulletin du {card.period.name}")
    _line(pdf, school_name, bold=True)
    _line(pdf, f"Bulletin du {card.period.name} - {card.period.start:%d/%m/%Y} au "
               f"{card.period.end:%d/%m/%Y}")  # fmt: skip
    _line(pdf, f"Élève : {card.student.display_name}    Classe : {card.class_name}")
    pdf.ln(3)
    widths = (54, 30, 10, 10, 9, 9, 68)
    _row(pdf, widths, ["Matière", "Professeur", "Élève", "Classe", "Min", "Max", "Appréciation"],
         bold=True)  # fmt: skip
    for subject in card.subjects:
        _row(pdf, widths, [
            subject.name, ", ".join(subject.teachers), _mark(subject.student),
            _mark(subject.class_average), _mark(subject.class_min), _mark(subject.class_max),
            subject.appreciation,
        ])  # fmt: skip
    pdf.ln(3)
    pdf.set_font("Helvetica", size=10)
    _line(pdf, f"Moyenne générale : {_mark(card.overall)}    Classe : {_mark(card.class_overall)}")
    _line(pdf, f"Appréciation générale ({card.head_teacher}) : {card.general_appreciation}")
    _line(pdf, f"Vie scolaire : {card.absences} demi-journée(s) d'absence, {card.delays} retard(s)")
    return bytes(pdf.output())


def timetable_pdf(name: str, class_name: str, monday: datetime.date, lessons: Iterable[Lesson],
                  labels: dict[str, str]) -> bytes:  # fmt: skip
    """A week's timetable: one row per lesson, day by day, with its status."""
    pdf = _document("Emploi du temps")
    _line(pdf, f"Emploi du temps de {name} {class_name}".strip(), bold=True)
    _line(pdf, f"Semaine du {monday:%d/%m/%Y}")
    pdf.ln(3)
    widths = (26, 22, 58, 40, 18, 26)
    _row(pdf, widths, ["Jour", "Horaire", "Matière", "Professeur", "Salle", "Statut"], bold=True)
    for lesson in sorted(lessons, key=lambda item: item.start):
        _row(pdf, widths, [
            f"{_DAYS[lesson.start.weekday()]} {lesson.start:%d/%m}",
            f"{lesson.start:%Hh%M}-{lesson.end:%Hh%M}",
            labels.get(lesson.subject_id, lesson.subject_id),
            labels.get(lesson.teacher_id, ""), labels.get(lesson.room_id, ""), lesson.status,
        ])  # fmt: skip
    return bytes(pdf.output())


def attachment_pdf(attachment: Attachment, school_name: str) -> bytes:
    pdf = _document(attachment.name)
    _line(pdf, school_name, bold=True)
    _line(pdf, attachment.name.removesuffix(".pdf"))
    pdf.ln(4)
    for number in range(1, 6):
        _line(pdf, f"Exercice {number} : lisez le document et répondez aux questions.")
    return bytes(pdf.output())


def _document(title: str) -> FPDF:
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_title(_latin(title))
    pdf.set_author("PRONOTE - Simulation")
    pdf.set_creation_date(datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC))  # same bytes
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    return pdf


def _row(pdf: FPDF, widths: tuple[int, ...], cells: list[str], bold: bool = False) -> None:
    """One table row of single-line cells (text that does not fit is cut by the cell): plain
    cells cost a tenth of fpdf2's wrapping tables, and a report card is made per download."""
    pdf.set_font("Helvetica", style="B" if bold else "", size=7)
    for width, text in zip(widths, cells, strict=True):
        text = _latin(text)
        while text and pdf.get_string_width(text) > width - 2:
            text = text[:-1]
        pdf.cell(width, 5, text, border=1)
    pdf.ln(5)


def _line(pdf: FPDF, text: str, bold: bool = False) -> None:
    """A line of text; wrapped (multi_cell, ten times dearer) only when it is too long."""
    pdf.set_font("Helvetica", style="B" if bold else "", size=12 if bold else 10)
    text = _latin(text)
    if pdf.get_string_width(text) < pdf.epw:
        pdf.cell(0, 6, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    else:
        pdf.multi_cell(0, 6, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _mark(value: float | None) -> str:
    return "Abs" if value is None else f"{value:.2f}".replace(".", ",")


def _latin(text: str) -> str:
    """The core PDF fonts are Latin-1: keep what fits (French accents do), replace the rest."""
    text = text.replace("Œ", "OE").replace("œ", "oe").replace("’", "'")
    return text.encode("latin-1", "replace").decode("latin-1")
