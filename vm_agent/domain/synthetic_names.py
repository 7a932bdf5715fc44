"""Word lists for the synthetic school: French names, subjects, rooms, texts."""

from __future__ import annotations

LAST_NAMES = """
MARTIN BERNARD THOMAS PETIT ROBERT RICHARD DURAND DUBOIS MOREAU LAURENT SIMON MICHEL LEFEBVRE
LEROY ROUX DAVID BERTRAND MOREL FOURNIER GIRARD BONNET DUPONT LAMBERT FONTAINE ROUSSEAU VINCENT
MULLER LEFEVRE FAURE ANDRE MERCIER BLANC GUERIN BOYER GARNIER CHEVALIER FRANCOIS LEGRAND
GAUTHIER GARCIA PERRIN ROBIN CLEMENT MORIN NICOLAS HENRY ROUSSEL MATHIEU GAUTIER MASSON MARCHAND
DUVAL DENIS DUMONT MARIE LEMAIRE NOEL MEYER DUFOUR MEUNIER BRUN BLANCHARD GIRAUD JOLY RIVIERE
LUCAS BRUNET GAILLARD BARBIER ARNAUD MARTINEZ GERARD ROCHE RENARD SCHMITT ROY LEROUX COLIN VIDAL
CARON PICARD ROGER FABRE AUBERT LEMOINE RENAUD DUMAS LACROIX OLIVIER PHILIPPE BOURGEOIS PIERRE
BENOIT REY LECLERC PAYET ROLLAND LECLERCQ GUILLAUME LECOMTE LOPEZ JEAN DUPUY GUILLOT HUBERT
BERGER CARPENTIER SANCHEZ DUPUIS MOULIN LOUIS DESCHAMPS HUET VASSEUR PEREZ BOUCHER FLEURY ROYER
KLEIN JACQUET ADAM PARIS POIRIER MARTY AUBRY GUYOT CARRE CHARLES RENAULT CHARPENTIER MENARD
MAILLARD BARON BERTIN BAILLY HERVE SCHNEIDER FERNANDEZ LE-GALL COLLET LEGER BOUVIER JULIEN
PREVOST MILLET PERROT DANIEL LE-ROUX COUSIN GERMAIN BRETON BESSON LANGLOIS REMY LE-GOFF
PELLETIER LEVEQUE PERRIER
""".split()  # noqa: SIM905

FEMALE_FIRST_NAMES = """
Emma Jade Louise Alice Chloé Lina Léa Rose Anna Mila Inès Ambre Julia Mia Léna Manon Juliette
Lou Zoé Camille Agathe Jeanne Lola Éva Nina Romane Sarah Léonie Clara Margaux Charlotte Iris
Lucie Adèle Victoria Eden Capucine Gabrielle Mathilde Olivia Louna Elsa Giulia Maëlys Apolline
Lisa Alix Victoire Salomé Héloïse Céleste Anaïs Marie Nathalie Isabelle Sophie Catherine
Sandrine Valérie Céline Stéphanie Christine Véronique Sylvie Aurélie Émilie Caroline Laure
Hélène Claire
""".split()  # noqa: SIM905

MALE_FIRST_NAMES = """
Gabriel Léo Raphaël Arthur Louis Lucas Adam Jules Hugo Maël Liam Noah Paul Ethan Tiago Sacha
Gabin Nathan Mohamed Aaron Tom Éden Théo Noé Mathis Martin Axel Léon Marius Victor Robin Samuel
Nolan Timéo Baptiste Enzo Antoine Maxime Clément Alexandre Valentin Mathéo Simon Oscar Malo Côme
Eliott Naël Augustin Isaac Yanis Thomas Nicolas Julien Sébastien Christophe Stéphane Frédéric
Olivier Laurent Philippe Éric David Pierre Jérôme Vincent François Patrick Emmanuel Guillaume
""".split()  # noqa: SIM905

# Each list ends with adults' names (from Nathalie, from Thomas).
_WOMEN, _MEN = FEMALE_FIRST_NAMES.index("Nathalie"), MALE_FIRST_NAMES.index("Thomas")
GIRL_NAMES, WOMAN_NAMES = FEMALE_FIRST_NAMES[:_WOMEN], FEMALE_FIRST_NAMES[_WOMEN:]
BOY_NAMES, MAN_NAMES = MALE_FIRST_NAMES[:_MEN], MALE_FIRST_NAMES[_MEN:]

