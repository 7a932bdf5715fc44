"""What the Serveur PRONOTE does with the files a school sends (seed 004 Fiches 5 and 7):
"Charger une base" (`.HNOT`), "Compléter la base hébergée" (annexes), "Récupérer les
utilisateurs" (`.profils`), initialising a base from EDT (`.zip`) and "Autres bases".

Files arrive verified (format, version, checksum: common.hnot, common.edt_zip); here every
other check is made before anything changes, so a refusal leaves the bases as they were.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from common.edt_zip import Transfer
from common.hnot import FileKind, Header
from vm_agent.domain import synthetic
from vm_agent.domain.bases import Base, User, base_from_dict, find_base
from vm_agent.domain.errors import AlreadyExists, InvalidArgument, WrongState
from vm_agent.domain.history import Action
from vm_agent.domain.modes import UserKind
from vm_agent.domain.publication import parse_espace
from vm_agent.domain.school import SchoolServer

ANNEXE_COUNTERS = {
    FileKind.HDOCJOINTS: "documents_joints",
    FileKind.HPHOTOS: "photos",
    FileKind.HCOURRIERS: "courriers",
}
_HASH_SCHEMES = ("scrypt", "sha256")
_RESOURCE_COUNTERS = ("professeurs", "matieres", "classes", "groupes", "eleves", "salles")


def check_binding(school: SchoolServer, header: Header, hosting_number: str) -> None:
    """A hosting file is made for one hosting: its number and this school's UAI."""
    if header.hosting_number != hosting_number:
        raise InvalidArgument(
            f"this file was generated for hosting number {header.hosting_number}, not for "
            f"this school's ({hosting_number}): generate it again with your hosting number"
        )
    if header.uai != school.identity.uai:
        raise InvalidArgument(
            f"this file is the base of school {header.uai}, not of {school.identity.uai}"
        )


def check_kind(header: Header, wanted: tuple[FileKind, ...], command: str) -> None:
    if header.kind not in wanted:
        expected = " or ".join(f"*.{k.value}" for k in wanted)
        raise InvalidArgument(f"this is a *.{header.kind.value} file; {command} takes {expected}")


def target_base(school: SchoolServer, base_id: str, action: str) -> Base:
    """The base a file goes into: the one named, else the base in service."""
    if base_id:
        return find_base(school.bases, base_id)
    base = school.base_in_service
    if base is None:
        raise WrongState(f"no base is in service: say which base to {action} (its id)")
    return base


