"""PagePresence (onglet 19): a student's absences, retards, punitions and sanctions between
DateDebut and DateFin, those that have happened by the school's now.

One list, `listeAbsences`, told apart by `G`: 13 absence, 14 retard, 41 punition, 42 sanction
(pronotepy dataClasses.py:596-640 keeps 13, 14 and 41; pawnote src/decoders/notebook.ts:21-39
keeps 13, 14, 41, 46 and 72; neither reads 42). What each reads:
docs/pronote-net/functions.md, "PagePresence".
"""

from __future__ import annotations

import datetime
from typing import Any

from vm_agent.adapters.pronote_net import formats
from vm_agent.adapters.pronote_net.calls import Call
from vm_agent.domain.school_data import SchoolData
from vm_agent.domain.vie_scolaire import Absence, Delay, Punishment

ABSENCE, DELAY, PUNITION, SANCTION = 13, 14, 41, 42


def presence(call: Call) -> dict[str, Any]:
    student = call.student()
    items: list[dict[str, Any]] = []
    if student is not None:
        start, end = _window(call)
        absences, delays, punishments = call.school.vie_scolaire.of(student.id)
        items.extend(_absence(a) for a in absences if start <= a.start <= end)
        items.extend(_delay(d) for d in delays if start <= d.at <= end)
        starts = _lesson_starts(call.school)
        items.extend(_punishment(p, starts) for p in punishments if start <= p.given_at <= end)
    return {"listeAbsences": formats.wrapped(items), "Matieres": formats.wrapped([])}


def _window(call: Call) -> tuple[datetime.datetime, datetime.datetime]:
    """[DateDebut, DateFin] (whole days; else the asked period, else the year), up to now."""
    period_ref = call.data.get("periode")
    period_id = period_ref.get("N") if isinstance(period_ref, dict) else None
    period = next((p for p in call.school.periods if p.id == period_id), None)
    first = formats.parse_date(call.data.get("DateDebut")) or (period.start if period else None)
    last = formats.parse_date(call.data.get("DateFin")) or (period.end if period else None)
    start = datetime.datetime.combine(first or datetime.date.min, datetime.time())
    end = datetime.datetime.combine(last or datetime.date.max, datetime.time.max)
    return start, min(end, call.now)


def _lesson_starts(school: SchoolData) -> list[datetime.time]:
    """FonctionParametres' ListeHeures: a punition's `placeDemande` indexes it."""
    return sorted({slot.start for slot in school.timetable})


def _reasons(reason: str) -> dict[str, Any]:
    return formats.wrapped([{"N": f"MO-{sum(reason.encode())}", "L": reason}] if reason else [])


def _absence(absence: Absence) -> dict[str, Any]:
    hours, minutes = divmod(absence.minutes, 60)
    return {
        "N": absence.id,
        "G": ABSENCE,
        "dateDebut": formats.moment(absence.start),
        "dateFin": formats.moment(absence.end),
        "justifie": absence.justified,
        "ouverte": False,
        "NbrHeures": f"{hours}h{minutes:02d}",
        "NbrJours": (absence.half_days + 1) // 2,
        "nbrDemiJournees": absence.half_days,
        "aJustifierParParents": not absence.justified,
        "reglee": absence.justified,
        "estMotifNonEncoreConnu": not absence.reason,
        "listeMotifs": _reasons(absence.reason),
    }


def _delay(delay: Delay) -> dict[str, Any]:
    return {
        "N": delay.id,
        "G": DELAY,
        "date": formats.moment(delay.at),
        "duree": delay.minutes,
        "justifie": delay.justified,
        "justification": delay.reason if delay.justified else "",
        "aJustifierParParents": not delay.justified,
        "reglee": delay.justified,
        "estMotifNonEncoreConnu": not delay.reason,
        "listeMotifs": _reasons(delay.reason),
    }


def _punishment(punishment: Punishment, starts: list[datetime.time]) -> dict[str, Any]:
    lesson_time = punishment.given_at.time()
    during_lesson = not punishment.is_sanction and lesson_time in starts
    item: dict[str, Any] = {
        "N": punishment.id,
        "G": SANCTION if punishment.is_sanction else PUNITION,
        "dateDemande": formats.date(punishment.given_at.date()),
        "horsCours": not during_lesson,
        "estUneExclusion": punishment.is_exclusion,
        "travailAFaire": punishment.work,
        "documentsTAF": formats.wrapped([]),
        "circonstances": punishment.circumstances,
        "documentsCirconstances": formats.wrapped([]),
        "nature": formats.wrapped(
            {
                "N": f"NA-{sum(punishment.nature.encode())}",
                "L": punishment.nature,
                "estAvecARParent": punishment.is_sanction,
            }
        ),
        "listeMotifs": _reasons(punishment.reason),
        "demandeur": formats.wrapped(
            {"N": punishment.giver_id, "L": punishment.giver_name, "G": 3}
        ),
        "estProgrammable": punishment.scheduled_on is not None,
        "programmation": formats.wrapped(
            [
                {
                    "N": f"{punishment.id}-1",
                    "date": formats.date(punishment.scheduled_on),
                    "duree": punishment.duration_minutes,
                }
            ]
            if punishment.scheduled_on is not None
            else []
        ),
    }
    if during_lesson:
        item["placeDemande"] = starts.index(lesson_time)
    if punishment.duration_minutes:
        item["duree"] = punishment.duration_minutes
    return item
