"""What users do in the apps, with the real pronotepy and pawnote on a real socket: reply to a
discussion and the teacher's espace sees it, start one with a recipient from get_recipients,
mark a news read, tick homework done (refused for a parent); each saved with the school."""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pronotepy
import pytest

from tests.integration.harness import free_pool
from tests.integration.pronote_net_helpers import (
    NOW,
    Espaces,
    pawnote_dir,
    run_acts,
    serve_espaces,
)
from vm_agent.domain.school_data import PersonKind, Student

TODAY = NOW.date()


@pytest.fixture
def espaces() -> Iterator[Espaces]:
    block = ipaddress.ip_network(free_pool(first_octets="127.131"))
    with serve_espaces(str(block[1]), maxretry=3) as served:
        yield served


def login(espaces: Espaces, kind: str) -> pronotepy.Client:
    user = espaces.login_of(kind)
    page, cls = {
        "eleve.": ("eleve.html", pronotepy.Client),
        "parent.": ("parent.html", pronotepy.ParentClient),
    }.get(kind, ("professeur.html", pronotepy.Client))
    client: pronotepy.Client = cls(espaces.url(page), user, espaces.passwords[user])
    assert client.logged_in
    return client


def teacher_login(espaces: Espaces, student_login: str) -> pronotepy.Client:
    """A teacher of the student's class, given a password (the sample teacher may not be)."""
    data = espaces.data
    student = data.person(student_login)
    assert isinstance(student, Student)
    return login_as(espaces, "professeur.html", pronotepy.Client, data.teachers[0].login)


def login_as(espaces: Espaces, page: str, cls: type, user: str) -> pronotepy.Client:
    if user not in espaces.passwords:
        espaces.passwords[user] = f"pw-{user}"
        espaces.school.issue_password(user, espaces.passwords[user])
    client: pronotepy.Client = cls(espaces.url(page), user, espaces.passwords[user])
    assert client.logged_in
    return client


def test_every_sample_account_has_a_discussion_and_most_families_do(espaces: Espaces) -> None:
    data = espaces.data
    for user in espaces.passwords:
        person = data.person(user)
        assert person is not None and data.discussions_for(person.id), user
    talking = {i for d in data.discussions for i in d.participant_ids}
    students = sum(1 for s in data.students if s.id in talking) / len(data.students)
    parents = sum(1 for r in data.responsables if r.id in talking) / len(data.responsables)
    assert students > 0.5 and parents > 0.5, (students, parents)


def test_a_student_replies_and_the_teacher_s_espace_sees_it(espaces: Espaces) -> None:
    student = login(espaces, "eleve.")
    me = espaces.data.person(student.username)
    assert me is not None
    discussion = next(
        d for d in student.discussions()
        if any(p.kind is PersonKind.PROFESSEUR
               for i in espaces.data.discussions_for(me.id) if i.subject == d.subject
               for p in map(espaces.data.person_by_id, i.participant_ids) if p)
    )  # fmt: skip
    text = "Bonjour, je rends le devoir demain."
    discussion.reply(text)
    assert any(m.content == text and m.author is None for m in discussion.messages)
    synthetic = next(
        d for d in espaces.data.discussions_for(me.id) if d.subject == discussion.subject
    )
    teacher_id = next(
        i for i in synthetic.participant_ids
        if (p := espaces.data.person_by_id(i)) and p.kind is PersonKind.PROFESSEUR
    )  # fmt: skip
    teacher_person = espaces.data.person_by_id(teacher_id)
    assert teacher_person is not None
    teacher = login_as(espaces, "professeur.html", pronotepy.Client, teacher_person.login)
    seen = next(d for d in teacher.discussions() if d.subject == discussion.subject)
    assert seen.unread >= 1
    reply = [m for m in seen.messages if m.content == text]
    assert len(reply) == 1 and reply[0].author == me.display_name
    assert me.display_name in seen.participants()
    assert [d.subject for d in teacher.discussions(only_unread=True)].count(seen.subject) == 1
    seen.mark_as(True)
    assert seen.subject not in [d.subject for d in teacher.discussions(only_unread=True)]
    seen.delete()  # into the bin
    binned = next(d for d in teacher.discussions() if d.subject == seen.subject)
    assert binned.labels == ["Trash"]