def load_base(school: SchoolServer, header: Header, payload: dict[str, Any]) -> Base:
    """Charger une base: the base joins "Bases téléchargées depuis l'établissement", not in
    service; the user opens it or puts it in service afterwards."""
    school.require_stopped("load a base")
    check_kind(header, (FileKind.HNOT,), "Charger une base")
    try:
        # A file brings its counters as they are: it never asks to be counted (DESIGN 30).
        loaded = base_from_dict(
            {**payload["base"], "id": "", "ever_in_service": False, "counted": True}
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise InvalidArgument(f"the base in this file cannot be read ({error!r})") from None
    if loaded.school_year != header.school_year:
        raise InvalidArgument("the base's school year differs from its header's: file altered")
    for base in school.bases:
        if base.generation_id == header.generation_id:
            raise AlreadyExists(
                f"this file was already loaded as {base.name} (base {base.id}); open it from "
                "Autres bases"
            )
    loaded.id = uuid.uuid4().hex[:12]
    loaded.origin = "etablissement"
    loaded.generation_id = header.generation_id
    school.bases.append(loaded)
    school.commit(Action.BASE_LOADED, f"{loaded.name} ({loaded.id})")
    return loaded


def complete_base(
    school: SchoolServer, base_id: str, header: Header, payload: dict[str, Any]
) -> tuple[Base, int]:
    """Compléter la base hébergée: the annexe's documents, photos or letters join the base it
    was generated with; its counter shows them."""
    check_kind(header, tuple(ANNEXE_COUNTERS), "Compléter la base hébergée")
    base = target_base(school, base_id, "complete")
    if base.generation_id != header.generation_id:
        raise InvalidArgument(
            f"these annexes were generated with another base than {base.name}: give the "
            "annexes generated together with the .HNOT you loaded"
        )
    items = payload.get("items")
    if not isinstance(items, list):
        raise InvalidArgument("the annexe lists no items: generate it again")
    setattr(base.counters, ANNEXE_COUNTERS[header.kind], len(items))
    school.commit(
        Action.BASE_COMPLETED, f"{base.name}: {len(items)} {ANNEXE_COUNTERS[header.kind]}"
    )
    return base, len(items)


def recover_users(
    school: SchoolServer, base_id: str, header: Header, payload: dict[str, Any]
) -> tuple[Base, int]:
    """Récupérer les utilisateurs: accounts with their password hashes and groups; the SPR
    defined at the first mise en service stays."""
    check_kind(header, (FileKind.PROFILS,), "Récupérer les utilisateurs")
    base = target_base(school, base_id, "recover the users into")
    users = [_user(item) for item in _list(payload, "users")]
    spr = base.spr
    kept = {
        login: user
        for login, user in base.users.items()
        if login.lower() not in {u.login.lower() for u in users} or user.is_spr
    }
    recovered = [u for u in users if spr is None or u.login.lower() != spr.login.lower()]
    roster = synthetic.roster(base.seed, base.school_year, base.synthetic_resources)
    for user in recovered:  # a person of this base's synthetic school, or an added account
        user.synthetic = user.synthetic and roster.person(user.login) is not None
    candidate = dataclasses.replace(base, users=kept, counters=dataclasses.replace(base.counters))
    for user in recovered:
        candidate.add_user(user)  # validates every login before the base changes
    base.users, base.counters = candidate.users, candidate.counters
    school.commit(Action.USERS_RECOVERED, f"{base.name}: {len(recovered)} utilisateurs")
    return base, len(recovered)


def initialise_from_edt(
    school: SchoolServer, base_id: str, transfer: Transfer, espaces: dict[str, bool] | None
) -> Base:
    """Fichier > Nouvelle base > À partir d'EDT: a new empty base gets EDT's resources and
    timetable; the espaces chosen at the transfer are published or not."""
    base = target_base(school, base_id, "initialise from EDT")
    if base.edt or any(getattr(base.counters, n) for n in _RESOURCE_COUNTERS):
        raise WrongState(
            f"{base.name} already has resources: initialise a new empty base from EDT "
            "(create one first)"
        )
    if transfer.uai != school.identity.uai:
        raise InvalidArgument(f"this EDT transfer is for school {transfer.uai}")
    if transfer.school_year != base.school_year:
        raise InvalidArgument(
            f"this EDT transfer is for {transfer.school_year}, the base is {base.school_year}"
        )
    choice = transfer.espaces if espaces is None else espaces
    flags = {parse_espace(name): on for name, on in choice.items()}
    base.edt = {
        "grille": transfer.grid,
        "ressources": transfer.resources,
        "cours": transfer.lessons,
    }
    for kind, names in transfer.resources.items():
        setattr(base.counters, kind, len(names))
    base.counters.eleves = transfer.eleves
    if base.origin == "":
        base.origin = "edt"
    school.history.record(
        school.now(),
        Action.BASE_INITIALISED_FROM_EDT,
        f"{base.name}: {len(transfer.lessons)} cours",
    )
    if flags:
        # The transfer's step 5 chooses them whether or not publication is running.
        school.publication.espaces.update(flags)
        published = ", ".join(e.value for e, on in flags.items() if on) or "aucun"
        school.history.record(
            school.now(), Action.PUBLICATION_CHANGED, f"espaces publiés: {published}"
        )
    school.commit_saved()
    return base


def open_base(school: SchoolServer, base_id: str, spr_login: str, spr_password: str) -> Base:
    """Autres bases > Ouvrir cette base (server stopped), which puts it in service."""
    base = find_base(school.bases, base_id)
    school.require_stopped(f"open {base.name}")
    school.history.record(school.now(), Action.BASE_OPENED, f"{base.name} ({base.id})")
    return school.put_in_service(base_id, spr_login, spr_password)


def _list(payload: dict[str, Any], key: str) -> list[Any]:
    value = payload.get(key)
    if not isinstance(value, list):
        raise InvalidArgument(f"the file has no {key} list: generate it again")
    return value


def _user(item: Any) -> User:
    try:
        kind = UserKind(item["kind"])
        password_hash = str(item["password_hash"])
        if password_hash.split("$")[0] not in _HASH_SCHEMES or password_hash.count("$") != 2:
            raise ValueError(f"password hash of {item['login']!r} has an unknown scheme")
        return User(
            login=str(item["login"]),
            password_hash=password_hash,
            display_name=str(item.get("display_name") or item["login"]),
            kind=kind,
            group=str(item.get("group", "")),
            synthetic=bool(item.get("synthetic", False)),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidArgument(f"a user in the .profils file cannot be read ({error})") from None
