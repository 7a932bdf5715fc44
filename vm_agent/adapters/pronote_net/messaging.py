"""Messagerie, onglet 131 (docs/pronote-net/messaging.md): ListeMessagerie, ListeMessages,
SaisieMessage, SaisiePublicMessage, ListeRessourcesPourCommunication, over the domain's
`Mailbox`. What a user writes is saved with the school's state before the answer goes out."""

from __future__ import annotations

import html
import re
from typing import Any

from vm_agent.adapters.pronote_net import formats
from vm_agent.adapters.pronote_net.calls import Call
from vm_agent.adapters.pronote_net.envelope import BAD_REQUEST, CallError, invalid
from vm_agent.domain.errors import InvalidArgument, NotFound
from vm_agent.domain.messaging import Mailbox, Thread, ThreadMessage
from vm_agent.domain.school_data import Person, PersonKind

INBOX, BIN = "ET_R", "ET_T"
LABELS = [{"N": INBOX, "G": 1, "L": "Reçus"}, {"N": BIN, "G": 5, "L": "Corbeille"}]
# EntityKind genres (pawnote src/models/entity-kind.ts): who a recipient is.
GENRES = {
    PersonKind.PROFESSEUR: 3,
    PersonKind.ELEVE: 4,
    PersonKind.RESPONSABLE: 5,
    PersonKind.VIE_SCOLAIRE: 34,
    PersonKind.PERSONNEL: 34,
}
KINDS_BY_GENRE = {3: [PersonKind.PROFESSEUR], 4: [PersonKind.ELEVE],
                  5: [PersonKind.RESPONSABLE],
                  34: [PersonKind.VIE_SCOLAIRE, PersonKind.PERSONNEL]}  # fmt: skip
HINTS = {PersonKind.PROFESSEUR: "Professeur", PersonKind.VIE_SCOLAIRE: "Personnel",
         PersonKind.PERSONNEL: "Personnel", PersonKind.ELEVE: "Eleve",
         PersonKind.RESPONSABLE: "Responsable"}  # fmt: skip
COMMANDS = {"corbeille": "bin", "restauration": "restore", "suppression": "delete"}
REPLY_BUTTON = {"N": 0, "G": 2, "L": "Envoyer à tous"}  # DiscussionSendAction.ReplyEveryone
_TAG = re.compile(r"<[^>]+>")


def mailbox(call: Call) -> Mailbox:
    me = call.me
    if me is None:
        raise CallError(BAD_REQUEST, "Accès refusé", "this account has no messagerie")
    return Mailbox(call.school, call.base.activity, me, now=call.now)


def discussions(call: Call) -> dict[str, Any]:
    """ListeMessagerie: `avecLu: false` lists only the discussions with unread messages."""
    box = mailbox(call)
    only_unread = call.data.get("avecLu") is False
    return {
        "listeEtiquettes": formats.wrapped(LABELS),
        "listeMessagerie": formats.wrapped([_discussion(box, t) for t in box.threads(only_unread)]),
    }


def _discussion(box: Mailbox, thread: Thread) -> dict[str, Any]:
    first, last = (thread.messages[0], thread.last) if thread.messages else (None, None)
    others = [_name(box, i) for i in thread.participant_ids if i != box.me.id]
    return {
        "N": thread.id,
        "estUneDiscussion": True,
        "profondeur": 0,
        "objet": thread.subject,
        "initiateur": first.author_name if first else "",
        "public": ", ".join(others),
        "nbNonLus": thread.unread,
        "nbBrouillons": len(box.drafts(thread.id)),
        "nombreMessages": len(thread.messages),
        "ferme": False,
        "libelleDate": last.sent_at.strftime("%d/%m/%Y") if last else "",
        "messagePourParticipants": formats.wrapped({"N": f"MP-{thread.id}"}),
        "listePossessionsMessages": formats.wrapped([{"N": f"PM-{thread.id}"}]),
        "listeEtiquettes": formats.wrapped([{"N": BIN}] if thread.binned else []),
    }


