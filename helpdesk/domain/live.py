"""The live staff queue's rules: which audit events staff browsers hear about, presence expiry, notices.

Pure: the standard library only, time passed in. A *notice* is what goes between instances (PostgreSQL
NOTIFY or in process): ids and kinds, never a ticket's content; the browser asks for the content itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from helpdesk.domain.events import EventKind

NAME_MAX = 60  # a staff member's display name, cut, in a presence notice


class LiveKind(StrEnum):
    QUEUE = "queue"  # a ticket was created: the queue has a new row
    MESSAGE = "message"  # a message was added to a ticket (inbound, reply, note)
    TICKET = "ticket"  # a ticket's fields changed (status, assignment, team, priority, tags, merge…)
    PRESENCE = "presence"  # a staff member views or types on a ticket, or left it
    RESYNC = "resync"  # this instance may have missed notices (the listener reconnected): reload what you show


class PresenceState(StrEnum):
    VIEWING = "viewing"
    TYPING = "typing"
    LEFT = "left"


# How long a heartbeat counts: a page sends « viewing » every 10 s, « typing » at most every 3 s while typing.
# A « typing » heartbeat counts as « viewing » once its 8 s are over (see state_at).
PRESENCE_TTL: dict[PresenceState, timedelta] = {
    PresenceState.VIEWING: timedelta(seconds=30),
    PresenceState.TYPING: timedelta(seconds=8),
    PresenceState.LEFT: timedelta(0),
}

_AUDIT_TO_LIVE: dict[str, LiveKind] = {
    EventKind.TICKET_CREATED: LiveKind.QUEUE,
    EventKind.MESSAGE_RECEIVED: LiveKind.MESSAGE,
    EventKind.REPLY_QUEUED: LiveKind.MESSAGE,
    EventKind.NOTE_ADDED: LiveKind.MESSAGE,
    EventKind.FILE_CHECKED: LiveKind.MESSAGE,  # the file-check note
    EventKind.REPLY_SENT: LiveKind.TICKET,
    EventKind.REPLY_FAILED: LiveKind.TICKET,
    EventKind.REPLY_RESENT: LiveKind.TICKET,
    EventKind.STATUS_CHANGED: LiveKind.TICKET,
    EventKind.ASSIGNED: LiveKind.TICKET,
    EventKind.TEAM_CHANGED: LiveKind.TICKET,
    EventKind.PRIORITY_CHANGED: LiveKind.TICKET,
    EventKind.TAGS_CHANGED: LiveKind.TICKET,
    EventKind.FOLLOW_UP_OPENED: LiveKind.QUEUE,
    EventKind.LINKED: LiveKind.TICKET,
    EventKind.MERGED: LiveKind.TICKET,
    EventKind.SPLIT: LiveKind.QUEUE,
    EventKind.SLA_WARNING: LiveKind.TICKET,
    EventKind.SLA_BREACH: LiveKind.TICKET,
}


def live_kind(audit_kind: str) -> LiveKind | None:
    """What staff browsers hear of an audit event; None for what they do not (views, FAQ, accounts…)."""
    return _AUDIT_TO_LIVE.get(audit_kind)


@dataclass(frozen=True, slots=True)
class Notice:
    kind: LiveKind
    ticket_id: int | None = None
    staff_id: int | None = None
    state: PresenceState | None = None  # presence only
    name: str = ""  # presence only: the staff member's display name (not ticket content)
    origin: str = ""  # the instance that published it (it delivers its own notices locally)


def notices_for_commit(audit: list[tuple[int | None, str]]) -> list[Notice]:
    """The notices of one committed transaction's audit events: one per (ticket, live kind), in order."""
    seen: set[tuple[int | None, LiveKind]] = set()
    out: list[Notice] = []
    for ticket_id, kind in audit:
        lk = live_kind(kind)
        if lk is None or ticket_id is None or (ticket_id, lk) in seen:
            continue
        seen.add((ticket_id, lk))
        out.append(Notice(lk, ticket_id))
    return out


def encode(notice: Notice) -> dict[str, Any]:
    out: dict[str, Any] = {"k": notice.kind.value}
    if notice.ticket_id is not None:
        out["t"] = notice.ticket_id
    if notice.staff_id is not None:
        out["s"] = notice.staff_id
    if notice.state is not None:
        out["p"] = notice.state.value
    if notice.name:
        out["n"] = notice.name[:NAME_MAX]
    if notice.origin:
        out["o"] = notice.origin
    return out


def _small_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31 else None


def decode(item: Any) -> Notice | None:
    """A notice from its JSON form; None for anything malformed (a payload is never trusted)."""
    if not isinstance(item, dict):
        return None
    try:
        kind = LiveKind(str(item.get("k")))
        state = PresenceState(item["p"]) if "p" in item else None
    except ValueError:
        return None
    name, origin = item.get("n", ""), item.get("o", "")
    if not isinstance(name, str) or not isinstance(origin, str):
        return None
    notice = Notice(kind, _small_int(item.get("t")), _small_int(item.get("s")), state, name[:NAME_MAX], origin[:64])
    if kind is LiveKind.PRESENCE and (notice.ticket_id is None or notice.staff_id is None or state is None):
        return None
    return notice


# ---- presence ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Beat:
    """The last heartbeat of one staff member on one ticket."""

    staff_id: int
    name: str
    state: PresenceState
    at: datetime


def state_at(beat: Beat, now: datetime) -> PresenceState | None:
    """What a heartbeat says at ``now``: « typing » for 8 s, then « viewing » until 30 s, then nothing.

    Typing implies viewing: when the typing stops, the person still has the ticket open."""
    if beat.state is PresenceState.LEFT or now < beat.at - PRESENCE_TTL[PresenceState.VIEWING]:
        return None  # left, or a stamp from the future (a clock set back): not trusted
    if beat.state is PresenceState.TYPING and now < beat.at + PRESENCE_TTL[PresenceState.TYPING]:
        return PresenceState.TYPING
    if now < beat.at + PRESENCE_TTL[PresenceState.VIEWING]:
        return PresenceState.VIEWING
    return None


def is_current(beat: Beat, now: datetime) -> bool:
    return state_at(beat, now) is not None


def others(beats: list[Beat], me: int, now: datetime) -> list[tuple[str, PresenceState]]:
    """Who else is on the ticket, by name: typing first, then viewing; never ``me``, never expired."""
    found = [(b, st) for b in beats if b.staff_id != me and (st := state_at(b, now)) is not None]
    found.sort(key=lambda bs: (bs[1] is not PresenceState.TYPING, bs[0].name.casefold(), bs[0].staff_id))
    return [(b.name, st) for b, st in found]


def describe(viewers: list[tuple[str, PresenceState]]) -> str:
    """The French sentence a staff member reads (empty when nobody else is there)."""
    typing = [n for n, s in viewers if s is PresenceState.TYPING]
    viewing = [n for n, s in viewers if s is PresenceState.VIEWING]
    parts: list[str] = []
    if typing:
        parts.append(_names(typing) + (" est en train de répondre" if len(typing) == 1
                                      else " sont en train de répondre"))
    if viewing:
        parts.append(_names(viewing) + (" consulte ce ticket" if len(viewing) == 1 else " consultent ce ticket"))
    return (" ; ".join(parts) + ".") if parts else ""


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " et " + names[-1]
