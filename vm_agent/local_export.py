"""The school's own Serveur PRONOTE, installed at the school, generating the files for hosting
("Fichier > HÉBERGEMENT DE PRONOTE > Générer les fichiers pour l'hébergement", seed 004
Fiche 7): `<base>.HNOT`, the `.HCOURRIERS`, `.HDOCJOINTS`, `.HPHOTOS` annexes and the users
file `.profils`, all made for one hosting number (format: common.hnot).

It is a program of its own (`python -m vm_agent.local_export`, which `pronote-dc hnot
generate` runs), so the base travels exactly as the school server serializes it. It reads a
JSON request on stdin and writes JSON lines on stdout: progress, then the result.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import random
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common import hnot, secrets
from common.files import write_atomically
from common.hnot import FileKind, Header
from vm_agent.domain import synthetic
from vm_agent.domain.bases import base_to_dict, new_base
from vm_agent.domain.errors import AgentError
from vm_agent.domain.modes import PERSON_USER_KINDS
from vm_agent.domain.school_data import SchoolData

# Vie scolaire counters the synthetic school does not count itself.
VIE_SCOLAIRE = {"sanctions": 4, "punitions": 25, "retards": 210, "suivis": 12}
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Request:
    uai: str
    hosting_number: str
    school_year: str
    output_dir: Path
    password: str
    professeurs: int = 5
    documents: int = 20
    photos: int = 20
    courriers: int = 10
    annexe_item_bytes: int = 4096


def generate(request: Request, progress: Progress) -> dict[str, Any]:
    """Write the five files; return their names, sizes and the accounts in .profils."""
    hnot.check_hosting_number(request.hosting_number)
    rng = random.Random(f"{request.uai}/{request.school_year}")
    base = new_base(request.school_year, time.time())
    # The school's own base holds its synthetic school, seeded by its UAI (vm_agent.synthetic).
    resources = synthetic.typical_counters(request.uai, None)
    base.seed = request.uai
    base.counters = dataclasses.replace(
        synthetic.count(request.uai, request.school_year, resources), **VIE_SCOLAIRE
    )
    header = Header(
        kind=FileKind.HNOT,
        version=hnot.FORMAT_VERSION,
        uai=request.uai,
        hosting_number=request.hosting_number,
        school_year=request.school_year,
        generation_id=uuid.uuid4().hex,
        generated_at_seconds=base.created_at_seconds,
        payload_size=0,
    )
    users = _users(request, synthetic.roster(base.seed, base.school_year, resources))
    counts = {FileKind.HDOCJOINTS: request.documents, FileKind.HPHOTOS: request.photos,
              FileKind.HCOURRIERS: request.courriers}  # fmt: skip
    total = 1 + sum(counts.values()) + len(users)
    done = 0

    def step(label: str, amount: int = 1) -> None:
        nonlocal done
        done += amount
        progress(label, done, total)

    payloads: dict[FileKind, dict[str, Any]] = {FileKind.HNOT: {"base": base_to_dict(base)}}
    step(base.name)
    extensions = {FileKind.HDOCJOINTS: "pdf", FileKind.HPHOTOS: "jpg", FileKind.HCOURRIERS: "rtf"}
    for kind, count in counts.items():
        items = []
        for n in range(count):
            data = rng.randbytes(request.annexe_item_bytes)
            items.append(
                {"name": f"{n + 1:05d}.{extensions[kind]}", "data": base64.b64encode(data).decode()}
            )
            step(kind.value)
        payloads[kind] = {"items": items}
    payloads[FileKind.PROFILS] = {"users": [u for u, _ in users]}
    step(FileKind.PROFILS.value, len(users))
    files = []
    for kind, payload in payloads.items():
        data = hnot.encode(Header(**{**header.__dict__, "kind": kind}), payload)
        path = request.output_dir / hnot.file_name(base.name, kind)
        write_atomically(path, data, mode=0o600)
        files.append({"kind": kind.value, "path": str(path), "size": len(data)})
    return {
        "base": base.name,
        "generation_id": header.generation_id,
        "files": files,
        "accounts": [{"login": u["login"], "password": pw, "kind": u["kind"]} for u, pw in users],
    }


def _users(request: Request, roster: SchoolData) -> list[tuple[dict[str, Any], str]]:
    """The accounts of the school's users, as its .profils file holds them: the staff and
    the first teachers of its synthetic school."""
    people = [*roster.staff, *roster.teachers[: request.professeurs]]
    users = []
    for person in people:
        kind, group = PERSON_USER_KINDS[person.kind]
        password = request.password or secrets.new_password()
        account = {
            "login": person.login,
            "password_hash": secrets.hash_secret(password),
            "display_name": person.display_name,
            "kind": kind.value,
            "group": group,
            "synthetic": True,
        }
        users.append((account, password))
    return users


def main() -> None:
    raw = json.load(sys.stdin)
    request = Request(**{**raw, "output_dir": Path(raw["output_dir"])})

    def report(label: str, done: int, total: int) -> None:
        print(json.dumps({"progress": label, "done": done, "total": total}), flush=True)

    try:
        result = generate(request, report)
    except (hnot.BadFile, AgentError, OSError, ValueError) as error:
        print(json.dumps({"error": str(error)}), flush=True)
        raise SystemExit(1) from None
    print(json.dumps({"result": result}), flush=True)


if __name__ == "__main__":
    main()
