"""The synthetic collège's évaluations de compétences, deterministic per seed (their own random
stream): per class, whole-class subject and trimestre, one assessed devoir (two in français and
mathématiques) on a day the subject is taught, on two or three items of the subject's domains,
each student at one of the four levels (or not assessed when absent). Lycées have none: the
socle commun and its cycles are the collège's."""

from __future__ import annotations

import random
from collections import defaultdict

from vm_agent.domain.competences import LEVELS, NOT_ASSESSED, CompetenceEvaluation, Item, Pillar
from vm_agent.domain.school_data import SchoolData
from vm_agent.domain.synthetic_life import _school_days

PILLARS = {
    p.prefix: p
    for p in (
        Pillar(
            "PI1",
            "D1.1",
            "Comprendre, s'exprimer en utilisant la langue française à l'oral et à l'écrit",
        ),
        Pillar(
            "PI2",
            "D1.2",
            "Comprendre, s'exprimer en utilisant une langue étrangère et, le cas échéant, "
            "une langue régionale",
        ),
        Pillar(
            "PI3",
            "D1.3",
            "Comprendre, s'exprimer en utilisant les langages mathématiques, scientifiques "
            "et informatiques",
        ),
        Pillar(
            "PI4", "D1.4", "Comprendre, s'exprimer en utilisant les langages des arts et du corps"
        ),
        Pillar("PI5", "D2", "Les méthodes et outils pour apprendre"),
        Pillar("PI6", "D3", "La formation de la personne et du citoyen"),
        Pillar("PI7", "D4", "Les systèmes naturels et les systèmes techniques"),
        Pillar("PI8", "D5", "Les représentations du monde et l'activité humaine"),
    )
}
# subject -> domain -> [(item, socle component)]: the référentiel a collège's teachers use.
REFERENTIEL: dict[str, dict[str, list[tuple[str, str]]]] = {
    "FRANCAIS": {
        "Comprendre et s'exprimer à l'oral": [("Écouter pour comprendre un message oral", "D1.1"), ("Parler en prenant en compte son auditoire", "D1.1")],  # noqa: E501
        "Lire": [("Lire des œuvres littéraires et des images", "D1.1"), ("Élaborer une interprétation de textes littéraires", "D5")],  # noqa: E501
        "Écrire": [("Écrire avec un clavier rapidement et efficacement", "D2"), ("Rédiger des écrits variés", "D1.1")],  # noqa: E501
        "Étude de la langue": [("Maîtriser la forme des mots en lien avec la syntaxe", "D1.1")],
    },
    "MATHEMATIQUES": {
        "Chercher": [("Extraire d'un document les informations utiles", "D4"), ("Tester, essayer plusieurs pistes de résolution", "D2")],  # noqa: E501
        "Modéliser": [("Traduire en langage mathématique une situation réelle", "D1.3")],
        "Représenter": [("Choisir et produire des représentations adaptées", "D1.3")],
        "Raisonner": [("Démontrer : utiliser un raisonnement logique", "D2")],
        "Calculer": [("Calculer avec des nombres rationnels, de manière exacte ou approchée", "D4")],  # noqa: E501
        "Communiquer": [("Expliquer à l'oral ou à l'écrit sa démarche, son raisonnement", "D1.1")],
    },
    "HISTOIRE-GEOGRAPHIE": {
        "Se repérer dans le temps et l'espace": [("Situer un fait dans une époque ou une période donnée", "D5"), ("Nommer et localiser les grands repères géographiques", "D5")],  # noqa: E501
        "Analyser et comprendre un document": [("Identifier le document et son point de vue particulier", "D2")],  # noqa: E501
        "Pratiquer différents langages": [("Écrire pour construire sa pensée et son savoir", "D1.1")],  # noqa: E501
    },
    "LANGUES": {
        "Écouter et comprendre": [("Comprendre des messages oraux et des documents sonores", "D1.2")],  # noqa: E501
        "Lire": [("Comprendre des textes écrits de nature différente", "D1.2")],
        "Parler en continu": [("Mettre en voix son discours par la prononciation", "D1.2")],
        "Écrire": [("Écrire et réagir à l'écrit", "D1.2")],
    },
    "SCIENCES": {
        "Pratiquer des démarches scientifiques": [("Formuler une question ou une hypothèse", "D4"), ("Interpréter des résultats et en tirer des conclusions", "D4")],  # noqa: E501
        "Concevoir, créer, réaliser": [("Concevoir et mettre en œuvre un protocole expérimental", "D4")],  # noqa: E501
        "Pratiquer des langages": [("Lire et exploiter des données présentées sous différentes formes", "D1.3")],  # noqa: E501
    },
    "EDUCATION PHYSIQUE & SPORTIVE": {
        "Développer sa motricité": [("Acquérir des techniques spécifiques pour améliorer son efficacité", "D1.4")],  # noqa: E501
        "S'approprier une méthode": [("Planifier et réaliser une activité physique", "D2")],
        "Partager des règles": [("Respecter les règles et assumer des rôles sociaux", "D3")],
    },
    "ARTS": {
        "Expérimenter, produire, créer": [("Choisir et mobiliser des techniques", "D1.4")],
        "Mettre en œuvre un projet": [("Concevoir et réaliser un projet artistique", "D2")],
        "S'exprimer, analyser sa pratique": [("Dire avec un vocabulaire approprié ce que l'on fait", "D1.1")],  # noqa: E501
    },
    "ENSEIGNEMENT MORAL & CIVIQUE": {
        "La sensibilité": [("Exprimer des sentiments et des émotions", "D3")],
        "Le jugement": [("Argumenter et respecter les avis différents", "D3")],
        "L'engagement": [("S'engager dans un projet collectif", "D3")],
    },
}  # fmt: skip
FAMILY = {
    "ANGLAIS LV1": "LANGUES", "ESPAGNOL LV2": "LANGUES", "ALLEMAND LV2": "LANGUES",
    "ITALIEN LV2": "LANGUES", "SCIENCES VIE & TERRE": "SCIENCES", "PHYSIQUE-CHIMIE": "SCIENCES",
    "TECHNOLOGIE": "SCIENCES", "ARTS PLASTIQUES": "ARTS", "EDUCATION MUSICALE": "ARTS",
}  # fmt: skip
COLLEGE_CYCLES = {"6EME": "Cycle 3", "5EME": "Cycle 4", "4EME": "Cycle 4", "3EME": "Cycle 4"}
TWICE = frozenset({"FRANCAIS", "MATHEMATIQUES"})
ABSENT_SHARE = 0.03
NAMES = ("Évaluation de compétences", "Évaluation", "Tâche complexe", "Exposé")


