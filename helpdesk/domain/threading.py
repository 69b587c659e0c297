"""Which ticket an inbound message belongs to: a pure decision over what the store found.

Order: In-Reply-To, then References, then a subject tag ``[#N]`` from a participant, then a new
ticket. A Message-ID or a tag from someone who is not a participant never attaches: it opens a new
ticket linked to that one, with the reason shown, so no outsider can write into someone else's
ticket (a Message-ID is no secret: it travels in every reply and forward).

A participant is the requester, anyone the ticket's messages were sent or copied to, staff, and a
colleague of the requester's own organisation: the same mail domain, unless that domain is a public
webmail (``PUBLIC_WEBMAIL_DOMAINS``), where sharing a domain says nothing.
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
    # Whether the sender is a participant of the ticket In-Reply-To / References point to (intake sets
    # them; automatic mail, which never changes a ticket, is let through).
    in_reply_to_from_participant: bool = True
    references_from_participant: bool = True


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
        if ev.in_reply_to_from_participant:
            return ThreadDecision(ev.in_reply_to_ticket, ThreadVia.IN_REPLY_TO, "threaded by In-Reply-To")
        return ThreadDecision(None, ThreadVia.NEW, "new: In-Reply-To from someone who is not a participant of "
                              "that ticket", link_to=ev.in_reply_to_ticket)
    if ev.references_ticket is not None:
        if ev.references_from_participant:
            return ThreadDecision(ev.references_ticket, ThreadVia.REFERENCES, "threaded by References")
        return ThreadDecision(None, ThreadVia.NEW, "new: References from someone who is not a participant of "
                              "that ticket", link_to=ev.references_ticket)
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


PUBLIC_WEBMAIL_DOMAINS = frozenset({
    "orange.fr", "wanadoo.fr", "free.fr", "laposte.net", "sfr.fr", "neuf.fr", "bbox.fr", "aliceadsl.fr",
    "numericable.fr", "club-internet.fr", "gmail.com", "googlemail.com", "hotmail.fr", "hotmail.com", "live.fr",
    "msn.com", "outlook.fr", "outlook.com", "yahoo.fr", "yahoo.com", "icloud.com", "me.com", "gmx.fr", "gmx.com",
    "aol.com", "protonmail.com", "proton.me", "mailo.com", "netcourrier.com", "ymail.com",
})


def mail_domain(address: str | None) -> str | None:
    if not address or "@" not in address:
        return None
    return address.rsplit("@", 1)[1].strip().lower() or None


def same_organisation(sender: str | None, requester: str | None) -> bool:
    """A colleague from the requester's own mail domain (a shared public webmail domain does not count)."""
    a, b = mail_domain(sender), mail_domain(requester)
    return a is not None and a == b and a not in PUBLIC_WEBMAIL_DOMAINS


def is_participant(sender: str | None, *, requester: str | None, addressed: frozenset[str] | set[str],
                   staff: bool) -> bool:
    """The participant rule over what the store found: ``addressed`` holds every address the ticket's
    messages came from, were sent to or copied to (lower case)."""
    if staff:
        return True
    email = (sender or "").strip().lower()
    if not email:
        return False
    if email == (requester or "").strip().lower() or email in addressed:
        return True
    return same_organisation(email, requester)


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
