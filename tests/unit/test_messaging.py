"""The messagerie's rules on one person's mailbox, what users wrote surviving a save, and the
mobile app's tokens (issued, rotated, expired, revoked by a password change)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from common import secrets
from tests.unit.test_synthetic import EXAMPLE, YEAR
from vm_agent.domain import mobile_tokens, synthetic
from vm_agent.domain.activity import Activity
from vm_agent.domain.bases import Base, User, base_from_dict, base_to_dict
from vm_agent.domain.errors import InvalidArgument, NotFound
from vm_agent.domain.messaging import Mailbox
from vm_agent.domain.modes import UserKind
from vm_agent.domain.school_data import PersonKind, SchoolData

NOW = 1_790_000_000.0


@pytest.fixture(scope="module")
def data() -> SchoolData:
    return synthetic.generate("0750655E", YEAR, EXAMPLE)


def test_a_reply_is_unread_for_the_others_until_they_read_it(data: SchoolData) -> None:
    activity = Activity()
    student = data.students[0]
    mine = Mailbox(data, activity, student)
    thread = mine.threads()[0]
    other_id = next(i for i in thread.participant_ids if i != student.id)
    other = data.person_by_id(other_id)
    assert other is not None
    theirs = Mailbox(data, activity, other)
    before = theirs.thread(thread.id).unread
    mine.reply(thread.id, "  Merci !  ", "", NOW)
    last = mine.thread(thread.id).last
    assert mine.thread(thread.id).unread == 0 and last is not None and last.content == "Merci !"
    assert theirs.thread(thread.id).unread == before + 1
    assert thread.id in [t.id for t in theirs.threads(only_unread=True)]
    theirs.mark([thread.id], True)
    assert theirs.thread(thread.id).unread == 0
    theirs.mark([thread.id], False)
    assert theirs.thread(thread.id).unread >= 1
    theirs.bin([thread.id])
    assert theirs.thread(thread.id).binned and not mine.thread(thread.id).binned
    theirs.restore([thread.id])
    theirs.delete([thread.id])
    assert thread.id not in [t.id for t in theirs.threads()]
    assert thread.id in [t.id for t in mine.threads()]  # deleted for them only
    with pytest.raises(NotFound):
        theirs.reply(thread.id, "encore", "", NOW)


def test_recipients_follow_the_rules_and_others_are_refused(data: SchoolData) -> None:
    activity = Activity()
    student = data.students[0]
    box = Mailbox(data, activity, student)
    teachers = box.recipients(PersonKind.PROFESSEUR)
    class_teachers = {s.teacher_id for s in data.timetable if s.class_id == student.class_id}
    assert {t.id for t in teachers} == class_teachers
    assert box.recipients(PersonKind.VIE_SCOLAIRE)
    assert not box.recipients(PersonKind.ELEVE)  # students do not write to students
    outsider = next(t for t in data.teachers if t.id not in class_teachers)
    with pytest.raises(InvalidArgument, match="may not write to"):
        box.start("Sujet", "Texte", [outsider.id], NOW)
    with pytest.raises(InvalidArgument, match="empty"):
        box.start("Sujet", "   ", [teachers[0].id], NOW)
    started = box.start("Sujet", "Bonjour", [teachers[0].id], NOW)
    assert Mailbox(data, activity, teachers[0]).thread(started).unread == 1


def test_what_users_wrote_is_saved_with_the_base_and_read_back(data: SchoolData) -> None:
    base = Base("b1", YEAR, NOW)
    student = data.students[0]
    box = Mailbox(data, base.activity, student)
    box.reply(box.threads()[0].id, "Bonjour", "", NOW)
    base.activity.mark_news(student.id, "N1", True)
    base.activity.answer_survey(student.id, "N2", [3, 1])
    base.activity.mark_homework(student.id, "H1", True)
    saved = json.loads(json.dumps(base_to_dict(base)))
    assert saved["activity"] == dataclasses.asdict(base.activity)  # the hand copy is faithful
    back = base_from_dict(saved)
    assert back.activity == base.activity
    assert back.activity.answers(student.id, "N2") == [1, 3]
    older = {k: v for k, v in saved.items() if k != "activity"}  # saved before issue 14
    assert base_from_dict(older).activity == Activity()


def test_tokens_rotate_expire_and_end_with_the_password() -> None:
    activity = Activity()
    user = User("eleve.a", secrets.hash_secret("pw"), "A", UserKind.ELEVE, synthetic=True)
    jeton = mobile_tokens.new_qr_jeton(activity, user, NOW)
    verifier = mobile_tokens.qr_verifier(activity, user, NOW + 599)
    assert verifier is not None
    assert secrets.verify(jeton, activity.qr_codes[user.login]["hash"])
    assert jeton not in json.dumps(activity.to_dict())  # stored hashed
    assert mobile_tokens.qr_verifier(activity, user, NOW + 600) is None  # 10 minutes
    first = mobile_tokens.new_device_token(activity, user, "phone", NOW)
    assert mobile_tokens.device_verifier(activity, user, "phone") is not None
    assert mobile_tokens.device_verifier(activity, user, "tablet") is None
    second = mobile_tokens.new_device_token(activity, user, "phone", NOW + 1)
    stored = activity.mobile_tokens[user.login]["phone"]["hash"]
    assert secrets.verify(second, stored) and not secrets.verify(first, stored)
    changed = dataclasses.replace(user, password_hash=secrets.hash_secret("new"))
    assert mobile_tokens.device_verifier(activity, changed, "phone") is None  # revoked
    mobile_tokens.new_qr_jeton(activity, user, NOW)
    assert mobile_tokens.qr_verifier(activity, changed, NOW) is None
