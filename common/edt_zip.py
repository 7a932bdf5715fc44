"""The `.zip` EDT's "Transfert assisté" produces to initialise a PRONOTE base (seed 003,
"Transfert manuel"; seed 004 Fiche 5): the school's resources and its timetable.

Members (JSON, UTF-8): `edt.json` (format, uai, school_year, the espaces chosen at step 5 of
the transfer, the timetable grid), `ressources.json` (professeurs, matieres, classes,
groupes, salles, with the number of élèves per class) and `cours.json` (the weekly lessons).
The reader trusts nothing: names that climb out of the archive (`../`, absolute paths,
drive letters), members larger than declared or than the caps, too many members and missing
members are refused before anything is used; it never writes a member to disk.
"""

from __future__ import annotations

import io
import json
import random
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from common import bounded_json

FORMAT_VERSION = 1
MANIFEST, RESOURCES, LESSONS = "edt.json", "ressources.json", "cours.json"
REQUIRED = (MANIFEST, RESOURCES, LESSONS)
MAX_MEMBERS = 32
MAX_MEMBER_BYTES = 16 * 1024 * 1024
MAX_TOTAL_BYTES = 64 * 1024 * 1024
RESOURCE_KINDS = ("professeurs", "matieres", "classes", "groupes", "salles")
ESPACES = (
    "direction", "professeur", "viescolaire", "parent", "accompagnant", "eleve", "entreprise",
    "academie",
)  # fmt: skip
DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi")
HOURS = ("08:00", "09:00", "10:00", "11:00", "13:30", "14:30", "15:30", "16:30")


class BadZip(Exception):
    """A zip that is not a usable EDT transfer; the message says what is wrong."""


@dataclass(frozen=True)
class Transfer:
    uai: str
    school_year: str
    espaces: dict[str, bool]
    grid: dict[str, Any]
    resources: dict[str, list[str]]
    eleves: int
    lessons: list[dict[str, str]]


def read(data: bytes) -> Transfer:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError) as error:
        raise BadZip(f"this is not a zip file ({error}); give the .zip EDT generated") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise BadZip(f"the zip has {len(infos)} members, an EDT transfer has {len(REQUIRED)}")
        for info in infos:
            _check_name(info.filename)
        declared = sum(i.file_size for i in infos)
        if declared > MAX_TOTAL_BYTES:
            raise BadZip(
                f"the zip would expand to {declared} bytes (more than {MAX_TOTAL_BYTES}): "
                "refused as a zip bomb"
            )
        names = {i.filename for i in infos}
        missing = [name for name in REQUIRED if name not in names]
        if missing:
            raise BadZip(
                f"the zip lacks {', '.join(missing)}: it is not a complete EDT transfer; "
                "generate it again from EDT (Vers PRONOTE > Transfert assisté)"
            )
        manifest, resources, lessons = (_member(archive, name) for name in REQUIRED)
    return _transfer(manifest, resources, lessons)


def _check_name(name: str) -> None:
    path = PurePosixPath(name.replace("\\", "/"))
    if (
        name.startswith(("/", "\\"))
        or ".." in path.parts
        or (len(name) > 1 and name[1] == ":")
        or "\0" in name
    ):
        raise BadZip(
            f"the zip holds a member named {name!r}, outside the archive (path traversal): "
            "refused, nothing was changed"
        )


def _member(archive: zipfile.ZipFile, name: str) -> Any:
    info = archive.getinfo(name)
    if info.file_size > MAX_MEMBER_BYTES:
        raise BadZip(f"{name} would expand to {info.file_size} bytes: refused as a zip bomb")
    try:
        with archive.open(info) as member:
            data = member.read(MAX_MEMBER_BYTES + 1)  # never trust the declared size
    except (
        zipfile.BadZipFile,
        OSError,
        EOFError,
        NotImplementedError,
        zlib.error,
        ValueError,
    ) as error:
        raise BadZip(f"{name} cannot be read ({error}): the zip is damaged") from None
    if len(data) > MAX_MEMBER_BYTES:
        raise BadZip(f"{name} expands beyond {MAX_MEMBER_BYTES} bytes: refused as a zip bomb")
    try:
        return bounded_json.loads(data)
    except ValueError as error:
        raise BadZip(f"{name} is not valid JSON ({error})") from None


