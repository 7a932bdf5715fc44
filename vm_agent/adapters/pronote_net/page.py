"""The HTML pages: an espace's `Start(...)` page, refusals, and the page commune.

pronotepy treats any page containing "IP" as a suspension (spec §2.1): normal pages never
contain it (lower-case tags), and `Start ({...})` has no spaces and no ',' or ':' in values.
"""

from __future__ import annotations

import html

from common.pronote_net import VERSION, Cipherer

SUSPENDED_TEXT = "Votre adresse IP est provisoirement suspendue"


def espace_page(session_number: int, genre: int, title: str, cipher: Cipherer) -> str:
    # A mode that is off is left out: "CrA:false" is a true string for pronotepy (§10.5).
    flags = (",CrA:true" if cipher.encrypt else "") + (",CoA:true" if cipher.compress else "")
    start = f"{{h:'{session_number}',a:{genre},d:false{flags}}}"
    return (
        '<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8">'
        f"<title>PRONOTE - {html.escape(title)}</title></head>\n"
        f'<body id="id_body" onload="try {{ Start ({start}) }} catch (e) {{ '
        "document.body.textContent = 'Erreur'; }\">\n"
        "<noscript>JavaScript requis</noscript>\n"
        f'<div class="mentions">PRONOTE {VERSION} - Simulation</div>\n</body></html>\n'
    )


def unavailable_page(reason: str) -> str:
    """pawnote reads "Impossible d'a" as PageUnavailable; pronotepy finds no Start()."""
    text = html.escape(f"Impossible d'accéder à la page : {reason}", quote=False)
    return _message_page("Page indisponible", text)


def suspended_page() -> str:
    """Both clients' marker: "IP" for pronotepy, the exact sentence for pawnote."""
    return _message_page("Accès suspendu", SUSPENDED_TEXT)


def commune_page(school_name: str, links: list[tuple[str, str]]) -> str:
    items = "".join(f'<li><a href="{page}">{html.escape(label)}</a></li>' for page, label in links)
    return (
        '<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8">'
        f"<title>PRONOTE - {html.escape(school_name)}</title></head>\n<body>\n"
        f"<h1>{html.escape(school_name)}</h1>\n<ul>{items}</ul>\n"
        f'<div class="mentions">PRONOTE {VERSION} - Simulation</div>\n</body></html>\n'
    )


def _message_page(title: str, text: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8">'
        f"<title>PRONOTE - {title}</title></head>\n<body>\n"
        f"<div>PRONOTE {VERSION}</div>\n<p>{text}</p>\n</body></html>\n"
    )
