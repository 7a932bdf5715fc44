"""The login sequence (spec §4): FonctionParametres, Identification, Authentification,
ParametresUtilisateur."""

from __future__ import annotations

import base64
import binascii
import datetime
import secrets
from typing import Any

from common.pronote_net import (
    VERSION,
    CryptoError,
    aes_decrypt,
    aes_encrypt,
    key_list,
    scramble,
    user_key,
)
from vm_agent.adapters.pronote_net import formats, mobile
from vm_agent.adapters.pronote_net.calls import Call
from vm_agent.adapters.pronote_net.envelope import BAD_REQUEST, CallError
from vm_agent.domain.errors import LicencesExhausted
from vm_agent.domain.publication import Espace
from vm_agent.domain.school_data import (
    Period,
    Responsable,
    SchoolData,
    Student,
    Teacher,
)

# Onglets the clients may call (spec §4.4): pronotepy refuses to send any other.
ONGLETS = [7, 16, 88, 89, 198, 8, 131, 49, 19, 201, 10, 13, 105, 37]
DEFAULT_HOURS = ["08h00", "09h00", "10h00", "11h00", "12h00", "13h00", "14h00", "15h00",
                 "16h00", "17h00", "18h00"]  # fmt: skip


def fonction_parametres(call: Call) -> dict[str, Any]:
    try:
        iv_temp = base64.b64decode(str(call.data.get("Uuid", "")), validate=True)
    except (binascii.Error, ValueError):
        iv_temp = b""
    if len(iv_temp) != 16:
        raise CallError(BAD_REQUEST, "Requête invalide", "Uuid must be 16 bytes in base64")
    call.state.cipher.iv_temp = iv_temp
    known = call.data.get("identifiantNav")  # a client logging in again sends it back
    navigator = known if isinstance(known, str) and 0 < len(known) <= 64 else ""
    call.session.navigator = navigator or f"SIM-{secrets.token_hex(6)}"
    school = call.school
    starts, ends = _hours(school)
    first_day = school.classes_start or school.first_monday
    last_day = _last_day(school)
    return {
        "identifiantNav": call.session.navigator,
        "General": {
            "versionPN": VERSION,
            "PremierLundi": formats.date(school.first_monday),
            "PremiereDate": formats.date(first_day),
            "DerniereDate": formats.date(last_day),
            "JourOuvre": formats.date(_next_school_day(school, call.today, first_day, last_day)),
            "ListePeriodes": [_period(p) for p in school.periods],
            "ListeHeures": formats.wrapped([{"G": i, "L": h} for i, h in enumerate(starts)]),
            "ListeHeuresFin": formats.wrapped([{"G": i, "L": h} for i, h in enumerate(ends)]),
            "PlacesParJour": len(starts),
            "DomainesFrequences": [None, {"_T": 8, "V": "[1..52]"}, {"_T": 8, "V": "[]"}],
            "LibellesFrequences": ["", "Q1", "Q2"],
            "listeJoursFeries": formats.wrapped([]),
            "NomEtablissement": call.pronote_net.school.identity.name,
        },
    }


DELEGATED_ONLY = "Connectez-vous par votre ENT : l'authentification directe est désactivée"


def identification(call: Call) -> dict[str, Any]:
    login = str(call.data.get("identifiant", ""))
    state = call.state
    mobile.read_login_kind(state, call.data)
    if state.mobile:  # a QR jeton or a device token instead of the password
        account = mobile.token_account(call, call.session.espace, login)
    else:
        account = call.pronote_net.account(call.session.espace, login)
    if account is None:  # still a challenge, so the failure shows in Authentification
        alea, state.user_key = secrets.token_hex(8), secrets.token_bytes(16)
    else:
        alea, state.user_key = account.alea, user_key(login, account.digest)
    state.account = account
    state.failure_counted = mobile.refused_qr(call, account)
    state.challenge_plain = "".join(secrets.choice("0123456789") for _ in range(16))
    cipher = state.cipher
    state.challenge_hex = aes_encrypt(
        state.user_key, cipher.iv, scramble(state.challenge_plain).encode()
    ).hex()
    return {
        "modeCompLog": 0,
        "modeCompMdp": 0,
        "alea": alea,
        "challenge": state.challenge_hex,
        "login": login,
    }


def authentification(call: Call) -> dict[str, Any]:
    state = call.state
    answer = b""
    if state.challenge_hex:
        try:
            answer = aes_decrypt(
                state.user_key, state.cipher.iv, bytes.fromhex(str(call.data.get("challenge")))
            )
        except (CryptoError, ValueError):
            answer = b""
    # pawnote and older pronotepy unscramble; pronotepy 2.15.7 echoes the challenge (§10.4).
    accepted = answer and answer in (state.challenge_plain.encode(), state.challenge_hex.encode())
    state.challenge_hex = ""  # one answer per challenge
    if not call.pronote_net.direct_login_allowed(call.session.espace):
        # Not a bad password: no failure counted. Acces 9 + a message (spec §4.3).
        return {"Acces": 9, "AccesMessage": {"message": DELEGATED_ONLY}}
    if state.account is None or not accepted:
        if not state.failure_counted:
            call.pronote_net.login_failed(call.session)
        return {"Acces": 1, "AccesMessage": {"message": "Identifiant ou mot de passe incorrect"}}
    try:
        call.pronote_net.logged_in(call.session, state.account.user)
    except LicencesExhausted as refusal:  # Acces 9 + message: pawnote AuthenticateError
        return {"Acces": 9, "AccesMessage": {"message": str(refusal)}}
    session_key = secrets.token_bytes(16)
    cle = aes_encrypt(state.user_key, state.cipher.iv, key_list(session_key).encode()).hex()
    state.pending_key = session_key
    state.authenticated = True
    return {
        "cle": cle,
        "libelleUtil": state.account.user.display_name,
        "derniereConnexion": formats.moment(call.now.replace(microsecond=0)),
        **mobile.next_token(call, state.account.user),
    }