# (name, short), the ones every timetable uses first; then options and other matières.
COLLEGE_SUBJECTS = [
    ("FRANCAIS", "FRANC"), ("MATHEMATIQUES", "MATHS"), ("HISTOIRE-GEOGRAPHIE", "HI-GE"),
    ("ANGLAIS LV1", "AGL1"), ("SCIENCES VIE & TERRE", "SVT"), ("PHYSIQUE-CHIMIE", "PH-CH"),
    ("TECHNOLOGIE", "TECHN"), ("EDUCATION PHYSIQUE & SPORTIVE", "EPS"),
    ("ARTS PLASTIQUES", "A-PLA"), ("EDUCATION MUSICALE", "EDMUS"),
    ("ENSEIGNEMENT MORAL & CIVIQUE", "EMC"), ("ESPAGNOL LV2", "ESP2"), ("ALLEMAND LV2", "ALL2"),
    ("LATIN", "LCALA"), ("ITALIEN LV2", "ITA2"),
]  # fmt: skip
LYCEE_SUBJECTS = [
    ("FRANCAIS", "FRANC"), ("MATHEMATIQUES", "MATHS"), ("HISTOIRE-GEOGRAPHIE", "HI-GE"),
    ("ANGLAIS LV1", "AGL1"), ("PHYSIQUE-CHIMIE", "PH-CH"), ("SCIENCES VIE & TERRE", "SVT"),
    ("EDUCATION PHYSIQUE & SPORTIVE", "EPS"), ("SCIENCES ECONOMIQUES & SOCIALES", "SES"),
    ("PHILOSOPHIE", "PHILO"), ("ENSEIGNEMENT SCIENTIFIQUE", "ENSSC"),
    ("SCIENCES NUMERIQUES & TECHNO.", "SNT"), ("ENSEIGNEMENT MORAL & CIVIQUE", "EMC"),
    ("ESPAGNOL LV2", "ESP2"), ("ALLEMAND LV2", "ALL2"), ("LATIN", "LCALA"),
    ("ITALIEN LV2", "ITA2"),
]  # fmt: skip
OTHER_SUBJECTS = [
    ("VIE DE CLASSE", "VIE-C"), ("ACCOMPAGNEMENT PERSONNALISE", "AP"), ("DEVOIRS FAITS", "DEVF"),
    ("CHINOIS LV2", "CHI2"), ("GREC ANCIEN", "LCAGR"), ("PORTUGAIS LV2", "POR2"),
    ("ARABE LV2", "ARA2"), ("RUSSE LV2", "RUS2"), ("ANGLAIS SECTION EURO", "AGLEU"),
    ("ESPAGNOL LV3", "ESP3"), ("THEATRE", "THEA"), ("CINEMA-AUDIOVISUEL", "CINE"),
    ("HISTOIRE DES ARTS", "HIDA"), ("EDUCATION AUX MEDIAS", "EMI"),
    ("ATELIER SCIENTIFIQUE", "ATSC"), ("CHORALE", "CHOR"), ("ASSOCIATION SPORTIVE", "AS"),
    ("SECTION SPORTIVE", "SECSP"), ("ORIENTATION", "ORIEN"), ("ATELIER LECTURE", "LECT"),
    ("SOUTIEN MATHEMATIQUES", "SMATH"), ("SOUTIEN FRANCAIS", "SFRAN"),
    ("NUMERIQUE & SC. INFORMATIQUES", "NSI"), ("HUMANITES LITT. PHILOSOPHIE", "HLP"),
    ("LANGUES LITT. CULT. ETRANGERES", "LLCER"), ("HIST.-GEO. GEOPOL. SC. POL.", "HGGSP"),
    ("SCIENCES DE L'INGENIEUR", "SI"), ("MATHEMATIQUES EXPERTES", "MAEXP"),
    ("MATHEMATIQUES COMPLEMENTAIRES", "MACOM"), ("DROIT & GRANDS ENJEUX", "DGEMC"),
    ("LANGUE DES SIGNES", "LSF"), ("OCCITAN", "OCC"), ("BRETON", "BRE"),
    ("ECONOMIE-GESTION", "ECOGE"), ("SCIENCES & LABORATOIRE", "SL"), ("BIOTECHNOLOGIES", "BIOTE"),
    ("CREATION & CULTURE DESIGN", "CCD"), ("ATELIER ROBOTIQUE", "ROBOT"), ("ECHECS", "ECHEC"),
    ("JOURNAL DE L'ETABLISSEMENT", "JOUR"), ("ATELIER THEATRE", "ATTHE"),
    ("EDUCATION AU DEVELOPPEMENT DURABLE", "EDD"), ("SECURITE ROUTIERE", "ASSR"),
    ("PREMIERS SECOURS", "PSC1"), ("ANGLAIS RENFORCE", "AGLR"), ("MUSIQUE ASSISTEE", "MAO"),
]  # fmt: skip

