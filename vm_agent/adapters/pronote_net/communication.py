"""News and surveys (onglet 8), discussions and their messages (131), keep-alive, personal
details and class lists (spec §5.4-5.7, §6)."""

from __future__ import annotations

import datetime
import html
from typing import Any

from vm_agent.adapters.pronote_net import formats
from vm_agent.adapters.pronote_net.calls import Call
from vm_agent.domain.school_data import Discussion, NewsItem

LABELS = [{"N": "ET_R", "G": 1, "L": "Reçus"}, {"N": "ET_T", "G": 5, "L": "Corbeille"}]


def news(call: Call) -> dict[str, Any]:
    items = _news_for(call)
    detail = call.data.get("actualite")
    if isinstance(detail, dict):  # Information.content(): the questions of one item
        item = next((i for i in items if i.id == detail.get("N")), None)
        questions = [_question(item)] if item is not None else []
        return {"detailsActualite": {"listeQuestions": formats.wrapped(questions)}}
    categories = sorted({i.category for i in items})
    return {
        "listeCategories": formats.wrapped(
            [{"N": _category_id(c), "L": c, "estDefaut": n == 0} for n, c in enumerate(categories)]
        ),
        "listeModesAff": [
            {"G": 0, "listeActualites": formats.wrapped([_news_item(call, i) for i in items])}
        ],
    }


def _news_for(call: Call) -> list[NewsItem]:
    """The news of the user's audience written by the school's now."""
    me = call.me
    items = call.school.news_for(me) if me is not None else []
    return [item for item in items if item.created_at <= call.now]


def _discussions_for(call: Call) -> list[Discussion]:
    """The user's discussions with the messages sent by the school's now."""
    me = call.me
    items = call.school.discussions_for(me.id) if me is not None else []
    return [d for d in (item.as_of(call.now) for item in items) if d is not None]


def _news_item(call: Call, item: NewsItem) -> dict[str, Any]:
    me = call.me
    start = datetime.datetime.combine(item.date, datetime.time())
    category = {"N": _category_id(item.category), "L": item.category}
    return {
        "N": item.id,
        "L": item.title,
        "estInformation": not item.is_survey,
        "estSondage": item.is_survey,
        "auteur": item.author,
        "lue": False,
        "reponseAnonyme": False,
        "estModele": False,
        "dateCreation": formats.moment(item.created_at),
        "dateDebut": formats.moment(start),
        "dateFin": formats.moment(start + datetime.timedelta(days=30)),
        "nature": formats.wrapped(category),
        "categorie": formats.wrapped(category),
        "public": formats.wrapped(
            {"N": me.id if me else "", "G": 4, "L": me.display_name if me else ""}
        ),
        "listeQuestions": formats.wrapped([_question(item)]),
    }


def _question(item: NewsItem) -> dict[str, Any]:
    text = item.question if item.is_survey and item.question else item.content
    return {
        "N": f"Q-{item.id}",
        "L": item.title,
        "titre": item.title,
        "rang": 1,
        "genreReponse": 2 if item.is_survey else 0,
        "texte": formats.wrapped(f"<p>{html.escape(text)}</p>", 21),
        "listePiecesJointes": formats.wrapped([]),
        "reponse": formats.wrapped(
            {"N": f"R-{item.id}", "avecReponse": False, "estReponseAttendue": item.is_survey}
        ),
        "listeChoix": formats.wrapped(
            [{"N": str(n + 1), "L": c, "rang": n + 1} for n, c in enumerate(item.choices)]
        ),
    }


def _category_id(category: str) -> str:
    return f"K-{sum(category.encode()) % 10_000}"


def discussions(call: Call) -> dict[str, Any]:
    items = _discussions_for(call)
    return {
        "listeEtiquettes": formats.wrapped(LABELS),
        "listeMessagerie": formats.wrapped([_discussion(d) for d in items]),
    }


def _discussion(discussion: Discussion) -> dict[str, Any]:
    first = discussion.messages[0] if discussion.messages else None
    last = discussion.messages[-1] if discussion.messages else None
    return {
        "N": discussion.id,
        "estUneDiscussion": True,
        "profondeur": 0,
        "objet": discussion.subject,
        "initiateur": first.author if first else "",
        "nbNonLus": 0,
        "ferme": False,
        "libelleDate": last.sent_at.strftime("%d/%m/%Y") if last else "",
        "messagePourParticipants": formats.wrapped({"N": f"MP-{discussion.id}"}),
        "listePossessionsMessages": formats.wrapped([{"N": f"PM-{discussion.id}"}]),
        "listeEtiquettes": formats.wrapped([]),
    }


def messages(call: Call) -> dict[str, Any]:
    me = call.me
    wanted = call.data.get("listePossessionsMessages")
    keys = (
        {p.get("N") for p in wanted if isinstance(p, dict)} if isinstance(wanted, list) else set()
    )
    items = _discussions_for(call)
    found = [d for d in items if f"PM-{d.id}" in keys]
    rows = []
    for discussion in found:
        for n, message in enumerate(discussion.messages):
            mine = me is not None and message.author == me.display_name
            row: dict[str, Any] = {
                "N": f"M-{discussion.id}-{n}",
                "possessionMessage": formats.wrapped({"N": f"PM-{discussion.id}"}),
                "emetteur": mine,
                "public_gauche": message.author,
                "lu": True,
                "date": formats.moment(message.sent_at),
                "estHTML": True,
                "contenu": formats.wrapped(f"<p>{html.escape(message.content)}</p>", 21),
                "messageSource": formats.wrapped({"N": f"M-{discussion.id}-{n}"}),
            }
            rows.append(row)
    return {"listeMessages": formats.wrapped(rows), "listeBoutons": formats.wrapped([])}


def nothing(call: Call) -> dict[str, Any]:
    """Navigation and Presence: keep-alive, nothing to say."""
    return {}


def personal_details(call: Call) -> dict[str, Any]:
    keys = ["adresse1", "adresse2", "adresse3", "adresse4", "codePostal", "ville", "province",
            "pays", "eMail", "indicatifTel", "telephonePortable", "numeroINE"]  # fmt: skip
    return {"Informations": dict.fromkeys(keys, "")}


def class_students(call: Call) -> dict[str, Any]:
    """Vie scolaire: the students of a class (ListeRessources)."""
    ref = call.data.get("classe", call.data.get("ressource"))
    class_id = ref.get("N") if isinstance(ref, dict) else None
    school = call.school
    entered = school.classes_start or school.first_monday
    rows = []
    for student in school.students:
        if student.class_id != class_id:
            continue
        row: dict[str, Any] = {
            "N": student.id,
            "G": 4,
            "L": student.display_name,
            "nom": student.last_name,
            "prenoms": student.first_name,
            "sexe": "",
            "entree": formats.date(entered),
            "listeProjets": formats.wrapped([]),
            "estSorti": False,
        }
        if student.birth_date is not None:
            row["neLe"] = formats.date(student.birth_date)
        rows.append(row)
    return {"listeRessources": formats.wrapped(rows)}
