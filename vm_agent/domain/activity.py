"""What a base's users write through PRONOTE.net: messages and discussions, read marks, survey
answers, homework ticked done, mobile-app tokens. It is part of the base, so it is saved with
the school's state (atomically, before the call returns), survives a restart and is in every
sauvegarde; the synthetic school itself is regenerated, never stored.

Plain JSON-able fields (dicts of lists and strings), so `dataclasses.asdict` saves it as is.
Ids are those of `SchoolData` (person ids, news ids, homework ids, discussion ids).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class WrittenMessage:
    """A message a user sent: a reply, or the first message of a discussion they started."""

    id: str  # "W<n>", unique in the base
    discussion_id: str
    author_id: str  # a person id
    author_name: str  # display name at the time of writing
    sent_at_seconds: float
    content: str  # plain text as typed (HTML tags are stripped on the way in)
    reply_to: str = ""  # the message id it answers ("" for the first message)


@dataclass
class StartedDiscussion:
    """A discussion a user started (`SaisieMessage` with `objet` and recipients)."""

    id: str  # "DW<n>"
    subject: str
    participant_ids: list[str]  # the author first


@dataclass
class Activity:
    started: dict[str, StartedDiscussion] = field(default_factory=dict)
    messages: dict[str, list[WrittenMessage]] = field(default_factory=dict)  # by discussion
    seen: dict[str, dict[str, int]] = field(default_factory=dict)  # person -> discussion -> n
    binned: dict[str, list[str]] = field(default_factory=dict)  # person -> discussion ids
    deleted: dict[str, list[str]] = field(default_factory=dict)  # person -> discussion ids
    news_read: dict[str, list[str]] = field(default_factory=dict)  # person -> news ids
    survey_answers: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    homework_done: dict[str, list[str]] = field(default_factory=dict)  # student -> homework
    mobile_tokens: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    qr_codes: dict[str, dict[str, Any]] = field(default_factory=dict)  # login -> QR jeton
    drafts: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)  # person -> id
    counter: int = 0  # the last number used in a written id

    def next_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    # -- news and homework -----------------------------------------------------------------

    def has_read(self, person_id: str, news_id: str) -> bool:
        return news_id in self.news_read.get(person_id, ())

    def mark_news(self, person_id: str, news_id: str, read: bool) -> None:
        _toggle(self.news_read, person_id, news_id, read)

    def answer_survey(self, person_id: str, news_id: str, choices: list[int]) -> None:
        self.survey_answers.setdefault(person_id, {})[news_id] = sorted(set(choices))

    def answers(self, person_id: str, news_id: str) -> list[int] | None:
        return self.survey_answers.get(person_id, {}).get(news_id)

    def is_done(self, student_id: str, homework_id: str) -> bool:
        return homework_id in self.homework_done.get(student_id, ())

    def mark_homework(self, student_id: str, homework_id: str, done: bool) -> None:
        _toggle(self.homework_done, student_id, homework_id, done)

    # -- serialisation ---------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """What `dataclasses.asdict` gives, ~10x faster: it is saved after every write."""
        return {
            "started": {k: {**vars(v), "participant_ids": list(v.participant_ids)}
                        for k, v in self.started.items()},
            "messages": {k: [dict(vars(m)) for m in v] for k, v in self.messages.items()},
            "seen": {k: dict(v) for k, v in self.seen.items()},
            "binned": {k: list(v) for k, v in self.binned.items()},
            "deleted": {k: list(v) for k, v in self.deleted.items()},
            "news_read": {k: list(v) for k, v in self.news_read.items()},
            "survey_answers": {k: {n: list(a) for n, a in v.items()}
                               for k, v in self.survey_answers.items()},
            "homework_done": {k: list(v) for k, v in self.homework_done.items()},
            "mobile_tokens": {k: {d: dict(r) for d, r in v.items()}
                              for k, v in self.mobile_tokens.items()},
            "qr_codes": {k: dict(v) for k, v in self.qr_codes.items()},
            "drafts": {k: {d: dict(r) for d, r in v.items()} for k, v in self.drafts.items()},
            "counter": self.counter,
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Activity:
        return cls(
            started={k: StartedDiscussion(**v) for k, v in data.get("started", {}).items()},
            messages={
                k: [WrittenMessage(**m) for m in v] for k, v in data.get("messages", {}).items()
            },
            seen={k: dict(v) for k, v in data.get("seen", {}).items()},
            binned={k: list(v) for k, v in data.get("binned", {}).items()},
            deleted={k: list(v) for k, v in data.get("deleted", {}).items()},
            news_read={k: list(v) for k, v in data.get("news_read", {}).items()},
            survey_answers={k: dict(v) for k, v in data.get("survey_answers", {}).items()},
            homework_done={k: list(v) for k, v in data.get("homework_done", {}).items()},
            mobile_tokens={k: dict(v) for k, v in data.get("mobile_tokens", {}).items()},
            qr_codes=dict(data.get("qr_codes", {})),
            drafts={k: dict(v) for k, v in data.get("drafts", {}).items()},
            counter=int(data.get("counter", 0)),
        )


def _toggle(table: dict[str, list[str]], owner: str, item: str, present: bool) -> None:
    items = table.setdefault(owner, [])
    if present and item not in items:
        items.append(item)
    elif not present and item in items:
        items.remove(item)
