"""The plugin's fixtures used directly (it is loaded in the project's own run through its
entry point): each state a client must handle, seen by the real pronotepy client."""

from __future__ import annotations

import pronotepy
import pytest
import requests

from pronote_dc_testing.embedded import to_dict
from pronote_dc_testing.school import School
from protos import console_pb2

pytestmark = pytest.mark.integration


def student(school: School) -> pronotepy.Client:
    account = school.account("eleve")
    return pronotepy.Client(school.url("eleve"), account.login, account.password)


def web_users(school: School) -> list[str]:
    reply = school.datacenter.console.ListConnections(console_pb2.SchoolRef(uai=school.uai))
    return [c["user"] for c in to_dict(reply)["connections"] if c["session_id"].startswith("web-")]


def test_the_school_gives_every_espace_and_account(pronote_school: School) -> None:
    assert pronote_school.port == 49300
    for page in ("commune", "eleve", "parent", "professeur", "viescolaire", "direction"):
        assert pronote_school.url(page).startswith(f"http://{pronote_school.address}:8080/")
        assert "/mobile." in pronote_school.url(page, mobile=True)
    roles = {"spr", "administratif", "enseignant", "vie_scolaire", "parent", "eleve"}
    assert roles <= set(pronote_school.accounts)
    parent = pronote_school.account("parent")
    client = pronotepy.ParentClient(pronote_school.url("parent"), parent.login, parent.password)
    assert client.logged_in and len(client.children) >= 2  # a parent with several children
    with pytest.raises(KeyError, match="choose one of"):
        pronote_school.url("nowhere")


def test_stop_publication(pronote_school: School) -> None:
    pronote_school.stop_publication()
    with pytest.raises(pronotepy.PronoteAPIError):
        student(pronote_school)
    pronote_school.publish()
    assert student(pronote_school).logged_in


def test_suspend_ip(pronote_school: School) -> None:
    assert pronote_school.suspend_ip() == 5  # PRONOTE_DC_MAXRETRY's default
    assert pronote_school.suspended_ips() == ["127.0.0.1"]
    with pytest.raises(pronotepy.PronoteAPIError, match="suspended"):
        student(pronote_school)
    pronote_school.unblock_ip()
    assert student(pronote_school).logged_in


def test_expire_sessions(pronote_school: School) -> None:
    client = student(pronote_school)
    assert web_users(pronote_school) == [client.info.name]
    pronote_school.expire_sessions()
    assert web_users(pronote_school) == []
    assert client.lessons(client.start_day) is not None
    assert web_users(pronote_school) == [client.info.name]  # pronotepy logged in again


def test_stop_server(pronote_school: School) -> None:
    pronote_school.stop_server()
    with pytest.raises(pronotepy.PronoteAPIError):
        student(pronote_school)
    pronote_school.put_in_service()
    assert student(pronote_school).logged_in


def test_delegate_to_ent(pronote_school: School) -> None:
    pronote_school.delegate_to_ent("ecollege31", espaces=("eleve",))
    for query in ("", "?login=true"):  # the ENT's CAS login, also for PRONOTE.net's own form
        page = requests.get(pronote_school.url("eleve") + query, allow_redirects=False, timeout=10)
        assert page.status_code == 302
        assert page.headers["Location"].startswith("https://cas.ecollege31.example.net/cas/login")
    teacher = pronote_school.account("enseignant")
    assert pronotepy.Client(
        pronote_school.url("professeur"), teacher.login, teacher.password
    ).logged_in
    pronote_school.remove_delegation()
    assert student(pronote_school).logged_in
