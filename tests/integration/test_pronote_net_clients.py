"""The real pronotepy (2.15.7) and pawnote (1.6.2) against one school's PRONOTE.net, served on
a real socket: every encryption/compression mode, what they read equals the synthetic school,
refusals (bad password, suspended IP, expired session, unpublished espace, stopped server)."""

from __future__ import annotations

import datetime
import ipaddress
import urllib.error
import urllib.request
import zoneinfo
from collections.abc import Iterator
from pathlib import Path

import pronotepy
import pytest

from common.relay import SourceAddressRelay
from tests.integration.harness import free_pool
from tests.integration.pronote_net_helpers import (
    NOW,
    PRONOTEPY_KINDS,
    Espaces,
    expected_average,
    french,
    pawnote_dir,
    run_pawnote,
    serve_espaces,
    visible,
    week_of,
)
from vm_agent.domain.delegation import new_delegation
from vm_agent.domain.pronote_net import PronoteNet
from vm_agent.domain.publication import Espace
from vm_agent.domain.school_data import MarkKind, Student

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
TODAY = NOW.astimezone(PARIS).date()  # the school's today
MODES = ["", "?CoA=0", "?CrA=0", "?CrA=0&CoA=0"]


@pytest.fixture
def espaces() -> Iterator[Espaces]:
    block = ipaddress.ip_network(free_pool(first_octets="127.130"))
    with serve_espaces(str(block[1]), maxretry=3) as served:
        yield served


def student_client(espaces: Espaces, query: str = "") -> pronotepy.Client:
    login = espaces.login_of("eleve.")
    return pronotepy.Client(espaces.url("eleve.html", query), login, espaces.passwords[login])


@pytest.mark.parametrize("query", MODES)
def test_a_student_reads_the_base_in_every_mode(espaces: Espaces, query: str) -> None:
    client = student_client(espaces, query)
    assert client.logged_in
    data = espaces.data
    me = data.person(client.username)
    assert isinstance(me, Student)
    assert client.info.name == me.display_name

    monday, next_monday = week_of(data, TODAY)
    expected = data.lessons(me.id, monday, next_monday)
    lessons = client.lessons(monday, next_monday - datetime.timedelta(days=1))
    assert expected, "a school week has lessons"
    assert sorted((lesson.id, lesson.start, lesson.end) for lesson in lessons) == sorted(
        (lesson.id, lesson.start, lesson.end) for lesson in expected
    )

    due = [h for h in data.homework_for(me.id, monday, next_monday) if h.given_on <= TODAY]
    homework = client.homework(monday, next_monday - datetime.timedelta(days=1))
    assert sorted(h.id for h in homework) == sorted(h.id for h in due)

    period = client.current_period
    this_period = next(p for p in data.periods if p.start <= TODAY <= p.end)
    assert period.name == this_period.name
    evaluations = visible(data, me, this_period, TODAY)  # published by today
    grades = period.grades
    assert sorted(g.id for g in grades) == sorted(e.id for e in evaluations)
    for grade in grades:
        mark = next(e for e in evaluations if e.id == grade.id).marks[me.id]
        text = PRONOTEPY_KINDS[mark] if isinstance(mark, MarkKind) else french(mark)
        assert grade.grade == text
    averages = {a.subject.name: a.student for a in period.averages}
    subjects = {s.id: s.name for s in data.subjects}
    for subject_id in {e.subject_id for e in evaluations}:
        average = expected_average([e for e in evaluations if e.subject_id == subject_id], me.id)
        assert averages[subjects[subject_id]] == (french(average) if average else "Absent")

    news = client.information_and_surveys()
    written = [n for n in data.news_for(me) if n.date <= TODAY]  # written at 8:00 on its date
    assert written and len(written) < len(data.news_for(me))
    assert sorted(n.id for n in news) == sorted(n.id for n in written)
    assert all(n.content() for n in news if not n.survey)
    discussions = client.discussions()
    wall_clock = NOW.astimezone(PARIS).replace(tzinfo=None)
    mine = data.discussions_for(me.id)
    started = {d.subject: d for d in mine if d.messages[0].sent_at <= wall_clock}
    assert sorted(d.subject for d in discussions) == sorted(started)
    for discussion in discussions:
        sent = [m for m in started[discussion.subject].messages if m.sent_at <= wall_clock]
        assert len(discussion.messages) == len(sent)
        assert discussion.messages


