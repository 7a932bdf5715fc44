"""Messagerie (Communication, onglet 131): the discussions a person takes part in, from the
synthetic school and from what users wrote (`Activity`), with per-person read marks, bin and
deletion; replying, starting a discussion, and whom each kind of user may write to.

Who may write to whom follows the school's rules (`CommunicationRules`): by default, as most
schools set PRONOTE, a student or a parent writes to the teachers of the (child's) class, the
vie scolaire and the direction; a teacher to their students, those students' parents, the
other teachers and the staff. A refusal says what to do.
"""

from __future__ import annotations

import datetime
import zlib
from dataclasses import dataclass

from vm_agent.domain.activity import Activity, StartedDiscussion, WrittenMessage
from vm_agent.domain.calendar import school_now
from vm_agent.domain.errors import InvalidArgument, NotFound
from vm_agent.domain.school_data import (
    Discussion,
    Person,
    PersonKind,
    Responsable,
    SchoolData,
    Student,
)

MAX_MESSAGE_CHARACTERS = 10_000
MAX_SUBJECT_CHARACTERS = 200


@dataclass(frozen=True)
class CommunicationRules:
    """Whom users may write to (PRONOTE: Communication > Discussions, per espace)."""

    students_to_teachers: bool = True
    parents_to_teachers: bool = True
    families_to_staff: bool = True


@dataclass(frozen=True)
class ThreadMessage:
    id: str
    author_id: str  # "" when the author is not a person of the school
    author_name: str
    sent_at: datetime.datetime
    content: str
    reply_to: str  # "" for the first message


@dataclass(frozen=True)
class Thread:
    id: str
    subject: str
    participant_ids: tuple[str, ...]
    messages: tuple[ThreadMessage, ...]
    unread: int
    binned: bool

    @property
    def last(self) -> ThreadMessage | None:
        return self.messages[-1] if self.messages else None