def messages(call: Call) -> dict[str, Any]:
    """ListeMessages: the messages of the discussions asked, the message a reply answers
    (`messagePourReponse`: the one asked in `message`, else the last) and the reply button;
    pawnote's `marquerCommeLu` marks them read."""
    box = mailbox(call)
    try:
        threads = [box.thread(i) for i in _discussion_ids(box, call.data)]
    except NotFound as refusal:
        raise invalid(str(refusal)) from None
    rows: list[dict[str, Any]] = []
    for thread in threads:
        rows += [_message(box, thread, m) for m in thread.messages]
        rows += [_draft(call, i, d) for i, d in box.drafts(thread.id).items()]
    if call.data.get("marquerCommeLu") is True and threads:
        box.mark([t.id for t in threads], True)
        call.saved()
    asked = call.data.get("message")
    reply_to = asked.get("N") if isinstance(asked, dict) else None
    last = threads[-1].last if threads else None
    if reply_to is None and last is not None:
        reply_to = last.id
    reply: dict[str, Any] = {
        "listeMessages": formats.wrapped(rows),
        "listeBoutons": formats.wrapped([REPLY_BUTTON] if threads else []),
        "messagePourReponse": formats.wrapped({"N": reply_to or "", "G": 0}),
    }
    return reply


def _message(box: Mailbox, thread: Thread, message: ThreadMessage) -> dict[str, Any]:
    mine = message.author_id == box.me.id
    author = box.data.person_by_id(message.author_id)
    others = [i for i in thread.participant_ids if i != message.author_id]
    return {
        "N": message.id,
        "possessionMessage": formats.wrapped({"N": f"PM-{thread.id}"}),
        "emetteur": mine,
        "public_gauche": "Moi" if mine else message.author_name,
        "hint_gauche": HINTS.get(author.kind, "") if author else "",
        "public_droite": "Moi" if not mine else _name(box, others[0]) if others else "",
        "nbPublic": len(others),
        "lu": True,
        "date": formats.moment(message.sent_at),
        "estHTML": True,
        "contenu": formats.wrapped(f"<p>{html.escape(message.content)}</p>", 21),
        "messageSource": formats.wrapped({"N": message.reply_to}),
    }


def _draft(call: Call, draft_id: str, draft: dict[str, str]) -> dict[str, Any]:
    """A draft of the caller, among the messages (pawnote src/decoders/discussion-messages.ts:
    12-13 keeps those with `brouillon` apart; src/decoders/discussion-draft-message.ts)."""
    return {
        "N": draft_id,
        "brouillon": True,
        "possessionMessage": formats.wrapped({"N": draft_id}),
        "messageSource": formats.wrapped({"N": draft["reply_to"]}),
        "emetteur": True,
        "public_gauche": "Moi",
        "estHTML": False,
        "contenu": draft["content"],
        "date": formats.moment(call.now.replace(microsecond=0)),
    }


def write(call: Call) -> dict[str, Any]:
    """SaisieMessage: a reply (`messagePourReponse`), a new discussion (`objet` and
    `listeDestinataires`), or a `commande` on discussions: read/unread, bin, restore, delete."""
    box, data = mailbox(call), call.data
    command = data.get("commande") or ""
    now = call.pronote_net.now()
    try:
        if command in ("pourLu", "lu", "nonLu"):
            read = command == "lu" or (command == "pourLu" and data.get("lu") is not False)
            box.mark(_discussion_ids(box, data), read)
        elif command == "brouillon":
            _save_draft(box, data)
        elif command == "suppression" and _draft_ids(data):
            for draft_id in _draft_ids(data):
                box.drop_draft(draft_id)
        elif command in COMMANDS:
            getattr(box, COMMANDS[command])(_discussion_ids(box, data))
        elif command == "" and isinstance(data.get("listeDestinataires"), list) and "objet" in data:
            ids = [str(r.get("N")) for r in data["listeDestinataires"] if isinstance(r, dict)]
            box.start(str(data["objet"]), _content(data), ids, now)
        elif command == "" and isinstance(data.get("messagePourReponse"), dict):
            reply_to = str(data["messagePourReponse"].get("N", ""))
            draft = data.get("brouillon")
            draft_id = str(draft.get("N", "")) if isinstance(draft, dict) else ""
            if draft_id.startswith("BR"):  # a draft sent (pawnote discussionSendDraft)
                box.drop_draft(draft_id)
            box.reply(_discussion_of(box, reply_to), _content(data), reply_to, now)
        else:
            raise invalid(
                f"SaisieMessage: commande {command!r} is not supported here (a reply, a new "
                "discussion, brouillon, lu/nonLu, corbeille, restauration, suppression)"
            )
    except (InvalidArgument, NotFound) as refusal:
        raise invalid(str(refusal)) from None
    call.saved()
    return {}