def test_a_parent_reads_the_child_s_timetable_and_grades(espaces: Espaces) -> None:
    login = espaces.login_of("parent.")
    client = pronotepy.ParentClient(espaces.url("parent.html"), login, espaces.passwords[login])
    assert client.logged_in
    data = espaces.data
    parent = data.person(login)
    child_ids: tuple[str, ...] = getattr(parent, "child_ids", ())
    assert [c.name for c in client.children] == [
        p.display_name for i in child_ids if (p := data.person_by_id(i)) is not None
    ]
    monday, next_monday = week_of(data, TODAY)
    lessons = client.lessons(monday, next_monday - datetime.timedelta(days=1))
    assert {lesson.id for lesson in lessons} == {
        lesson.id for lesson in data.lessons(child_ids[0], monday, next_monday)
    }
    period = client.current_period
    child = data.person_by_id(child_ids[0])
    this_period = next(p for p in data.periods if p.id == period.id)
    assert isinstance(child, Student)
    assert {g.id for g in period.grades} == {e.id for e in visible(data, child, this_period, TODAY)}


def test_vie_scolaire_sees_the_classes(espaces: Espaces) -> None:
    login = espaces.login_of("cpe.")
    client = pronotepy.VieScolaireClient(
        espaces.url("viescolaire.html"), login, espaces.passwords[login]
    )
    assert client.logged_in
    data = espaces.data
    assert sorted(c.name for c in client.classes) == sorted(c.name for c in data.classes)
    first = client.classes[0]
    class_id = next(c.id for c in data.classes if c.name == first.name)
    assert sorted(s.full_name for s in first.students()) == sorted(
        s.display_name for s in data.students if s.class_id == class_id
    )


def test_an_account_logs_in_only_to_its_own_espace(espaces: Espaces) -> None:
    login = espaces.login_of("eleve.")
    client = pronotepy.Client(espaces.url("professeur.html"), login, espaces.passwords[login])
    assert not client.logged_in


def test_web_sessions_show_under_pronote_net_and_take_no_licence(espaces: Espaces) -> None:
    before = espaces.school.licences()
    client = student_client(espaces)
    assert client.logged_in
    rows = PronoteNet(espaces.school, espaces.clock).connections()
    assert rows[0].application == "PRONOTE.net 2026"
    assert rows[0].user == "1 utilisateur(s) connecté(s)"
    student = espaces.data.person(client.username)
    assert student is not None
    assert [r.user for r in rows[1:]] == [student.display_name]
    assert espaces.school.licences() == before
    assert list(espaces.school.connections()) == []  # no Client PRONOTE session either


def test_a_bad_password_is_refused_and_counts_toward_suspension(espaces: Espaces) -> None:
    login = espaces.login_of("eleve.")
    url = espaces.url("eleve.html")
    relay_ip = "127.130.255.7"
    relay = SourceAddressRelay(relay_ip, espaces.address, espaces.port)
    relayed = url.replace(f"{espaces.address}:{espaces.port}", relay.address)
    try:
        for _ in range(3):  # maxretry=3
            assert not pronotepy.Client(relayed, login, "wrong password").logged_in
        assert [s.ip for s in espaces.school.suspended_ips()] == [relay_ip]
        with pytest.raises(pronotepy.PronoteAPIError, match="suspended"):
            pronotepy.Client(relayed, login, espaces.passwords[login])
        assert student_client(espaces).logged_in  # other addresses are not suspended
        espaces.school.unblock(relay_ip)
        assert pronotepy.Client(relayed, login, espaces.passwords[login]).logged_in
    finally:
        relay.close()


def test_an_idle_session_expires_and_pronotepy_logs_in_again(espaces: Espaces) -> None:
    client = student_client(espaces)
    first_session = client.attributes["h"]
    espaces.clock.advance(601)  # the idle timeout is 600 s
    assert PronoteNet(espaces.school, espaces.clock).connections()[0].user.startswith("0 ")
    assert client.session_check()  # the server said G:10; pronotepy logged in again
    assert client.attributes["h"] != first_session