def _items() -> dict[str, list[Item]]:
    by_family: dict[str, list[Item]] = {}
    for f, (family, domains) in enumerate(REFERENTIEL.items()):
        items = by_family.setdefault(family, [])
        for d, (domain, entries) in enumerate(domains.items()):
            for i, (label, prefix) in enumerate(entries):
                items.append(Item(f"IT{f}.{d}.{i}", f"DO{f}.{d}", domain, label, PILLARS[prefix]))
    return by_family


ITEMS = _items()


def competence_evaluations(seed: str, data: SchoolData) -> tuple[CompetenceEvaluation, ...]:
    rng = random.Random(f"{seed}|{data.school_year}|compétences")
    subjects = {s.id: s.name for s in data.subjects}
    students_of: dict[str, tuple[str, ...]] = defaultdict(tuple)
    for student in data.students:
        students_of[student.class_id] += (student.id,)
    ability = {s.id: rng.gauss(0.0, 0.8) for s in data.students}
    school_days = _school_days(data)
    found: list[CompetenceEvaluation] = []
    for school_class in data.classes:
        cycle = COLLEGE_CYCLES.get(school_class.level)
        students = students_of.get(school_class.id, ())
        if cycle is None or not students:
            continue
        taught: dict[str, tuple[str, set[int]]] = {}  # subject -> (teacher, weekdays)
        for slot in data.timetable:
            if slot.class_id == school_class.id and not slot.group_id:
                taught.setdefault(slot.subject_id, (slot.teacher_id, set()))[1].add(slot.weekday)
        for subject_id, (teacher_id, weekdays) in sorted(taught.items()):
            name = subjects.get(subject_id, "")
            items = ITEMS.get(FAMILY.get(name, name))
            if not items:
                continue
            for period in data.periods:
                days = [
                    day
                    for day in school_days
                    if period.start <= day <= period.end and day.weekday() in weekdays
                ]
                for _ in range(2 if name in TWICE and days else 1 if days else 0):
                    chosen = tuple(rng.sample(items, min(len(items), rng.choice((2, 3)))))
                    difficulty = rng.gauss(0.0, 0.5)
                    levels = bytearray()
                    for student_id in students:
                        base = 1.4 - ability[student_id] + difficulty
                        for _item in chosen:
                            draw = rng.random()  # one draw a cell: absent, or the noise
                            if draw < ABSENT_SHARE:
                                levels.append(NOT_ASSESSED)
                                continue
                            score = base + (draw - 0.5) * 2.4
                            levels.append(min(len(LEVELS) - 1, max(0, round(score))))
                    found.append(
                        CompetenceEvaluation(
                            id=f"CE{len(found) + 1}",
                            name=rng.choice(NAMES),
                            subject_id=subject_id,
                            class_id=school_class.id,
                            period_id=period.id,
                            teacher_id=teacher_id,
                            date=rng.choice(days),
                            description=f"{chosen[0].domain} : {chosen[0].label.lower()}",
                            cycle=cycle,
                            items=chosen,
                            student_ids=students,
                            levels=bytes(levels),
                        )
                    )
    return tuple(found)
