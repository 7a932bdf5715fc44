"""News and surveys (onglet 8), discussions and their messages (131), keep-alive, personal
details and class lists (spec §5.4-5.7, §6)."""

from __future__ import annotations

import datetime
import html
from typing import Any

from vm_agent.adapters.pronote_net import formats
from vm_agent.adapters.pronote_net.calls import Call
from vm_agent.domain.school_data import NewsItem


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
        "lue": me is not None and call.base.activity.has_read(me.id, item.id),
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
        "listeQuestions": formats.wrapped([_answered(call, item, _question(item))]),
    }


def _answered(call: Call, item: NewsItem, question: dict[str, Any]) -> dict[str, Any]:
    """The survey question with the caller's recorded answer (SaisieActualites), if any."""
    me = call.me
    answers = call.base.activity.answers(me.id, item.id) if me is not None else None
    if answers is not None:
        domain = "[" + ",".join(str(a) for a in answers) + "]"
        question["reponse"]["V"].update(avecReponse=True, valeurReponse={"_T": 8, "V": domain})
    return question


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


def nothing(call: Call) -> dict[str, Any]:
    """Navigation and Presence: keep-alive, nothing to say."""
    return {}


def personal_details(call: Call) -> dict[str, Any]:
    keys = ["adresse1", "adresse2", "adresse3", "adresse4", "codePostal", "ville", "province",
            "pays", "eMail", "indicatifTel", "telephonePortable", "numeroINE"]  # fmt: skip
    # securisation.mode 1: no double authentication (pawnote DoubleAuthMode.MGDA_Inactive);
    # pronotepy's qrcode_login then logs in again with the new token (clients.py:224-240).
    return {"Informations": dict.fromkeys(keys, ""), "securisation": {"mode": 1}}


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