def _transfer(manifest: Any, resources: Any, lessons: Any) -> Transfer:
    try:
        if int(manifest["format"]) > FORMAT_VERSION:
            raise BadZip(
                f"this EDT transfer has format {manifest['format']}, newer than this "
                f"data-center reads ({FORMAT_VERSION}): update pronote-dc"
            )
        espaces = {str(k): bool(v) for k, v in manifest.get("espaces", {}).items()}
        unknown = sorted(set(espaces) - set(ESPACES))
        if unknown:
            raise BadZip(f"unknown espaces {unknown} in {MANIFEST}; known: {', '.join(ESPACES)}")
        lists = {kind: [str(x) for x in resources[kind]] for kind in RESOURCE_KINDS}
        eleves = int(resources["eleves"])
        known = {kind: set(names) for kind, names in lists.items()}
        rows = [{str(k): str(v) for k, v in row.items()} for row in lessons["cours"]]
        for row in rows:
            for field, kind in (("professeur", "professeurs"), ("matiere", "matieres")):
                if row[field] not in known[kind]:
                    raise BadZip(f"a lesson names {kind[:-1]} {row[field]!r}, not in {RESOURCES}")
        return Transfer(
            uai=str(manifest["uai"]),
            school_year=str(manifest["school_year"]),
            espaces=espaces,
            grid=dict(manifest.get("grille", {})),
            resources=lists,
            eleves=eleves,
            lessons=rows,
        )
    except BadZip:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise BadZip(f"the EDT transfer is incomplete or malformed ({error!r})") from None


def build(
    uai: str,
    school_year: str,
    espaces: dict[str, bool],
    professeurs: int = 35,
    classes: int = 16,
    salles: int = 38,
    eleves: int = 422,
) -> bytes:
    """A deterministic EDT transfer for a school (seeded by its UAI), as EDT would write it."""
    rng = random.Random(f"{uai}/{school_year}")
    subjects = ["FRANCAIS", "MATHEMATIQUES", "HISTOIRE-GEOGRAPHIE", "ANGLAIS LV1", "ESPAGNOL LV2",
                "SVT", "PHYSIQUE-CHIMIE", "TECHNOLOGIE", "EPS", "ARTS PLASTIQUES",
                "EDUCATION MUSICALE", "LATIN"]  # fmt: skip
    teachers = [f"PROF{n:03d}" for n in range(1, professeurs + 1)]
    class_names = [f"{6 - n % 4}E{n // 4 + 1}" for n in range(classes)]
    rooms = [f"S{n:03d}" for n in range(1, salles + 1)]
    groups = [f"{c} {half}" for c in class_names for half in ("G1", "G2")]
    lessons = [
        {
            "jour": day,
            "debut": hour,
            "duree": "55",
            "matiere": rng.choice(subjects),
            "professeur": rng.choice(teachers),
            "classe": name,
            "salle": rng.choice(rooms),
        }
        for name in class_names
        for day in DAYS
        for hour in rng.sample(HOURS, 6)
    ]
    members = {
        MANIFEST: {
            "format": FORMAT_VERSION,
            "uai": uai,
            "school_year": school_year,
            "espaces": espaces,
            "grille": {"jours": list(DAYS), "heures": list(HOURS), "pas_minutes": 60},
        },
        RESOURCES: {
            "professeurs": teachers,
            "matieres": subjects,
            "classes": class_names,
            "groupes": groups,
            "salles": rooms,
            "eleves": eleves,
        },
        LESSONS: {"cours": lessons},
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, json.dumps(content, ensure_ascii=False, indent=1))
    return buffer.getvalue()