@pytest.mark.parametrize("action", ["espace", "publication", "server"])
def test_an_unavailable_espace_is_refused_with_a_clear_page(espaces: Espaces, action: str) -> None:
    client = student_client(espaces)
    school = espaces.school
    if action == "espace":
        school.publication.stop()
        school.publication.set_espace(Espace.ELEVE, False)
        school.publication.start()
    elif action == "publication":
        school.publication.stop()
    else:
        school.stop()
    with pytest.raises(pronotepy.PronoteAPIError):
        student_client(espaces)
    with pytest.raises(pronotepy.PronoteAPIError):
        client.lessons(TODAY)  # an open session is refused too
    if action == "espace":  # the other espaces stay open
        login = espaces.login_of("parent.")
        url = espaces.url("parent.html")
        assert pronotepy.ParentClient(url, login, espaces.passwords[login]).logged_in


def test_an_espace_delegated_to_an_ent_refuses_direct_logins_unless_allowed(
    espaces: Espaces,
) -> None:
    school = espaces.school
    school.publication.stop()
    school.publication.delegate(new_delegation("", "ecollege31", {}, ["eleve"], False))
    school.publication.start()
    login = espaces.login_of("eleve.")
    # PRONOTE's own form is not served: the page redirects to the ENT (test_pronote_net_ent.py)
    with pytest.raises(urllib.error.HTTPError, match="302"):
        urllib.request.build_opener(_NoRedirect).open(espaces.url("eleve.html", "?login=true"))
    assert school.suspended_ips() == [] and school.authentication_failures == 0
    parent = espaces.login_of("parent.")
    url = espaces.url("parent.html")
    assert pronotepy.ParentClient(url, parent, espaces.passwords[parent]).logged_in

    school.publication.stop()
    school.publication.delegate(new_delegation("", "ecollege31", {}, ["eleve"], True))
    school.publication.start()
    direct = espaces.url("eleve.html", "?login=true")
    assert pronotepy.Client(direct, login, espaces.passwords[login]).logged_in


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def test_the_page_commune_links_the_open_espaces_and_follows_the_publication(
    espaces: Espaces,
) -> None:
    def commune() -> tuple[int, str]:
        try:
            with urllib.request.urlopen(espaces.url(""), timeout=10) as reply:
                return reply.status, reply.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    status, html = commune()
    assert status == 200 and 'href="eleve.html"' in html and 'href="parent.html"' in html
    school = espaces.school
    school.publication.stop()
    assert commune()[0] == 503
    school.publication.set_espace(Espace.PARENT, False)
    school.publication.start()
    status, html = commune()
    assert status == 200 and 'href="eleve.html"' in html and "parent.html" not in html
    school.publication.stop()
    school.publication.set_page("commune", False)
    school.publication.start()
    assert commune()[0] == 503


def test_pawnote_logs_in_and_reads_the_base(espaces: Espaces, tmp_path: Path) -> None:
    modules = pawnote_dir(tmp_path)
    login = espaces.login_of("eleve.")
    data = espaces.data
    me = data.person(login)
    assert isinstance(me, Student)
    week = data.week_of(TODAY)
    result = run_pawnote(
        modules,
        url=espaces.url(""),
        kind="STUDENT",
        username=login,
        password=espaces.passwords[login],
        week=week,
    )
    assert "error" not in result, result
    monday, next_monday = week_of(data, TODAY)
    assert sorted(lesson["id"] for lesson in result["lessons"]) == sorted(
        lesson.id for lesson in data.lessons(me.id, monday, next_monday)
    )
    period = next(p for p in data.periods if p.start <= TODAY <= p.end)
    assert result["period"] == period.name
    assert sorted(g["id"] for g in result["grades"]) == sorted(
        e.id for e in visible(data, me, period, TODAY)
    )
    parent = espaces.login_of("parent.")
    family = run_pawnote(modules, url=espaces.url(""), kind="PARENT", username=parent,
                         password=espaces.passwords[parent], week=week)  # fmt: skip
    assert family["name"] == me.display_name  # the child is the parent's resource
    assert sorted(lesson["id"] for lesson in family["lessons"]) == sorted(
        lesson["id"] for lesson in result["lessons"]
    )
    bad = run_pawnote(modules, url=espaces.url(""), kind="STUDENT", username=login,
                      password="wrong", week=week)  # fmt: skip
    assert bad["error"] == "BadCredentialsError"
    espaces.school.stop()
    stopped = run_pawnote(modules, url=espaces.url(""), kind="STUDENT", username=login,
                          password=espaces.passwords[login], week=week)  # fmt: skip
    assert stopped["error"] == "PageUnavailableError"
