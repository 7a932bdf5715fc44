"""The school year's contents on a real running data-center (`pronote-dc up`, simulated clock):
a demo school's sample accounts, as `school show` gives them, read report cards and their PDF,
menus, lesson contents and the iCal link with the real pronotepy and pawnote; the sample parent
has several children and switches between them. Checked against the synthetic school the
base holds (regenerated here from its seed and counters)."""

from __future__ import annotations

import base64
import datetime
import io
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import icalendar
import pronotepy
import pypdf
import pytest

from protos import console_pb2
from tests.integration.harness import account, free_pool, running_datacenter
from tests.integration.pronote_net_helpers import pawnote_dir, run_pawnote
from vm_agent.domain import synthetic, synthetic_menus
from vm_agent.domain.counters import RESOURCE_FIELDS, BaseCounters
from vm_agent.domain.school_data import Responsable, SchoolData, Student

START = "2026-10-06T17:00:00"
TODAY = datetime.date(2026, 10, 6)
CONTENT_SCRIPT = Path(__file__).parent / "pawnote" / "content.mjs"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp_path = tmp_path_factory.mktemp("pronote-net-year-fleet")
    with running_datacenter(
        tmp_path, free_pool(first_octets="127.132"), clock="simulated", clock_start=START
    ) as dc:
        school = dc.provision("0756200").school
        bases = dc.operator().ListBases(console_pb2.SchoolRef(uai=school.uai)).bases
        base = next(b for b in bases if b.in_service)
        counters = BaseCounters(**{f: getattr(base.counters, f) for f in RESOURCE_FIELDS})
        data = synthetic.generate(base.synthetic_seed, base.school_year, counters)
        yield {"school": school, "data": data, "url": f"http://{school.address}:8080/pronote"}


def read(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as reply:
        assert reply.status == 200
        return bytes(reply.read())


def pdf_text(body: bytes) -> str:
    return "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(body)).pages)


def year_lesson_ids(data: SchoolData, person_id: str) -> set[str]:
    assert data.classes_start is not None and data.classes_end is not None
    return {x.id for x in data.lessons(person_id, data.classes_start, data.classes_end)}


def test_the_sample_parent_switches_between_children(demo: dict[str, Any]) -> None:
    data: SchoolData = demo["data"]
    sample = account(demo["school"], "parent")
    parent = data.person(sample.login)
    assert isinstance(parent, Responsable) and len(parent.child_ids) > 1
    client = pronotepy.ParentClient(f"{demo['url']}/parent.html", sample.login, sample.password)
    assert [c.name for c in client.children] == [
        p.display_name for i in parent.child_ids if (p := data.person_by_id(i)) is not None
    ]
    monday = TODAY - datetime.timedelta(days=TODAY.weekday())
    for index, child_id in enumerate(parent.child_ids):
        child = data.person_by_id(child_id)
        assert isinstance(child, Student)
        client.set_child(client.children[index])
        lessons = client.lessons(monday, monday + datetime.timedelta(days=6))
        assert {x.id for x in lessons} == {
            x.id for x in data.lessons(child.id, monday, monday + datetime.timedelta(days=7))
        }
        report = client.current_period.report
        assert report is not None and report.subjects
        calendar = icalendar.Calendar.from_ical(read(client.export_ical()))
        assert {str(e["uid"]).split("-EL")[0] for e in calendar.walk("VEVENT")} == (
            year_lesson_ids(data, child.id)
        )
        menus = client.menus(monday, monday + datetime.timedelta(days=4))
        assert [m.date for m in menus] == [
            monday + datetime.timedelta(days=i)
            for i in range(5)
            for _ in synthetic_menus.meals_of(data, monday + datetime.timedelta(days=i))
        ]


def test_pawnote_reads_a_demo_school_s_year(demo: dict[str, Any], tmp_path: Path) -> None:
    modules = pawnote_dir(tmp_path)
    data: SchoolData = demo["data"]
    week = data.week_of(TODAY) - 1
    student = account(demo["school"], "eleve")
    me = data.person(student.login)
    assert isinstance(me, Student)
    result = run_pawnote(
        modules, CONTENT_SCRIPT, url=demo["url"], kind="STUDENT", username=student.login,
        password=student.password, week=week, menuDate=f"{TODAY}T12:00:00Z", fetch=True,
    )  # fmt: skip
    assert "error" not in result, result
    assert result["resources"], "last week's lessons have contents"
    assert me.display_name in pdf_text(base64.b64decode(result["gradebookFile"]["base64"]))
    calendar = icalendar.Calendar.from_ical(base64.b64decode(result["ical"]["base64"]))
    assert len(calendar.walk("VEVENT")) == len(year_lesson_ids(data, me.id))
    assert [d["date"][:10] for d in result["menus"]] == [
        str(day)
        for i in range(7)
        if synthetic_menus.meals_of(
            data, day := TODAY - datetime.timedelta(days=TODAY.weekday() - i)
        )
    ]

    parent = account(demo["school"], "parent")
    family = data.person(parent.login)
    assert isinstance(family, Responsable)
    second = data.person_by_id(family.child_ids[1])
    assert isinstance(second, Student)
    result = run_pawnote(
        modules, CONTENT_SCRIPT, url=demo["url"], kind="PARENT", username=parent.login,
        password=parent.password, week=week + 1, child=1, menuDate=f"{TODAY}T12:00:00Z",
        fetch=True,
    )  # fmt: skip
    assert "error" not in result, result
    assert result["name"] == second.display_name
    assert second.display_name in pdf_text(base64.b64decode(result["gradebookFile"]["base64"]))
    calendar = icalendar.Calendar.from_ical(base64.b64decode(result["ical"]["base64"]))
    assert len(calendar.walk("VEVENT")) == len(year_lesson_ids(data, second.id))