def participants(call: Call) -> dict[str, Any]:
    """SaisiePublicMessage: a discussion's participants (`MP-<id>`) or a message's other
    participants (its recipients)."""
    box = mailbox(call)
    asked = call.data.get("message")
    key = str(asked.get("N", "")) if isinstance(asked, dict) else ""
    try:
        if key.startswith("MP-"):
            thread = box.thread(key.removeprefix("MP-"))
            author = ""
        else:
            thread = box.thread(_discussion_of(box, key))
            author = next((m.author_id for m in thread.messages if m.id == key), "")
    except NotFound as refusal:
        raise invalid(str(refusal)) from None
    people = [box.data.person_by_id(i) for i in thread.participant_ids]
    rows = [
        {"N": p.id, "G": GENRES[p.kind], "L": p.display_name, "refusMess": False}
        for p in people
        if p is not None and p.id not in (box.me.id, author)
    ]
    return {"listeDest": formats.wrapped(rows)}


def recipients(call: Call) -> dict[str, Any]:
    """ListeRessourcesPourCommunication: whom this user may write to, of the genre asked in
    `onglet.G` (3 teachers, 34 staff, 4 students, 5 parents)."""
    box = mailbox(call)
    onglet = call.data.get("onglet")
    genre = onglet.get("G") if isinstance(onglet, dict) else None
    kinds = KINDS_BY_GENRE.get(genre) if isinstance(genre, int) else None
    if kinds is None:
        raise invalid("onglet.G must be 3 (teachers), 34 (staff), 4 (students) or 5 (parents)")
    people = [p for p in box.recipients() if p.kind in kinds]
    return {"listeRessourcesPourCommunication": formats.wrapped(
        [_recipient(box, p) for p in people])}  # fmt: skip


def _recipient(box: Mailbox, person: Person) -> dict[str, Any]:
    row: dict[str, Any] = {
        "N": person.id,
        "G": GENRES[person.kind],
        "L": person.display_name,
        "avecDiscussion": True,
        "estPrincipal": False,
    }
    if person.kind is PersonKind.PROFESSEUR:
        row["listeRessources"] = formats.wrapped(
            [{"L": name} for name in box.teacher_subjects(person.id)]
        )
    elif person.kind in (PersonKind.VIE_SCOLAIRE, PersonKind.PERSONNEL):
        label = "CPE" if person.login.startswith("cpe.") else "Personnel"
        if person.kind is PersonKind.PERSONNEL:
            label = "Direction"
        row["fonction"] = formats.wrapped({"L": label})
    return row


def _save_draft(box: Mailbox, data: dict[str, Any]) -> None:
    """commande "brouillon" (pawnote src/api/private/discussion-post-command.ts:8-30): a new
    draft (`brouillon.E` 1, a client-made number) or a change of one of ours."""
    draft = data.get("brouillon")
    answer = data.get("messagePourReponse")
    if not isinstance(draft, dict) or not isinstance(answer, dict):
        raise invalid("a draft needs brouillon {N, E} and messagePourReponse {N}")
    known = str(draft.get("N", ""))
    reply_to = str(answer.get("N", ""))
    draft_id = known if known.startswith("BR") else ""
    box.save_draft(draft_id, _discussion_of(box, reply_to), _content(data), reply_to)


def _draft_ids(data: dict[str, Any]) -> list[str]:
    wanted = data.get("listePossessionsMessages")
    if not isinstance(wanted, list):
        return []
    keys = [str(p.get("N", "")) for p in wanted if isinstance(p, dict)]
    return [k for k in keys if k.startswith("BR")]


def _discussion_ids(box: Mailbox, data: dict[str, Any]) -> list[str]:
    wanted = data.get("listePossessionsMessages")
    if not isinstance(wanted, list):
        return []
    keys = [str(p.get("N", "")) for p in wanted if isinstance(p, dict)]
    return [k.removeprefix("PM-") for k in keys if k.startswith("PM-")]


def _discussion_of(box: Mailbox, message_id: str) -> str:
    """The discussion a message belongs to (M-<discussion>-<n> or a written W<n>)."""
    if message_id.startswith("M-"):
        return message_id[2:].rsplit("-", 1)[0]
    for discussion_id, written in box.activity.messages.items():
        if any(m.id == message_id for m in written):
            return discussion_id
    raise NotFound(f"no message {message_id!r}: reload the discussion and reply again")


def _content(data: dict[str, Any]) -> str:
    value = data.get("contenu", "")
    text = value.get("V", "") if isinstance(value, dict) else value
    return html.unescape(_TAG.sub(" ", str(text))).strip()


def _name(box: Mailbox, person_id: str) -> str:
    person = box.data.person_by_id(person_id)
    return person.display_name if person else ""