def parametres_utilisateur(call: Call) -> dict[str, Any]:
    school, me = call.school, call.me
    espace = call.session.espace
    user = call.state.account.user if call.state.account else None
    name = me.display_name if me else (user.display_name if user else "")
    ressource: dict[str, Any] = {
        "N": me.id if me else f"U-{call.session.login}",
        "G": _RESOURCE_GENRES[espace],
        "P": 1,
        "L": name,
        "Etablissement": formats.wrapped({"N": "ET1", "L": call.pronote_net.school.identity.name}),
        "avecPhoto": False,
        "listeOngletsPourPeriodes": _period_tabs(school, call.today),
    }
    if isinstance(me, Student):
        ressource.update(_student_fields(school, me))
    if isinstance(me, Responsable):
        children = [school.person_by_id(i) for i in me.child_ids]
        ressource["listeRessources"] = [
            _student_resource(call, child) for child in children if isinstance(child, Student)
        ]
    reply: dict[str, Any] = {
        "ressource": ressource,
        "listeOnglets": [{"G": 7, "Onglet": [{"G": g} for g in ONGLETS]}],
        "autorisations": {"AvecDiscussion": True, "AvecDiscussionProfesseurs": True},
    }
    if espace is Espace.VIE_SCOLAIRE or isinstance(me, Teacher):
        reply["listeClasses"] = formats.wrapped(
            [
                {"N": c.id, "L": c.name, "estResponsable": False, "niveau": {"V": {"L": c.level}}}
                for c in school.classes
            ]
        )
    return reply


_RESOURCE_GENRES = {
    Espace.ELEVE: 4,
    Espace.PARENT: 3,
    Espace.PROFESSEUR: 3,
    Espace.VIE_SCOLAIRE: 34,
}


def _student_resource(call: Call, student: Student) -> dict[str, Any]:
    return {
        "N": student.id,
        "G": 4,
        "P": 1,
        "L": student.display_name,
        "Etablissement": formats.wrapped({"N": "ET1", "L": call.pronote_net.school.identity.name}),
        "avecPhoto": False,
        "listeOngletsPourPeriodes": _period_tabs(call.school, call.today),
        **_student_fields(call.school, student),
    }


def _student_fields(school: SchoolData, student: Student) -> dict[str, Any]:
    names = {c.id: c.name for c in school.classes}
    return {"classeDEleve": {"N": student.class_id, "L": names.get(student.class_id, "")}}


def _period(period: Period) -> dict[str, Any]:
    return {
        "N": period.id,
        "G": 2,
        "L": period.name,
        "dateDebut": formats.date(period.start),
        "dateFin": formats.date(period.end),
    }


def current_period(school: SchoolData, today: datetime.date) -> Period | None:
    """The period of `today`; before the year the first one, after it the last one."""
    if not school.periods:
        return None
    for period in school.periods:
        if period.start <= today <= period.end:
            return period
    return school.periods[-1] if today > school.periods[-1].end else school.periods[0]


def _period_tabs(school: SchoolData, today: datetime.date) -> dict[str, Any]:
    periods = [{"N": p.id, "L": p.name, "G": 2} for p in school.periods]
    tabs = []
    for onglet in (198, 201, 19):  # grades, évaluations, vie scolaire (pawnote's tabs)
        tab: dict[str, Any] = {"G": onglet, "listePeriodes": formats.wrapped(periods)}
        default = current_period(school, today)
        if default is not None:
            tab["periodeParDefaut"] = formats.wrapped({"N": default.id, "L": default.name})
        tabs.append(tab)
    return formats.wrapped(tabs)


def _hours(school: SchoolData) -> tuple[list[str], list[str]]:
    starts = sorted({slot.start for slot in school.timetable})
    ends = sorted({slot.end for slot in school.timetable})
    if not starts:
        return DEFAULT_HOURS, [*DEFAULT_HOURS[1:], "19h00"]
    fmt = "%Hh%M"
    ends = (ends + ends[-1:] * len(starts))[: len(starts)]
    return [t.strftime(fmt) for t in starts], [t.strftime(fmt) for t in ends]


def _next_school_day(
    school: SchoolData, today: datetime.date, first_day: datetime.date, last_day: datetime.date
) -> datetime.date:
    """pawnote's `nextBusinessDay`: today if it has classes, else the next day that does
    (within the year's first and last days)."""
    day = min(max(today, first_day), last_day)
    while not school.is_school_day(day) and day < last_day:
        day += datetime.timedelta(days=1)
    return day


def _last_day(school: SchoolData) -> datetime.date:
    if school.classes_end is not None:
        return school.classes_end - datetime.timedelta(days=1)
    if school.periods:
        return school.periods[-1].end
    return school.first_monday + datetime.timedelta(days=300)