def test_a_parent_starts_a_discussion_with_a_recipient_from_get_recipients(
    espaces: Espaces,
) -> None:
    parent = login(espaces, "parent.")
    recipients = parent.get_recipients()
    teachers = [r for r in recipients if r.type == "teacher"]
    staff = [r for r in recipients if r.type == "staff"]
    assert teachers and staff and all(r.with_discussion for r in recipients)
    assert all(r.functions for r in teachers)  # the subjects they teach the child
    parent.new_discussion("Absence vendredi", "Bonjour, notre enfant sera absent.", [teachers[0]])
    started = next(d for d in parent.discussions() if d.subject == "Absence vendredi")
    assert [m.content for m in started.messages] == ["Bonjour, notre enfant sera absent."]
    recipient = espaces.data.person_by_id(teachers[0].id)
    assert recipient is not None
    teacher = login_as(espaces, "professeur.html", pronotepy.Client, recipient.login)
    theirs = next(d for d in teacher.discussions() if d.subject == "Absence vendredi")
    assert theirs.unread == 1 and theirs.creator == parent.info.name
    outsider = next(t for t in espaces.data.teachers if t.id not in {r.id for r in teachers})
    with pytest.raises(pronotepy.PronoteAPIError):  # Requête invalide: not a recipient of theirs
        parent.post("SaisieMessage", 131, {"objet": "x", "contenu": "y",
                    "listeDestinataires": [{"N": outsider.id, "G": 3}]})  # fmt: skip


def test_a_news_read_and_a_homework_done_stay_so_and_a_parent_cannot_tick(
    espaces: Espaces,
) -> None:
    student = login(espaces, "eleve.")
    news = [n for n in student.information_and_surveys() if not n.survey]
    assert news and not any(n.read for n in news)
    news[0].mark_as_read(True)
    monday = TODAY - datetime.timedelta(days=TODAY.weekday())
    homework = student.homework(monday, monday + datetime.timedelta(days=13))
    assert homework and not any(h.done for h in homework)
    homework[0].set_done(True)

    again = login(espaces, "eleve.")  # the next login
    read = {n.id for n in again.information_and_surveys() if n.read}
    assert read == {news[0].id}
    done = {h.id for h in again.homework(monday, monday + datetime.timedelta(days=13)) if h.done}
    assert done == {homework[0].id}

    parent = login(espaces, "parent.")
    theirs = parent.homework(monday, monday + datetime.timedelta(days=13))
    target = next(h for h in theirs if h.id == homework[1].id)
    with pytest.raises(pronotepy.PronoteAPIError):
        target.set_done(True)
    assert {
        h.id for h in again.homework(monday, monday + datetime.timedelta(days=13)) if h.done
    } == done


def test_pawnote_replies_marks_a_news_read_ticks_homework_and_reads_the_home_page(
    espaces: Espaces, tmp_path: Path
) -> None:
    modules = pawnote_dir(tmp_path)
    user = espaces.login_of("eleve.")
    me = espaces.data.person(user)
    assert isinstance(me, Student)
    result = run_acts(modules, url=espaces.url(""), kind="STUDENT", username=user,
                      password=espaces.passwords[user], deviceUUID="acts", text="Merci !",
                      week=espaces.data.week_of(TODAY),
                      steps=["homepage", "reply", "newsRead", "assignmentDone"])  # fmt: skip
    assert "error" not in result, result
    assert result["homepage"] == {"links": 0}
    assert {"content": "<p>Merci !</p>", "mine": True} in result["messages"]  # estHTML
    activity = espaces.school.base_in_service.activity  # type: ignore[union-attr]
    assert activity.has_read(me.id, result["newsRead"])
    assert activity.is_done(me.id, result["assignmentDone"])
    survey = next(n for n in espaces.data.news_for(me) if n.is_survey)
    espaces.clock.advance((survey.created_at - NOW.replace(tzinfo=None)).total_seconds() + 3600)
    answered = run_acts(modules, url=espaces.url(""), kind="STUDENT", username=user,
                        password=espaces.passwords[user], deviceUUID="acts",
                        steps=["surveyAnswer"])  # fmt: skip
    assert answered["survey"] == {"id": answered["survey"]["id"], "answered": True,
                                  "selected": [2], "read": True}  # fmt: skip
    assert activity.answers(me.id, answered["survey"]["id"]) == [2]
    again = run_acts(modules, url=espaces.url(""), kind="STUDENT", username=user,
                     password=espaces.passwords[user], deviceUUID="acts",
                     steps=["discussions"])  # fmt: skip
    assert "error" not in again, again


