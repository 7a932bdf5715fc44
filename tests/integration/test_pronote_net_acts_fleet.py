"""What users do on PRONOTE.net, on a real running data-center (`pronote-dc up`, simulated
clock): a news read stays read after the school's process is killed and restarted, and is in
the next sauvegarde; teachers on the Espace Professeurs take teacher licences (console and
metrics show it, the 31st teacher of a 30 formula is refused); a client that logs in again
after a refused call leaves no ghost session in the console."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from typing import Any

import grpc
import pronotepy
import pytest

from protos import common_pb2, console_pb2
from tests.integration.harness import (
    Datacenter,
    advance,
    backups,
    client,
    free_pool,
    rpc_error,
    running_datacenter,
    wait_for,
)
from tests.integration.metrics_helpers import samples, value
from tests.integration.pronote_net_helpers import YEAR
from vm_agent.backups import BackupStore
from vm_agent.domain import synthetic
from vm_agent.domain.counters import RESOURCE_FIELDS, BaseCounters

START = "2026-10-06T17:00:00"


@pytest.fixture(scope="module")
def school(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One school (30-teacher formula) whose base in service holds its synthetic school."""
    tmp_path = tmp_path_factory.mktemp("pronote-net-acts")
    with running_datacenter(
        tmp_path, free_pool(first_octets="127.84"), clock="simulated", clock_start=START,
        scheduler_interval_seconds="0.5",
    ) as dc:  # fmt: skip
        record = dc.provision("0756300", demo=False).school
        operator = dc.operator()
        base = operator.CreateBase(console_pb2.CreateBaseRequest(
            uai=record.uai, school_year=YEAR, synthetic_seed=record.uai))  # fmt: skip
        operator.PutBaseInService(console_pb2.PutBaseInServiceRequest(
            uai=record.uai, base_id=base.id, spr_login="spr", spr_password="spr-pw-1"))  # fmt: skip
        counters = BaseCounters(**{f: getattr(base.counters, f) for f in RESOURCE_FIELDS})
        data = synthetic.generate(record.uai, YEAR, counters)
        yield {"dc": dc, "school": record, "data": data,
               "url": f"http://{record.address}:8080/pronote"}  # fmt: skip


def issue(dc: Datacenter, school_uai: str, login: str) -> str:
    password = f"pw-{login}"
    dc.operator().IssuePassword(
        console_pb2.IssuePasswordRequest(uai=school_uai, login=login, password=password)
    )
    return password


def web_rows(dc: Datacenter, school_uai: str, name: str) -> list[Any]:
    rows = dc.operator().ListConnections(console_pb2.SchoolRef(uai=school_uai)).connections
    return [r for r in rows if r.user == name]


def test_a_news_read_stays_read_after_a_restart_and_is_in_the_next_sauvegarde(
    school: dict[str, Any],
) -> None:
    dc, record, data = school["dc"], school["school"], school["data"]
    student = data.students[0]
    password = issue(dc, record.uai, student.login)
    web = pronotepy.Client(f"{school['url']}/eleve.html", student.login, password)
    news = next(n for n in web.information_and_surveys() if not n.survey)
    news.mark_as_read(True)

    pid = dc.school_pid(record.uai)
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: dc.school_pid(record.uai) not in (0, pid), timeout=30)
    again = wait_for(
        lambda: _login(f"{school['url']}/eleve.html", student.login, password), timeout=30
    )
    assert {n.id for n in again.information_and_surveys() if n.read} == {news.id}

    advance(dc, "2026-10-06T20:30:00")  # the 20:00 sauvegarde is due
    made = wait_for(lambda: [b for b in backups(dc, record.uai) if b.kind == "sauvegarde"])
    state = BackupStore(dc.state_dir / "backups" / record.uai, record.uai).load_state(
        max(made, key=lambda b: b.made_at_seconds).name
    )
    activity = state["bases"][0]["activity"]
    assert activity["news_read"][student.id] == [news.id]


def _login(url: str, login: str, password: str) -> pronotepy.Client | None:
    try:
        web = pronotepy.Client(url, login, password)
    except (pronotepy.PronoteAPIError, OSError):
        return None
    return web if web.logged_in else None


def test_a_client_that_logs_in_again_leaves_no_ghost_session(school: dict[str, Any]) -> None:
    dc, record, data = school["dc"], school["school"], school["data"]
    parent = next(r for r in data.responsables if r.child_ids)
    password = issue(dc, record.uai, parent.login)
    web = pronotepy.ParentClient(f"{school['url']}/parent.html", parent.login, password)
    for _ in range(3):  # each refused call makes pronotepy log in again, then retry once
        with pytest.raises(pronotepy.PronoteAPIError, match="Requ"):
            web.post("FonctionInconnue", 7)
    assert len(web_rows(dc, record.uai, parent.display_name)) == 1
    other = pronotepy.ParentClient(f"{school['url']}/parent.html", parent.login, password)
    assert other.logged_in  # another browser of the same parent is not a ghost: both stay
    assert len(web_rows(dc, record.uai, parent.display_name)) == 2


def test_teachers_on_the_espace_professeurs_take_teacher_licences(
    school: dict[str, Any],
) -> None:
    dc, record, data = school["dc"], school["school"], school["data"]
    ref = console_pb2.SchoolRef(uai=record.uai)
    first, second = data.teachers[0], data.teachers[1]
    web = pronotepy.Client(
        f"{school['url']}/professeur.html", first.login, issue(dc, record.uai, first.login)
    )
    assert web.logged_in
    assert dc.operator().GetLicences(ref).enseignant_in_use == 1
    with client(record.address) as pronote_client:  # the same teacher in Client PRONOTE too
        pronote_client.connect(first.login, issue(dc, record.uai, first.login),
                               common_pb2.MODE_ENSEIGNANT)  # fmt: skip
        web = pronotepy.Client(f"{school['url']}/professeur.html", first.login, f"pw-{first.login}")
        assert dc.operator().GetLicences(ref).enseignant_in_use == 1  # counted once
        for n in range(29):  # 29 more teachers in Client PRONOTE: the formula of 30 is full
            login = f"prof.lic{n:02d}"
            password = dc.add_user(record, login, common_pb2.USER_KIND_PROFESSEUR)
            pronote_client.connect(login, password, common_pb2.MODE_ENSEIGNANT)
        licences = dc.operator().GetLicences(ref)
        assert (licences.enseignant_in_use, licences.enseignant_capacity) == (30, 30)
        page = samples(f"http://{record.address}:49380/metrics")
        assert value(page, "pronote_licences_in_use", licence="enseignant") == 30
        refused = pronotepy.Client(
            f"{school['url']}/professeur.html", second.login, issue(dc, record.uai, second.login)
        )
        assert not refused.logged_in  # the 31st teacher, on the web
        error = rpc_error(pronote_client.connect, second.login, f"pw-{second.login}",
                          common_pb2.MODE_ENSEIGNANT)  # fmt: skip
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "Espace Professeurs" in error.details()
