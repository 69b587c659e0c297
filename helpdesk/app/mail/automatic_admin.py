"""Automatic mail as staff see it: what was kept without a ticket, and the addresses marked bouncing.

``AutomaticMailService`` (bounces.py) keeps automatic mail that threads onto no ticket aside (raw
bytes in the blob store, one ``message.automatic_ignored`` event) and flags contacts whose address
bounced. Nothing of that may be invisible: this lists the kept mail newest first (keyset paging on
the event id), hands out the original bytes, clears a bouncing flag and, when a kept mail was a real
request after all, runs it through intake as a human message. Every staff action leaves an event
naming the staff member.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlmodel import col

from helpdesk.app.intake.messages import IntakeResult
from helpdesk.app.mail.bounces import AUTOMATIC_IGNORED, CONTACT_BOUNCING
from helpdesk.db import store
from helpdesk.db.engine import Database
from helpdesk.db.tables import Blob, Contact, Event, Message, Ticket
from helpdesk.domain.errors import NotFound, TemporaryError, UserError, ValidationError
from helpdesk.domain.events import EventKind
from helpdesk.domain.values import ActorKind, IntakeAction
from helpdesk.ports import Clock

BOUNCING_CLEARED = EventKind.BOUNCING_CLEARED
AUTOMATIC_TICKETED = EventKind.AUTOMATIC_TICKETED
PAGE_SIZE = 50
MAX_BOUNCING = 500

# How a channel turns kept raw bytes into a *human* inbound message and runs it through intake.
# ``meta`` is stored on the message (who asked for it, from which event).
TicketMaker = Callable[[bytes, dict[str, Any]], Awaitable[IntakeResult]]


@dataclass(frozen=True, slots=True)
class AutomaticItem:
    event_id: int
    received_at: datetime
    channel: str
    sender: str | None
    subject: str | None  # recorded since the page exists; None on older events
    kind: str | None  # auto_reply, bulk, bounce (None on older events)
    reason: str | None
    size: int | None  # None when the raw bytes were not kept
    ticket_number: int | None  # the ticket this message is on now (made one by staff, or delivered again)


@dataclass(frozen=True, slots=True)
class AutomaticPage:
    items: list[AutomaticItem]
    next_before: int | None  # pass as ``before`` for the next (older) page; None on the last page


@dataclass(frozen=True, slots=True)
class BouncingAddress:
    contact_id: int
    email: str
    name: str | None
    reason: str | None
    since: datetime | None  # the newest bounce recorded for it (None if its event is too old to look up)


class AutomaticAdmin:
    def __init__(self, db: Database, clock: Clock, *, ticket_makers: Mapping[str, TicketMaker] | None = None) -> None:
        self.db = db
        self.clock = clock
        self.ticket_makers = dict(ticket_makers or {})  # per channel, given by the composition root

    async def page(self, before: int | None = None, limit: int = PAGE_SIZE) -> AutomaticPage:
        """Kept automatic mail, newest first: events with an id below ``before``."""
        limit = max(1, min(limit, 200))
        async with self.db.transaction() as s:
            stmt = select(Event).where(col(Event.kind) == AUTOMATIC_IGNORED)
            if before is not None:
                stmt = stmt.where(col(Event.id) < before)
            events = list((await s.scalars(stmt.order_by(col(Event.id).desc()).limit(limit + 1))).all())
            more = len(events) > limit
            events = events[:limit]
            digests = {str(e.data["raw_sha256"]) for e in events if e.data.get("raw_sha256")}
            sizes: dict[str, int] = {}
            if digests:
                rows = await s.execute(select(col(Blob.sha256), col(Blob.size))
                                       .where(col(Blob.sha256).in_(sorted(digests))))
                sizes = {str(d): int(n) for d, n in rows.all()}
            ids = {str(e.data["external_id"]) for e in events if e.data.get("external_id")}
            tickets: dict[tuple[str, str], int] = {}
            if ids:
                found = await s.execute(
                    select(col(Message.channel), col(Message.external_id), col(Ticket.number))
                    .join(Ticket, col(Ticket.id) == col(Message.ticket_id))
                    .where(col(Message.external_id).in_(sorted(ids)))
                )
                tickets = {(str(c), str(x)): int(n) for c, x, n in found.all()}
        items = []
        for e in events:
            d = e.data
            digest = d.get("raw_sha256")
            items.append(AutomaticItem(
                event_id=e.id or 0, received_at=e.created_at, channel=str(d.get("channel") or ""),
                sender=d.get("sender") or None, subject=d.get("subject") or None, kind=d.get("automatic_kind") or None,
                reason=d.get("reason") or None, size=sizes.get(str(digest)) if digest else None,
                ticket_number=tickets.get((str(d.get("channel") or ""), str(d.get("external_id") or ""))),
            ))
        return AutomaticPage(items, items[-1].event_id if more and items else None)

    async def count(self) -> int:
        async with self.db.transaction() as s:
            return int(await s.scalar(select(func.count(col(Event.id)))
                .where(col(Event.kind) == AUTOMATIC_IGNORED)) or 0)

    async def _event(self, s: Any, event_id: int) -> Event:
        ev: Event | None = await s.get(Event, event_id) if 0 < event_id <= store.MAX_ID else None
        if ev is None or ev.kind != AUTOMATIC_IGNORED:
            raise NotFound("courrier automatique introuvable")
        return ev

    async def raw(self, event_id: int) -> bytes:
        """The original bytes of one kept mail, as received."""
        async with self.db.transaction() as s:
            ev = await self._event(s, event_id)
            digest = ev.data.get("raw_sha256")
            if not digest:
                raise NotFound("le message d'origine n'a pas été conservé")
            return await store.get_blob(s, str(digest))

    async def bouncing(self) -> list[BouncingAddress]:
        """Contacts currently marked bouncing, by address, with when their newest bounce was recorded."""
        async with self.db.transaction() as s:
            contacts = (await s.scalars(
                select(Contact).where(col(Contact.bouncing).is_(True)).order_by(col(Contact.email)).limit(MAX_BOUNCING)
            )).all()
            since: dict[int, datetime] = {}
            if contacts:
                recent = await s.execute(
                    select(col(Event.created_at), col(Event.data)).where(col(Event.kind) == CONTACT_BOUNCING)
                    .order_by(col(Event.id).desc()).limit(5 * MAX_BOUNCING)
                )
                for at, data in recent.all():
                    cid = (data or {}).get("contact_id")
                    if isinstance(cid, int):
                        since.setdefault(cid, at)
        return [BouncingAddress(c.id or 0, c.email or "", c.name, c.bounce_reason, since.get(c.id or 0))
                for c in contacts]

    async def clear_bouncing(self, contact_id: int, actor: int) -> str:
        """Take the bouncing flag off a contact (staff know the address works); returns the address."""
        now = self.clock.now()
        async with self.db.transaction() as s:
            contact = None
            if 0 < contact_id <= store.MAX_ID:
                contact = await s.get(Contact, contact_id, with_for_update=not self.db.is_sqlite)
            if contact is None:
                raise NotFound("contact introuvable")
            if not contact.bouncing:
                raise ValidationError("cette adresse n'est plus marquée en échec de distribution")
            previous = contact.bounce_reason
            contact.bouncing, contact.bounce_reason = False, None
            await store.record_event(s, kind=BOUNCING_CLEARED, now=now, ticket_id=None, actor_kind=ActorKind.STAFF,
                                     actor_id=actor, contact_id=contact.id, email=contact.email, reason=previous)
            return contact.email or ""

    async def create_ticket(self, event_id: int, actor: int) -> IntakeResult:
        """Run a kept mail through intake as a human message on a new ticket (staff judged it a request).

        The message carries ``taken_by_staff_id`` and ``from_automatic_event`` in its meta (stored with
        the ticket); an event names the staff member. A second click finds the message already stored
        (same external id) and answers DUPLICATE with its ticket.
        """
        async with self.db.transaction() as s:
            ev = await self._event(s, event_id)
            channel, digest = str(ev.data.get("channel") or ""), ev.data.get("raw_sha256")
            sender = ev.data.get("sender")
            if not digest:
                raise ValidationError("le message d'origine n'a pas été conservé : impossible d'en faire un ticket")
            raw = await store.get_blob(s, str(digest))
        make_ticket = self.ticket_makers.get(channel)
        if make_ticket is None:
            raise ValidationError(f"aucune création de ticket possible pour le canal {channel}")
        meta: dict[str, Any] = {"taken_by_staff_id": actor, "from_automatic_event": event_id}
        try:
            result = await make_ticket(raw, meta)
        except (TemporaryError, UserError):
            raise
        except Exception as exc:
            raise ValidationError(f"le message ne peut pas devenir un ticket : {exc}") from exc
        if result.ticket_number is None:
            raise ValidationError(f"le message n'a pas créé de ticket : {result.reason}")
        if result.action is not IntakeAction.DUPLICATE:
            async with self.db.transaction() as s:
                ticket = await store.ticket_by_number(s, result.ticket_number)
                await store.record_event(s, kind=AUTOMATIC_TICKETED, now=self.clock.now(), ticket_id=ticket.id,
                                         actor_kind=ActorKind.STAFF, actor_id=actor, event_id=event_id,
                                         message_id=result.message_id, sender=sender)
        return result
