"""Which ticket an inbound message belongs to: a pure decision over what the store found.

Order: In-Reply-To, then References, then a subject tag ``[#N]`` from a participant, then a new
ticket. A tag from someone who is not a participant never attaches: it opens a new ticket linked
to the tagged one, so no outsider can write into someone else's ticket.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class ThreadVia(StrEnum):
    EXPLICIT = "explicit"
    IN_REPLY_TO = "in_reply_to"
    REFERENCES = "references"
    TAG = "tag"
    NEW = "new"


@dataclass(frozen=True, slots=True)
class ThreadEvidence:
    """What the store answered for the message's threading hints (ticket ids, or None)."""

    explicit_ticket: int | None = None
    in_reply_to_ticket: int | None = None
    references_ticket: int | None = None
    tag_ticket: int | None = None
    tag_from_participant: bool = False
    force_new: bool = False


@dataclass(frozen=True, slots=True)
class ThreadDecision:
    ticket_id: int | None
    via: ThreadVia
    reason: str
    link_to: int | None = None  # a new ticket that should be linked to this one


def decide_thread(ev: ThreadEvidence) -> ThreadDecision:
    if ev.force_new:
        return ThreadDecision(None, ThreadVia.NEW, "new: the requester asked for a new request")
    if ev.explicit_ticket is not None:
        return ThreadDecision(ev.explicit_ticket, ThreadVia.EXPLICIT, "threaded by the channel conversation")
    if ev.in_reply_to_ticket is not None:
        return ThreadDecision(ev.in_reply_to_ticket, ThreadVia.IN_REPLY_TO, "threaded by In-Reply-To")
    if ev.references_ticket is not None:
        return ThreadDecision(ev.references_ticket, ThreadVia.REFERENCES, "threaded by References")
    if ev.tag_ticket is not None:
        if ev.tag_from_participant:
            return ThreadDecision(ev.tag_ticket, ThreadVia.TAG, "threaded by subject tag from a participant")
        return ThreadDecision(
            None,
            ThreadVia.NEW,
            "new: subject tag from someone who is not a participant of that ticket",
            link_to=ev.tag_ticket,
        )
    return ThreadDecision(None, ThreadVia.NEW, "new: no reference to a known ticket")


_PREFIX = r"(?:re|tr|fw|fwd|aw|wg|réf|ref|rép|rep|sv|vs|antw)\.?\s*(?:\[\d+\])?\s*[:：]\s*"
_TAG_RE = re.compile(r"\[#(\d{1,12})\]")
_PREFIXES_RE = re.compile(rf"^\s*(?:{_PREFIX})+", re.IGNORECASE)


def subject_ticket_number(subject: str) -> int | None:
    """The ticket number tagged in a subject (``RE: TR: [#1042] …``), if any."""
    match = _TAG_RE.search(subject or "")
    return int(match.group(1)) if match else None


def strip_reply_prefixes(subject: str) -> str:
    """``RE: TR: Réf. : sujet`` → ``sujet`` (the tag is kept)."""
    return _PREFIXES_RE.sub("", subject or "").strip()
