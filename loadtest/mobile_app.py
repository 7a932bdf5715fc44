"""What a pawnote-based mobile app does at 7 pm, for the `mobile` load scenario: read the
school's `infoMobileApp.json`, log in with the device's token (the first time with the
password, asking for a token), then the home page, this week's timetable, the marks, the
messages, mark a news read and tick a homework done. Each step is one operation of the
report (`app_instance`, `app_login`, `app_home`, ...), so a refused call shows with why."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from loadtest.web_client import WebClient, WebError

INSTANCE_ID = "0D264427-EEFC-4810-A9E9-346942A862A4"  # what the app sends (pawnote instance.ts)
Step = Callable[[str, Awaitable[Any]], Awaitable[bool]]


@dataclass
class Device:
    """One phone: its id and the last token the school gave it."""

    uuid: str
    token: str = ""
    seen_discussions: set[str] = field(default_factory=set)


def mobile_url(espace_url: str) -> str:
    """http://…/pronote/eleve.html -> http://…/pronote/mobile.eleve.html?fd=1&login=true"""
    root, page = espace_url.rsplit("/", 1)
    return f"{root}/mobile.{page}?fd=1&login=true"


async def instance(client: WebClient) -> dict[str, Any]:
    url = f"{client.root}/infoMobileApp.json?id={INSTANCE_ID}"
    async with client.http.get(url) as response:
        if response.status != 200:
            raise WebError(f"HTTP_{response.status}", f"infoMobileApp.json: {response.status}")
        return dict(await response.json())


async def log_in(client: WebClient, device: Device, login: str, password: str) -> bool:
    """Token login when the device has one, else the password asking for a token."""
    await client.open()
    if device.token:
        ok = await client.login(login, device.token, enConnexionAppliMobile=True,
                                uuidAppliMobile=device.uuid)  # fmt: skip
    else:
        ok = await client.login(login, password, demandeConnexionAppliMobile=True,
                                uuidAppliMobile=device.uuid)  # fmt: skip
    if ok:
        device.token = str(client.auth.get("jetonConnexionAppliMobile", "")) or device.token
    else:
        device.token = ""  # refused: the password again next time
    return ok


async def evening(client: WebClient, step: Step) -> None:
    """Everything the app shows after the login, each a timed step."""
    week = client.current_week()
    general = client.general
    day = general.get("JourOuvre", {})
    await step("app_home", client.call("PageAccueil", {"dateGrille": day}, onglet=7))
    await step("app_timetable", client.timetable(week))
    await step("app_grades", client.grades())
    await step("app_messages", _messages(client))
    await step("app_news_read", _read_news(client))
    await step("app_homework_done", _tick_homework(client, week))


async def _messages(client: WebClient) -> int:
    listing = await client.call("ListeMessagerie", {"avecLu": True, "avecMessage": True}, 131)
    items = listing.get("listeMessagerie", {}).get("V", [])
    if items:
        possessions = items[0]["listePossessionsMessages"]["V"]
        wanted = {"listePossessionsMessages": possessions, "marquerCommeLu": True}
        await client.call("ListeMessages", wanted, 131)
    return len(items)


async def _read_news(client: WebClient) -> str:
    news = await client.call("PageActualites", {"modesAffActus": {"_T": 26, "V": "[0]"}}, 8)
    items = [i for m in news.get("listeModesAff", []) for i in m["listeActualites"]["V"]]
    unread = next((i for i in items if i.get("estInformation") and not i.get("lue")), None)
    if unread is None:
        return ""
    item = {"N": unread["N"], "genrePublic": 4, "public": unread.get("public", {}).get("V"),
            "validationDirecte": True, "lue": True, "marqueLueSeulement": True,
            "listeQuestions": [], "saisieActualite": False}  # fmt: skip
    await client.call("SaisieActualites", {"listeActualites": [item]}, 8)
    return str(unread["N"])


async def _tick_homework(client: WebClient, week: int) -> str:
    work = await client.call("PageCahierDeTexte", {"domaine": {"_T": 8, "V": f"[{week}]"}}, 88)
    items = work.get("ListeTravauxAFaire", {}).get("V", [])
    if not items:
        return ""
    first = items[0]
    await client.call("SaisieTAFFaitEleve", {"listeTAF": [
        {"E": 2, "N": first["N"], "TAFFait": not first.get("TAFFait")}]}, 88)  # fmt: skip
    return str(first["N"])