BAD_CALLS = [
    ("SaisieMessage", 131, {"commande": "brouillon"}),
    (
        "SaisieMessage",
        131,
        {
            "commande": "brouillon",
            "brouillon": {"N": "BR404"},
            "messagePourReponse": {"N": "M-DI1-0"},
            "contenu": "x",
        },
    ),
    ("SaisieMessage", 131, {"commande": "nonExistante"}),
    ("SaisieMessage", 131, {"objet": "x", "contenu": "y", "listeDestinataires": 3}),
    ("SaisieMessage", 131, {"objet": "x", "contenu": "y", "listeDestinataires": []}),
    ("SaisieMessage", 131, {"messagePourReponse": {"N": "M-nope-1"}, "contenu": "y"}),
    ("SaisieMessage", 131, {"messagePourReponse": {"N": "W999"}, "contenu": "y"}),
    ("SaisieMessage", 131, {"commande": "corbeille", "listePossessionsMessages": [{"N": "PM-x"}]}),
    ("ListeMessages", 131, {"listePossessionsMessages": [{"N": "PM-not-mine"}]}),
    ("SaisiePublicMessage", 131, {"message": {"N": "MP-nope"}}),
    ("ListeRessourcesPourCommunication", 131, {"onglet": {"N": 0, "G": 99}}),
    ("SaisieActualites", 8, {"listeActualites": "all"}),
    ("SaisieActualites", 8, {"listeActualites": [{"N": "nope", "lue": True}]}),
    ("SaisieActualites", 8, {"listeActualites": [7]}),
    ("SaisieTAFFaitEleve", 88, {"listeTAF": [{"N": "nope", "TAFFait": True}]}),
    ("SaisieTAFFaitEleve", 88, {"listeTAF": {}}),
    ("JetonAppliMobile", 7, {"code": "12"}),
]


@pytest.mark.parametrize(("name", "onglet", "data"), BAD_CALLS)
def test_bad_input_gets_requete_invalide_and_changes_nothing(
    espaces: Espaces, name: str, onglet: int, data: dict[str, Any]
) -> None:
    student = login(espaces, "eleve.")
    base = espaces.school.base_in_service
    assert base is not None
    before = base.activity.to_dict()
    with pytest.raises(pronotepy.PronoteAPIError, match="Requ"):  # Requête invalide, not HTTP 500
        student.post(name, onglet, data)
    assert base.activity.to_dict() == before


def test_pawnote_drafts_a_reply_sends_it_and_removes_another(
    espaces: Espaces, tmp_path: Path
) -> None:
    modules = pawnote_dir(tmp_path)
    user = espaces.login_of("eleve.")
    result = run_acts(modules, url=espaces.url(""), kind="STUDENT", username=user,
                      password=espaces.passwords[user], deviceUUID="acts",
                      text="Brouillon du soir", steps=["draft"])  # fmt: skip
    assert "error" not in result, result
    assert result["drafts"] == ["Brouillon du soir"]
    assert result["draftsAfter"] == 0 and result["sent"] is True
    assert result["draftsRemoved"] == 0
