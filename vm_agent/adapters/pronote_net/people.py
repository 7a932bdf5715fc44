"""People: `PageInfosPerso` (onglets 49 and 16: contact details and the iCal link),
`PageEquipePedagogique` (37: the teaching staff) and `FicheEleve` (105: a student's identity
and guardians, vie scolaire). Spec: docs/pronote-net/people.md."""

from __future__ import annotations

from typing import Any

from vm_agent.adapters.pronote_net import formats
from vm_agent.adapters.pronote_net.calls import Call
from vm_agent.adapters.pronote_net.envelope import BAD_REQUEST, CallError
from vm_agent.domain import ical_tokens
from vm_agent.domain.publication import Espace
from vm_agent.domain.school_data import Person, PersonKind, Responsable, SchoolData, Student
from vm_agent.domain.synthetic_contacts import contact_of, parents_of, relation

ICAL_PARAM = "266f3d32"  # the `param` pawnote always sends (src/api/helpers/ical.ts:12)


def personal_details(call: Call) -> dict[str, Any]:
    """The user's own details, or a child's when `Signature.ressource` names one (pronotepy
    `ClientInfo._cache`, dataClasses.py:1551-1559); the iCal link of the timetable shown."""
    me = call.me
    who = _named(call, me) or me
    # securisation.mode 1: no double authentication (pawnote DoubleAuthMode.MGDA_Inactive);
    # pronotepy's qrcode_login then logs in again with the new token (clients.py:224-240).
    reply: dict[str, Any] = {
        "Informations": _informations(call.school, who),
        "securisation": {"mode": 1},
    }
    timetable_of = call.student() or me
    if timetable_of is not None:
        token = ical_tokens.token(call.base, timetable_of.id)
        reply["iCal"] = {"liste": formats.wrapped([{"paramICal": token, "paramSuppl": ICAL_PARAM}])}
    return reply


def _named(call: Call, me: Person | None) -> Person | None:
    ref = call.signature.get("ressource")
    wanted = ref.get("N") if isinstance(ref, dict) else None
    if me is None or wanted is None or wanted == me.id:
        return None
    if isinstance(me, Responsable) and wanted in me.child_ids:
        return call.school.person_by_id(str(wanted))
    raise CallError(BAD_REQUEST, "Accès refusé", "these details are not yours")


def _informations(school: SchoolData, person: Person | None) -> dict[str, Any]:
    keys = ["adresse1", "adresse2", "adresse3", "adresse4", "codePostal", "ville", "province",
            "pays", "eMail", "indicatifTel", "telephonePortable", "numeroINE"]  # fmt: skip
    if person is None:
        return dict.fromkeys(keys, "")
    contact = contact_of(school, person)
    a1, a2, a3, a4 = contact.address
    return {
        "adresse1": a1,
        "adresse2": a2,
        "adresse3": a3,
        "adresse4": a4,
        "codePostal": contact.postal_code,
        "ville": contact.city,
        "province": contact.province,
        "pays": contact.country,
        "eMail": contact.email,
        "indicatifTel": "33",
        "telephonePortable": contact.mobile_digits,
        "numeroINE": contact.ine,
    }


def teaching_staff(call: Call) -> dict[str, Any]:
    """The teachers of the student's class and groups with their subjects and weekly hours,
    then the vie scolaire (pronotepy `TeachingStaff`, dataClasses.py:2143-2200)."""
    school = call.school
    student = call.student()
    hours: dict[tuple[str, str], int] = {}
    for slot in school.timetable:
        mine = student is None or (
            slot.group_id in student.group_ids
            if slot.group_id
            else slot.class_id == student.class_id
        )
        if mine:
            hours[(slot.teacher_id, slot.subject_id)] = (
                hours.get((slot.teacher_id, slot.subject_id), 0) + 1
            )
    subjects = {s.id: s.name for s in school.subjects}
    rows: list[dict[str, Any]] = []
    for teacher in school.teachers:
        taught = [(s, h) for (t, s), h in hours.items() if t == teacher.id]
        if not taught:
            continue
        rows.append(
            {
                "N": teacher.id,
                "L": teacher.display_name,
                "P": len(rows) + 1,
                "G": 3,
                "matieres": formats.wrapped(
                    [
                        {"N": s, "L": subjects.get(s, s), "volumeHoraire": f"{h}h00"}
                        for s, h in taught
                    ]
                ),
            }
        )
    for person in school.people_of(PersonKind.VIE_SCOLAIRE):
        if person.login.startswith("cpe."):
            rows.append(
                {"N": person.id, "L": person.display_name, "P": len(rows) + 1, "G": 34,
                 "fonction": formats.wrapped({"L": "CPE"}), "matieres": formats.wrapped([])}
            )  # fmt: skip
    return {"liste": formats.wrapped(rows)}


def student_file(call: Call) -> dict[str, Any]:
    """FicheEleve (vie scolaire espace): `Eleve.N`'s identity and guardians (pronotepy
    `Student.identity`/`guardians`, dataClasses.py:1840-1870)."""
    if call.session.espace not in (Espace.VIE_SCOLAIRE, Espace.PROFESSEUR):
        raise CallError(BAD_REQUEST, "Accès refusé", "FicheEleve is for the vie scolaire espace")
    ref = call.data.get("Eleve")
    school = call.school
    student = school.person_by_id(str(ref.get("N"))) if isinstance(ref, dict) else None
    if not isinstance(student, Student):
        raise CallError(BAD_REQUEST, "Élève inconnu", "give Eleve.N, a student of the school")
    identity = _identity(school, student)
    if student.birth_date is not None:
        identity["dateNaiss"] = student.birth_date.strftime("%d/%m/%Y")
    identity["villeNaiss"] = identity["ville"]
    guardians = []
    for parent in parents_of(school, student.id):
        guardians.append(
            {
                **_identity(school, parent),
                "N": parent.id,
                "nom": parent.display_name,
                "autoriseEmail": True,
                "autoriseRecupererEnfant": True,
                "contactUrgence": True,
                "lienParente": relation(school, parent, student.id),
                "niveauResponsabilite": "LEGAL",
            }
        )
    return {"Identite": formats.wrapped(identity), "Responsables": formats.wrapped(guardians)}


def _identity(school: SchoolData, person: Person) -> dict[str, Any]:
    contact = contact_of(school, person)
    a1, a2, a3, a4 = contact.address
    lines = {f"adresse{n + 1}": line for n, line in enumerate([a1, a2, a3, a4]) if line}
    return {
        "nom": person.last_name,
        "prenom": person.first_name,
        **lines,
        "CP": contact.postal_code,
        "ville": contact.city,
        "pays": contact.country,
        "email": contact.email,
        "telPort": contact.mobile,
    }
