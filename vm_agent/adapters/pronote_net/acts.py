"""What users mark (docs/pronote-net/news-and-homework.md): SaisieActualites (an information
read or unread, a survey's answers) and SaisieTAFFaitEleve (a homework done or not), per
user, saved with the school's state before the answer goes out."""

from __future__ import annotations

from typing import Any

from vm_agent.adapters.pronote_net import formats
from vm_agent.adapters.pronote_net.calls import Call
from vm_agent.adapters.pronote_net.envelope import invalid
from vm_agent.domain.school_data import Student


def news_acts(call: Call) -> dict[str, Any]:
    """pronotepy `Information.mark_as_read` (dataClasses.py:1131-1148) and pawnote
    `newsRead`/`newsSurveySend` (src/api/private/news-remote-mutate.ts:17-70)."""
    me = call.me
    items = call.data.get("listeActualites")
    if me is None or not isinstance(items, list) or not items:
        raise invalid("SaisieActualites needs listeActualites: [{N, lue, ...}]")
    known = {n.id: n for n in call.school.news_for(me) if n.created_at <= call.now}
    activity = call.base.activity
    for item in items:
        news_id = item.get("N") if isinstance(item, dict) else None
        news = known.get(str(news_id))
        if news is None or not isinstance(item, dict):
            raise invalid(f"no news {news_id!r} for you: reload the news and try again")
        if item.get("supprimee") is True:
            continue  # hiding an item is the client's business: nothing to keep
        if "lue" in item:
            activity.mark_news(me.id, news.id, item.get("lue") is not False)
        questions = item.get("listeQuestions")
        for question in questions if isinstance(questions, list) else []:
            choices = _choices(question)
            if news.is_survey and choices is not None:
                activity.answer_survey(me.id, news.id, choices)
    call.saved()
    return {}


def _choices(question: Any) -> list[int] | None:
    """The choice numbers of a survey answer `{"reponse": {"valeurReponse": {"V": "[1,3]"}}}`."""
    if not isinstance(question, dict):
        return None
    answer = question.get("reponse")
    value = answer.get("valeurReponse") if isinstance(answer, dict) else None
    if not isinstance(value, dict):
        return None
    return formats.parse_weeks(value)  # the same domain notation: "[1..3]", "[2]"


def homework_done(call: Call) -> dict[str, Any]:
    """pronotepy `Homework.set_done` (dataClasses.py:1009-1018), pawnote `assignmentStatus`
    (src/api/assignment-status.ts:5-20): only the student ticks; a parent is refused."""
    me = call.me
    if not isinstance(me, Student):
        raise invalid("only the student can tick a homework done (Espace Élèves)")
    items = call.data.get("listeTAF")
    if not isinstance(items, list) or not items:
        raise invalid("SaisieTAFFaitEleve needs listeTAF: [{N, TAFFait}]")
    mine = {h.id for h in call.school.homework if h.class_id == me.class_id}
    changes = []
    for item in items:
        homework_id = str(item.get("N")) if isinstance(item, dict) else ""
        if homework_id not in mine:
            raise invalid(f"no homework {homework_id!r} for your class: reload the list")
        changes.append((homework_id, item.get("TAFFait") is True))
    for homework_id, done in changes:
        call.base.activity.mark_homework(me.id, homework_id, done)
    call.saved()
    return {}
