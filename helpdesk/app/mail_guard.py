"""One guard for every automatic mail to a requester: acknowledgement, file-check summary, rating
request, pending reminder.

An automatic mail is an Outbox row whose idempotency key starts with one of AUTOMATIC_KEYS. Before
one is queued, ``refusal`` counts what already went (or is queued) to the same requester and on the
same ticket, and what came in from that requester: too many → no mail, an event says why (staff see
it on the ticket). With a forged sender, the service then answers a flood with at most a handful of
mails: it cannot be used as a reflector.

Requester-supplied text quoted in these mails (a subject, a file name) is made inert (``inert``):
no link can be made from it, neither by our HTML part nor by the reader's mail client.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from helpdesk.db import store
from helpdesk.db.tables import Contact, Message, Outbox, Ticket
from helpdesk.domain.events import EventKind
from helpdesk.domain.values import Direction

AUTOMATIC_KEYS = ("ack:", "filecheck-summary:", "rating-ask:", "reminder:")
MAIL_SUPPRESSED = EventKind.MAIL_SUPPRESSED


@dataclass(frozen=True, slots=True)
class GuardPolicy:
    per_address: int = 6  # automatic mails to one requester per address window
    address_window: timedelta = timedelta(hours=1)
    per_ticket: int = 4  # automatic mails on one ticket per ticket window
    ticket_window: timedelta = timedelta(hours=1)
    loop_messages: int = 8  # inbound messages from one sender (or on one ticket) per loop window
    loop_window: timedelta = timedelta(minutes=15)


def decide(*, sent_to_address: int, sent_on_ticket: int, inbound_from_sender: int, inbound_on_ticket: int,
           bouncing: bool, policy: GuardPolicy) -> str | None:
    """Why no automatic mail may go now, or None (pure: the counts are read by ``refusal``)."""
    if bouncing:
        return "address bouncing: no automatic mail"
    if inbound_on_ticket >= policy.loop_messages:
        return f"loop guard: {inbound_on_ticket} messages on the ticket in {policy.loop_window}"
    if inbound_from_sender >= policy.loop_messages:
        return f"loop guard: {inbound_from_sender} messages from this sender in {policy.loop_window}"
    if sent_to_address >= policy.per_address:
        return f"rate limit: {sent_to_address} automatic mails to this address in {policy.address_window}"
    if sent_on_ticket >= policy.per_ticket:
        return f"rate limit: {sent_on_ticket} automatic mails on this ticket in {policy.ticket_window}"
    return None


def automatic_key() -> ColumnElement[bool]:
    return or_(*(col(Outbox.idempotency_key).startswith(prefix) for prefix in AUTOMATIC_KEYS))


async def refusal(s: AsyncSession, ticket: Ticket, contact: Contact, now: datetime, *, kind: str,
                  policy: GuardPolicy | None = None) -> str | None:
    """Whether an automatic mail of ``kind`` may be queued to ``contact`` about ``ticket``; when not,
    the reason (also recorded as a ``mail.automatic_suppressed`` event on the ticket)."""
    policy = policy or GuardPolicy()
    assert ticket.id is not None and contact.id is not None
    sent_to_address = int(await s.scalar(
        select(func.count(col(Outbox.id))).join(Ticket, col(Ticket.id) == col(Outbox.ticket_id))
        .where(col(Ticket.requester_id) == contact.id, col(Outbox.created_at) >= now - policy.address_window,
               automatic_key())) or 0)
    sent_on_ticket = int(await s.scalar(
        select(func.count(col(Outbox.id))).where(col(Outbox.ticket_id) == ticket.id,
                                                 col(Outbox.created_at) >= now - policy.ticket_window,
                                                 automatic_key())) or 0)
    since = now - policy.loop_window
    inbound = (col(Message.direction) == Direction.INBOUND.value, col(Message.created_at) >= since)
    from_sender = int(await s.scalar(
        select(func.count(col(Message.id))).where(col(Message.author_contact_id) == contact.id, *inbound)) or 0)
    on_ticket = int(await s.scalar(
        select(func.count(col(Message.id))).where(col(Message.ticket_id) == ticket.id, *inbound)) or 0)
    reason = decide(sent_to_address=sent_to_address, sent_on_ticket=sent_on_ticket,
                    inbound_from_sender=from_sender, inbound_on_ticket=on_ticket,
                    bouncing=bool(contact.bouncing), policy=policy)
    if reason is not None:
        await store.record_event(s, kind=MAIL_SUPPRESSED, now=now, ticket_id=ticket.id, mail=kind, reason=reason)
    return reason


# --- Requester text inside our mails ---------------------------------------------------------------------------

_LINKABLE = re.compile(
    r"(?i)\b(?:[a-z][a-z0-9+.-]{0,20}:/{1,3}|www\d{0,3}\.)[^\s«»]{0,2000}"  # scheme://…, www.…
    r"|\b(?:[a-z0-9-]{1,63}\.){1,10}[a-z]{2,24}\b(?:/[^\s«»]{0,2000})?"  # bare host names: evil.example/login
)
FILE_EXTENSIONS = frozenset(
    "csv tsv txt xls xlsx xlsm ods odt ots doc docx pdf json geojson xml gml kml kmz gpkg shp shx dbf prj cpg "
    "zip gz tar rar 7z png jpg jpeg gif tif tiff svg html htm eml msg sql parquet".split()
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def inert(text: str) -> str:
    """Requester text to quote in an automatic mail: on one line, with nothing a client could turn into
    a link (``https://craig-fr.evil.example/login`` → ``https[:]//craig-fr[.]evil[.]example/login``)."""
    flat = " ".join(_CONTROL.sub(" ", text).split())

    def defang(m: re.Match[str]) -> str:
        token = m.group(0)
        if "/" not in token and token.rsplit(".", 1)[-1].lower() in FILE_EXTENSIONS:
            return token  # budget.csv is a file name, not a host: no client links it
        return token.replace("://", "[:]//").replace(":/", "[:]/").replace(".", "[.]")

    return _LINKABLE.sub(defang, flat)


def header_text(value: object, limit: int = 200) -> str:
    """A display name or subject fit for a header: no CR, LF or other control character, bounded."""
    return " ".join(_CONTROL.sub(" ", str(value or "")).split())[:limit]
