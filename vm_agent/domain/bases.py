"""Bases of one school: an empty base per school year, mise en service, users, counters."""

from __future__ import annotations

import dataclasses
import enum
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from common import secrets
from vm_agent.domain import synthetic
from vm_agent.domain.activity import Activity
from vm_agent.domain.counters import RESOURCE_FIELDS, BaseCounters
from vm_agent.domain.errors import AlreadyExists, BadCredentials, InvalidArgument, NotFound
from vm_agent.domain.modes import ADMINISTRATION_GROUP, UserKind
from vm_agent.domain.school_data import SchoolData

_SCHOOL_YEAR = re.compile(r"^(\d{4})-(\d{4})$")
_LOGIN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class ServerState(enum.Enum):
    STOPPED = "arrete"
    SERVING = "en_service"


@dataclass
class User:
    login: str
    password_hash: str
    display_name: str
    kind: UserKind
    group: str = ""
    is_spr: bool = False
    synthetic: bool = False  # a person of the synthetic school, given a password

    @property
    def in_administration_group(self) -> bool:
        return self.is_spr or self.group == ADMINISTRATION_GROUP

    def check_password(self, password: str) -> bool:
        return secrets.verify(password, self.password_hash)


@dataclass
class Base:
    id: str
    school_year: str
    created_at_seconds: float
    counters: BaseCounters = field(default_factory=BaseCounters)
    users: dict[str, User] = field(default_factory=dict)
    ever_in_service: bool = False
    # Where it came from: "" created on the console, "etablissement" loaded from a .HNOT
    # (its generation_id binds the annexes generated with it), "edt" initialised from EDT.
    origin: str = ""
    generation_id: str = ""
    edt: dict[str, Any] = field(default_factory=dict)  # EDT's resources and timetable
    seed: str = ""  # the synthetic school this base holds (empty: an empty base)

    @property
    def data(self) -> SchoolData:
        """The base's school, regenerated from its seed and Ressources counters (cached)."""
        return synthetic.generate(self.seed, self.school_year, self.synthetic_resources)

    @property
    def synthetic_resources(self) -> BaseCounters:
        """The Ressources counters the synthetic school was generated with (users added
        later count as professeurs too, but do not change the school)."""
        added = self._added_professeurs()
        resources = {name: getattr(self.counters, name) for name in RESOURCE_FIELDS}
        resources["professeurs"] -= added
        return BaseCounters(**resources)

    def _added_professeurs(self) -> int:
        return sum(
            1
            for u in self.users.values()
            if u.kind is UserKind.PROFESSEUR and not u.synthetic and not u.is_spr
        )

    records: dict[str, int] = field(default_factory=dict)
    """Records per data kind of vm_agent.domain.rentree (what last year can carry over)."""
    activity: Activity = field(default_factory=Activity)
    """What its users wrote through PRONOTE.net (vm_agent.domain.activity)."""
    counted: bool = True
    """False while a synthetic base's Scolarité and Vie scolaire counters are left to count
    (created with `count_later`: `SchoolServer.count_pending` counts them)."""

    @property
    def name(self) -> str:
        return f"Base année {self.school_year}.not"

    @property
    def spr(self) -> User | None:
        return next((user for user in self.users.values() if user.is_spr), None)

    def add_user(self, user: User) -> None:
        if not _LOGIN.match(user.login):
            raise InvalidArgument(
                f"login {user.login!r} is not valid: use 1-64 letters, digits, '.', '_' or '-'"
            )
        if user.login.lower() in (login.lower() for login in self.users):
            raise AlreadyExists(f"a user {user.login!r} already exists in {self.name}")
        synthetic_teachers = self.synthetic_resources.professeurs
        self.users[user.login] = user
        self.counters.professeurs = synthetic_teachers + self._added_professeurs()

    def authenticate(self, login: str, password: str) -> User:
        user = self.users.get(login)
        if user is None or not user.check_password(password):
            raise BadCredentials("wrong login or password; check both and try again")
        return user


def new_base(school_year: str, now_seconds: float) -> Base:
    match = _SCHOOL_YEAR.match(school_year)
    if not match or int(match.group(2)) != int(match.group(1)) + 1:
        raise InvalidArgument(
            f"school year {school_year!r} is not valid: write it as two consecutive years, "
            "e.g. 2026-2027"
        )
    return Base(id=uuid.uuid4().hex[:12], school_year=school_year, created_at_seconds=now_seconds)


def find_base(bases: list[Base], base_id: str) -> Base:
    for base in bases:
        if base.id == base_id:
            return base
    known = ", ".join(b.id for b in bases) or "none yet"
    raise NotFound(f"no base {base_id!r} on this server (bases: {known}); list them first")


def base_to_dict(base: Base) -> dict[str, Any]:
    data = dataclasses.asdict(dataclasses.replace(base, activity=Activity()))
    data["activity"] = base.activity.to_dict()  # the part that grows: copied by hand
    for user in data["users"].values():
        user["kind"] = user["kind"].value
    return data


def base_from_dict(data: dict[str, Any]) -> Base:
    users = {
        login: User(**{**user, "kind": UserKind(user["kind"])})
        for login, user in data["users"].items()
    }
    return Base(
        id=data["id"],
        school_year=data["school_year"],
        created_at_seconds=data["created_at_seconds"],
        counters=BaseCounters(**data["counters"]),
        users=users,
        ever_in_service=data["ever_in_service"],
        origin=data.get("origin", ""),
        generation_id=data.get("generation_id", ""),
        edt=data.get("edt", {}),
        seed=data.get("seed", ""),  # states saved before synthetic schools have none
        records={str(k): int(v) for k, v in data.get("records", {}).items()},
        activity=Activity.from_dict(data.get("activity", {})),
        counted=bool(data.get("counted", True)),  # states saved before it were counted
    )