class Mailbox:
    """One person's view of the base's discussions."""

    def __init__(
        self,
        data: SchoolData,
        activity: Activity,
        me: Person,
        rules: CommunicationRules | None = None,
        now: datetime.datetime | None = None,
    ) -> None:
        """`now` (naive, the school's time): the synthetic discussions as they stood then,
        only the messages sent by then (`Discussion.as_of`); None: all of them."""
        self.data = data
        self.activity = activity
        self.me = me
        self.rules = rules or CommunicationRules()
        self.now = now

    # -- reading ---------------------------------------------------------------------------

    def threads(self, only_unread: bool = False) -> list[Thread]:
        deleted = set(self.activity.deleted.get(self.me.id, ()))
        ids = [d.id for d in self._synthetic_threads()]
        ids += [d.id for d in self.activity.started.values() if self.me.id in d.participant_ids]
        threads = [self.thread(i) for i in ids if i not in deleted]
        if only_unread:
            threads = [t for t in threads if t.unread]
        return sorted(threads, key=lambda t: t.last.sent_at if t.last else _EPOCH, reverse=True)

    def thread(self, discussion_id: str) -> Thread:
        subject, participants, messages = self._raw(discussion_id)
        if self.me.id not in participants or discussion_id in self.activity.deleted.get(
            self.me.id, ()
        ):
            raise NotFound(f"discussion {discussion_id!r} is not one of yours")
        seen = self._seen(discussion_id, messages)
        unread = sum(1 for m in messages[seen:] if m.author_id != self.me.id)
        binned = discussion_id in self.activity.binned.get(self.me.id, ())
        return Thread(discussion_id, subject, participants, messages, unread, binned)

    def _raw(self, discussion_id: str) -> tuple[str, tuple[str, ...], tuple[ThreadMessage, ...]]:
        written = self.activity.messages.get(discussion_id, [])
        first: tuple[ThreadMessage, ...] = ()
        started = self.activity.started.get(discussion_id)
        if started is not None:
            subject, participants = started.subject, tuple(started.participant_ids)
        else:
            synthetic = self._synthetic(discussion_id)
            if synthetic is None:
                raise NotFound(f"no discussion {discussion_id!r} in this base")
            subject, participants = synthetic.subject, synthetic.participant_ids
            names = {}
            for person_id in participants:
                person = self.data.person_by_id(person_id)
                if person is not None:
                    names[person.display_name] = person_id
            first = tuple(
                ThreadMessage(
                    f"M-{discussion_id}-{n}",
                    names.get(m.author, ""),
                    m.author,
                    m.sent_at,
                    m.content,
                    f"M-{discussion_id}-{n - 1}" if n else "",
                )
                for n, m in enumerate(synthetic.messages)
            )
        more = tuple(
            ThreadMessage(
                w.id,
                w.author_id,
                w.author_name,
                school_now(w.sent_at_seconds),
                w.content,
                w.reply_to,
            )
            for w in written
        )
        return subject, participants, first + more

    def _synthetic_threads(self) -> list[Discussion]:
        mine = self.data.discussions_for(self.me.id)
        if self.now is None:
            return list(mine)
        now = self.now
        return [d for d in (item.as_of(now) for item in mine) if d is not None]

    def _synthetic(self, discussion_id: str) -> Discussion | None:
        return next((d for d in self._synthetic_threads() if d.id == discussion_id), None)

    def _seen(self, discussion_id: str, messages: tuple[ThreadMessage, ...]) -> int:
        marked = self.activity.seen.get(self.me.id, {}).get(discussion_id)
        if marked is not None:
            return min(marked, len(messages))
        if discussion_id in self.activity.started:
            return 0
        synthetic = len([m for m in messages if m.id.startswith("M-")])
        last = messages[synthetic - 1] if synthetic else None
        # As in a real school, some of what others wrote has not been opened yet.
        fresh = zlib.crc32(f"{discussion_id}/{self.me.id}".encode()) % 3 == 0
        if last is not None and last.author_id != self.me.id and fresh:
            return synthetic - 1
        return synthetic

    # -- writing ---------------------------------------------------------------------------

    def reply(self, discussion_id: str, content: str, reply_to: str, now_seconds: float) -> str:
        thread = self.thread(discussion_id)
        text = _text(content, "message")
        known = {m.id for m in thread.messages}
        source = reply_to if reply_to in known else (thread.last.id if thread.last else "")
        message = WrittenMessage(
            self.activity.next_id("W"),
            discussion_id,
            self.me.id,
            self.me.display_name,
            now_seconds,
            text,
            source,
        )
        self.activity.messages.setdefault(discussion_id, []).append(message)
        self._mark_seen(discussion_id, len(thread.messages) + 1)
        self._unbin(discussion_id)
        return message.id

    def start(
        self, subject: str, content: str, recipient_ids: list[str], now_seconds: float
    ) -> str:
        allowed = {p.id for p in self.recipients()}
        recipients = list(dict.fromkeys(recipient_ids))
        if not recipients:
            raise InvalidArgument("choose at least one recipient from the list of recipients")
        refused = [r for r in recipients if r not in allowed]
        if refused:
            raise InvalidArgument(
                f"you may not write to {', '.join(refused)}: choose recipients from the list "
                "of recipients (ListeRessourcesPourCommunication)"
            )
        text = _text(content, "message")
        title = subject.strip()[:MAX_SUBJECT_CHARACTERS]
        discussion_id = self.activity.next_id("DW")
        self.activity.started[discussion_id] = StartedDiscussion(
            discussion_id, title, [self.me.id, *recipients]
        )
        first = WrittenMessage(
            self.activity.next_id("W"),
            discussion_id,
            self.me.id,
            self.me.display_name,
            now_seconds,
            text,
        )
        self.activity.messages[discussion_id] = [first]
        self._mark_seen(discussion_id, 1)
        return discussion_id

    def mark(self, discussion_ids: list[str], read: bool) -> None:
        for discussion_id in discussion_ids:
            thread = self.thread(discussion_id)
            if read:
                self._mark_seen(discussion_id, len(thread.messages))
            else:
                others = [i for i, m in enumerate(thread.messages) if m.author_id != self.me.id]
                self._mark_seen(discussion_id, others[-1] if others else len(thread.messages))

    def bin(self, discussion_ids: list[str]) -> None:
        for discussion_id in discussion_ids:
            self.thread(discussion_id)
            binned = self.activity.binned.setdefault(self.me.id, [])
            if discussion_id not in binned:
                binned.append(discussion_id)

    def restore(self, discussion_ids: list[str]) -> None:
        for discussion_id in discussion_ids:
            self.thread(discussion_id)
            self._unbin(discussion_id)

    def delete(self, discussion_ids: list[str]) -> None:
        for discussion_id in discussion_ids:
            self.thread(discussion_id)
            self._unbin(discussion_id)
            self.activity.deleted.setdefault(self.me.id, []).append(discussion_id)

    # -- drafts (brouillons): kept per person, sent later as a reply ------------------------

    def drafts(self, discussion_id: str) -> dict[str, dict[str, str]]:
        """This person's drafts in a discussion, by id: {"content", "reply_to"}."""
        mine = self.activity.drafts.get(self.me.id, {})
        return {k: v for k, v in mine.items() if v["discussion_id"] == discussion_id}

    def save_draft(self, draft_id: str, discussion_id: str, content: str, reply_to: str) -> str:
        """Create (`draft_id` "") or change a draft of a reply; its id."""
        self.thread(discussion_id)
        mine = self.activity.drafts.setdefault(self.me.id, {})
        if draft_id and draft_id not in mine:
            raise NotFound(f"no draft {draft_id!r}: it was sent or deleted; reload the discussion")
        draft_id = draft_id or self.activity.next_id("BR")
        mine[draft_id] = {"discussion_id": discussion_id, "content": content.strip(),
                          "reply_to": reply_to}  # fmt: skip
        return draft_id

    def drop_draft(self, draft_id: str) -> dict[str, str]:
        draft = self.activity.drafts.get(self.me.id, {}).pop(draft_id, None)
        if draft is None:
            raise NotFound(f"no draft {draft_id!r}: it was sent or deleted; reload the discussion")
        return draft

    def _mark_seen(self, discussion_id: str, count: int) -> None:
        self.activity.seen.setdefault(self.me.id, {})[discussion_id] = count

    def _unbin(self, discussion_id: str) -> None:
        binned = self.activity.binned.get(self.me.id, [])
        if discussion_id in binned:
            binned.remove(discussion_id)

    # -- recipients ------------------------------------------------------------------------

    def recipients(self, kind: PersonKind | None = None) -> list[Person]:
        """Whom this person may start a discussion with (of one kind, or all)."""
        data, me, rules = self.data, self.me, self.rules
        staff = [p for p in data.staff if p.kind in (PersonKind.VIE_SCOLAIRE, PersonKind.PERSONNEL)]
        people: list[Person] = []
        if isinstance(me, Student | Responsable):
            classes = self._family_classes()
            to_teachers = (
                rules.students_to_teachers if isinstance(me, Student) else rules.parents_to_teachers
            )
            if to_teachers:
                teacher_ids = {s.teacher_id for s in data.timetable if s.class_id in classes}
                people += [t for t in data.teachers if t.id in teacher_ids]
            if rules.families_to_staff:
                people += staff
        elif me.kind is PersonKind.PROFESSEUR:
            classes = {s.class_id for s in data.timetable if s.teacher_id == me.id}
            students = [s for s in data.students if s.class_id in classes]
            child_ids = {s.id for s in students}
            people += [t for t in data.teachers if t.id != me.id]
            people += [*staff, *students]
            people += [r for r in data.responsables if child_ids.intersection(r.child_ids)]
        else:  # vie scolaire and direction write to everyone
            people += [*data.teachers, *(p for p in staff if p.id != me.id)]
            people += [*data.students, *data.responsables]
        if kind is not None:
            people = [p for p in people if p.kind is kind]
        return people

    def teacher_subjects(self, teacher_id: str) -> list[str]:
        """The subjects a teacher teaches the (child's) class, for the recipient list."""
        classes = self._family_classes() if isinstance(self.me, Student | Responsable) else None
        names = {s.id: s.name for s in self.data.subjects}
        subject_ids = {
            s.subject_id
            for s in self.data.timetable
            if s.teacher_id == teacher_id and (classes is None or s.class_id in classes)
        }
        return sorted(names[i] for i in subject_ids if i in names)

    def _family_classes(self) -> set[str]:
        me = self.me
        if isinstance(me, Student):
            return {me.class_id}
        if isinstance(me, Responsable):
            children = [self.data.person_by_id(i) for i in me.child_ids]
            return {c.class_id for c in children if isinstance(c, Student)}
        return set()


_EPOCH = datetime.datetime(1970, 1, 1)


def _text(content: str, what: str) -> str:
    text = content.strip()
    if not text:
        raise InvalidArgument(f"the {what} is empty: write something before sending")
    if len(text) > MAX_MESSAGE_CHARACTERS:
        raise InvalidArgument(
            f"the {what} has {len(text)} characters; keep it under {MAX_MESSAGE_CHARACTERS}"
        )
    return text