# Weekly hours of the whole class, by level (group lessons are added by the group sets).
COLLEGE_LEVELS = ["6EME", "5EME", "4EME", "3EME"]
LYCEE_LEVELS = ["2NDE", "1ERE", "TLE"]
_COLLEGE_HOURS = {
    "FRANCAIS": 4, "MATHEMATIQUES": 4, "HISTOIRE-GEOGRAPHIE": 3, "ANGLAIS LV1": 3,
    "SCIENCES VIE & TERRE": 1, "PHYSIQUE-CHIMIE": 1, "TECHNOLOGIE": 1,
    "EDUCATION PHYSIQUE & SPORTIVE": 3, "ARTS PLASTIQUES": 1, "EDUCATION MUSICALE": 1,
    "ENSEIGNEMENT MORAL & CIVIQUE": 1,
}  # fmt: skip
LEVEL_HOURS: dict[str, dict[str, int]] = {
    "6EME": {**_COLLEGE_HOURS, "FRANCAIS": 5},
    "5EME": _COLLEGE_HOURS,
    "4EME": _COLLEGE_HOURS,
    "3EME": {**_COLLEGE_HOURS, "SCIENCES VIE & TERRE": 2},
    "2NDE": {
        "FRANCAIS": 4, "MATHEMATIQUES": 4, "HISTOIRE-GEOGRAPHIE": 3, "ANGLAIS LV1": 3,
        "PHYSIQUE-CHIMIE": 2, "SCIENCES VIE & TERRE": 2, "SCIENCES ECONOMIQUES & SOCIALES": 1,
        "EDUCATION PHYSIQUE & SPORTIVE": 2, "SCIENCES NUMERIQUES & TECHNO.": 1,
        "ENSEIGNEMENT MORAL & CIVIQUE": 1,
    },
    "1ERE": {
        "FRANCAIS": 4, "MATHEMATIQUES": 4, "HISTOIRE-GEOGRAPHIE": 3, "ANGLAIS LV1": 2,
        "ENSEIGNEMENT SCIENTIFIQUE": 2, "PHYSIQUE-CHIMIE": 4, "SCIENCES VIE & TERRE": 2,
        "EDUCATION PHYSIQUE & SPORTIVE": 2, "ENSEIGNEMENT MORAL & CIVIQUE": 1,
    },
    "TLE": {
        "PHILOSOPHIE": 4, "MATHEMATIQUES": 6, "HISTOIRE-GEOGRAPHIE": 3, "ANGLAIS LV1": 2,
        "ENSEIGNEMENT SCIENTIFIQUE": 2, "PHYSIQUE-CHIMIE": 4, "EDUCATION PHYSIQUE & SPORTIVE": 2,
        "ENSEIGNEMENT MORAL & CIVIQUE": 1,
    },
}  # fmt: skip

# Groups of a class, in the order they are created: (set, suffix, subject, weekly hours).
# Groups of one set are alternatives (each student is in one), taught at the same time;
# "DEMI" half-classes are taught one after the other; an "OPT" option is for some students.
GROUP_TEMPLATES = [
    ("LV2", "ESP2", "ESPAGNOL LV2", 2),
    ("LV2", "ALL2", "ALLEMAND LV2", 2),
    ("DEMI", "G1", "PHYSIQUE-CHIMIE", 1),
    ("DEMI", "G2", "PHYSIQUE-CHIMIE", 1),
    ("OPT", "LATIN", "LATIN", 2),
    ("LV2", "ITA2", "ITALIEN LV2", 2),
    ("DEMI", "G3", "PHYSIQUE-CHIMIE", 1),
    ("OPT2", "THEATRE", "THEATRE", 1),
]

SPECIAL_ROOMS = {
    "EDUCATION PHYSIQUE & SPORTIVE": "GYMNASE",
    "PHYSIQUE-CHIMIE": "LABO PC",
    "SCIENCES VIE & TERRE": "LABO SVT",
    "TECHNOLOGIE": "SALLE TECHNO",
    "ARTS PLASTIQUES": "SALLE ARTS",
    "EDUCATION MUSICALE": "SALLE MUSIQUE",
    "SCIENCES NUMERIQUES & TECHNO.": "SALLE INFO",
}

HOMEWORK_TEXTS = [
    "Exercices {a} et {b} p. {p}",
    "Apprendre la leçon du chapitre {c}",
    "Réviser pour le contrôle de la semaine prochaine",
    "Lire les pages {p} à {q}",
    "Terminer la fiche d'exercices distribuée en classe",
    "Préparer l'exposé en groupe",
    "Rédiger un paragraphe argumenté (15 lignes)",
    "Faire l'exercice {a} p. {p} sur le cahier",
    "Apprendre le vocabulaire de l'unité {c}",
    "Corriger le devoir en s'aidant du corrigé",
]
EVALUATION_TEXTS = ["Interrogation", "Contrôle", "Devoir maison", "Évaluation", "Devoir surveillé"]
