"""Staff-side use cases on tickets: read, reply, note, and ``update`` (status, assignment, team, priority, tags).

``update`` validates every requested change first, then writes them all in one transaction: a bad
value changes nothing. The status goes through the one status-change path (status.py).
"""

from __future__ import annotations

import builtins
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Final, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from helpdesk.app.tickets import status as ticket_status
from helpdesk.db import store
from helpdesk.db.engine import Database
from helpdesk.db.tables import Attachment, Contact, Message, Organization, Outbox, StaffUser, Team, Ticket
from helpdesk.domain import lifecycle
from helpdesk.domain.errors import ErrorCode, ValidationError
from helpdesk.domain.events import EventKind
from helpdesk.domain.values import ActorKind, Channel, Direction, Priority, TicketStatus, format_ticket_number
from helpdesk.ports import Clock


class _Keep(Enum):
    KEEP = "keep"


KEEP: Final = _Keep.KEEP  # "leave this field as it is" (None means "clear it" for assignee and team)


@dataclass(frozen=True, slots=True)
class TicketChanges:
    """What a staff member asks to change on one ticket; fields left out are kept."""

    status: TicketStatus | None = None
    priority: Priority | None = None
    assignee_id: int | None | Literal[_Keep.KEEP] = KEEP
    team_id: int | None | Literal[_Keep.KEEP] = KEEP
    tags: Sequence[str] | None = None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def sla_json(t: Ticket) -> dict[str, Any]:
    return {
        "policy": t.sla_policy,
        "first_response_due": _iso(t.first_response_due),
        "resolution_due": _iso(t.resolution_due),
        "first_response_breached": t.first_response_breached,
        "resolution_breached": t.resolution_breached,
        "paused": t.sla_paused,
    }


def summary_json(t: Ticket, requester: Contact | None) -> dict[str, Any]:
    return {
        "number": t.number,
        "subject": t.subject,
        "status": t.status,
        "priority": t.priority,
        "channel": t.channel,
        "requester": requester.email or requester.name if requester else None,
        "created_at": _iso(t.created_at),
        "updated_at": _iso(t.updated_at),
        "tags": list(t.tags),
    }


class TicketService:
    def __init__(self, db: Database, clock: Clock, *, mail_domain: str = "craig.fr") -> None:
        self.db = db
        self.clock = clock
        self.mail_domain = mail_domain
        # Called inside the transaction after a reply, a status or a priority change (the SLA clock).
        self.after_change: list[Callable[[AsyncSession, Ticket, datetime], Awaitable[object]]] = []

    # ---- reading ---------------------------------------------------------------------------
    async def list(self, *, status: TicketStatus | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        async with self.db.transaction() as s:
            stmt = select(Ticket, Contact).join(Contact, col(Contact.id) == col(Ticket.requester_id), isouter=True)
            if status is not None:
                stmt = stmt.where(col(Ticket.status) == status.value)
            stmt = stmt.order_by(col(Ticket.number).desc())
            if limit is not None:
                stmt = stmt.limit(limit)
            rows = (await s.execute(stmt)).all()
            return [summary_json(t, c) for t, c in rows]

    async def get_json(self, number: int, viewer_id: int | None = None) -> dict[str, Any]:
        async with self.db.transaction() as s:
            if viewer_id is not None:
                t = await store.ticket_by_number(s, number)
                await store.record_staff_access(s, t, viewer_id, self.clock.now(), "api")
            return await self.ticket_json(s, number)

    async def ticket_json(self, s: AsyncSession, number: int) -> dict[str, Any]:
        t = await store.ticket_by_number(s, number)
        requester = await s.get(Contact, t.requester_id) if t.requester_id else None
        org = await s.get(Organization, t.organization_id) if t.organization_id else None
        msgs = (await s.scalars(select(Message).where(col(Message.ticket_id) == t.id).order_by(col(Message.id)))).all()
        atts = (
            await s.scalars(select(Attachment).where(col(Attachment.message_id).in_([m.id for m in msgs])))
        ).all() if msgs else []
        by_msg: dict[int, list[Attachment]] = {}
        for a in atts:
            by_msg.setdefault(a.message_id, []).append(a)
        return {
            "number": t.number,
            "reference": t.public_ref,
            "subject": t.subject,
            "status": t.status,
            "priority": t.priority,
            "channel": t.channel,
            "requester": {
                "email": requester.email if requester else None,
                "name": requester.name if requester else None,
                "organization": org.name if org else None,
            },
            "tags": list(t.tags),
            "created_at": _iso(t.created_at),
            "first_response_at": _iso(t.first_response_at),
            "resolved_at": _iso(t.resolved_at),
            "closed_at": _iso(t.closed_at),
            "messages": [
                {
                    "id": m.id,
                    "direction": m.direction,
                    "channel": m.channel,
                    "text": m.visible_text,
                    "automatic": m.automatic,
                    "thread_reason": m.thread_reason,
                    "delivery_status": m.delivery_status,
                    "attachments": [
                        {"id": a.id, "filename": a.filename, "content_type": a.content_type, "size": a.size}
                        for a in by_msg.get(m.id or 0, [])
                    ],
                    "created_at": _iso(m.created_at),
                }
                for m in msgs
            ],
            "sla": sla_json(t),
        }

    # ---- changing --------------------------------------------------------------------------
    async def reply(self, number: int, staff_id: int, text: str) -> int:
        """Queue a staff reply through the ticket's channel (via the Outbox). Returns the message id."""
        if not text.strip():
            raise ValidationError("a reply cannot be empty", code=ErrorCode.REPLY_EMPTY)
        now = self.clock.now()
        async with self.db.transaction() as s:
            t = await store.ticket_by_number(s, number, lock=not self.db.is_sqlite)
            change = ticket_status.plan(t, lifecycle.Action.STAFF_REPLY, now, "staff replied")
            requester = await s.get(Contact, t.requester_id) if t.requester_id else None
            channel, payload = await self._outbound_payload(s, t, requester, text)
            msg = Message(
                ticket_id=t.id or 0,
                direction=Direction.OUTBOUND.value,
                channel=channel.value,
                author_staff_id=staff_id,
                subject=payload.get("subject"),
                visible_text=text,
                full_text=text,
                external_id=payload.get("message_id"),
                delivery_status="queued",
                created_at=now,
            )
            s.add(msg)
            await s.flush()
            payload["db_message_id"] = msg.id
            s.add(
                Outbox(
                    channel=channel.value, ticket_id=t.id, message_id=msg.id, payload=payload,
                    idempotency_key=f"reply:{msg.id}", next_attempt_at=now, created_at=now,
                )
            )
            await ticket_status.record(s, t, change, now, actor_kind=ActorKind.STAFF if staff_id else ActorKind.SYSTEM,
                                       actor_id=staff_id)
            t.updated_at = now
            await store.record_event(
                s, kind=EventKind.REPLY_QUEUED, now=now, ticket_id=t.id, actor_kind=ActorKind.STAFF,
                actor_id=staff_id, message_id=msg.id, channel=channel.value,
                delivery="outbox",  # the SLA counts it when sent (reply.sent), not now
            )
            await self._changed(s, t, now)
            assert msg.id is not None
            return msg.id

    async def _outbound_payload(
        self, s: AsyncSession, t: Ticket, requester: Contact | None, text: str
    ) -> tuple[Channel, dict[str, Any]]:
        if requester is None:
            raise ValidationError(f"ticket #{t.number} has no requester to answer", code=ErrorCode.NO_REQUESTER,
                                  number=t.number)
        if t.channel == Channel.TELEGRAM.value and requester.telegram_chat_id is not None:
            return Channel.TELEGRAM, {
                "chat_id": requester.telegram_chat_id, "text": text, "ticket_number": t.number,
            }
        if not requester.email:
            raise ValidationError(f"ticket #{t.number}: the requester has no email address",
                                  code=ErrorCode.REQUESTER_NO_EMAIL, number=t.number)
        ids = (
            await s.scalars(
                select(col(Message.external_id))
                .where(col(Message.ticket_id) == t.id, col(Message.channel) == Channel.EMAIL.value)
                .where(col(Message.external_id).is_not(None))
                .order_by(col(Message.id))
            )
        ).all()
        last_inbound = (
            await s.scalars(
                select(col(Message.external_id))
                .where(col(Message.ticket_id) == t.id, col(Message.channel) == Channel.EMAIL.value)
                .where(col(Message.direction) == Direction.INBOUND.value, col(Message.external_id).is_not(None))
                .order_by(col(Message.id).desc())
                .limit(1)
            )
        ).first()
        message_id = f"<{secrets.token_hex(12)}.{t.number}@{self.mail_domain}>"
        return Channel.EMAIL, {
            "to": requester.email,
            "to_name": requester.name,
            "subject": f"{format_ticket_number(t.number)} {t.subject}",
            "text": text,
            "message_id": message_id,
            "in_reply_to": last_inbound,
            "references": [i for i in ids if i][-10:],
            "ticket_number": t.number,
            "ticket_ref": t.public_ref,
        }

    async def add_note(self, number: int, staff_id: int | None, text: str) -> int:
        if not text.strip():
            raise ValidationError("a note cannot be empty", code=ErrorCode.NOTE_EMPTY)
        now = self.clock.now()
        async with self.db.transaction() as s:
            t = await store.ticket_by_number(s, number)
            msg = Message(
                ticket_id=t.id or 0, direction=Direction.NOTE.value, channel=Channel.WEB.value,
                author_staff_id=staff_id, visible_text=text, full_text=text, created_at=now,
            )
            s.add(msg)
            await s.flush()
            t.updated_at = now
            await store.record_event(
                s, kind=EventKind.NOTE_ADDED, now=now, ticket_id=t.id,
                actor_kind=ActorKind.STAFF if staff_id else ActorKind.SYSTEM, actor_id=staff_id, message_id=msg.id,
            )
            assert msg.id is not None
            return msg.id

    async def update(self, number: int, changes: TicketChanges, actor: int | None) -> None:
        """Apply ``changes`` at once: everything is checked before anything is written.

        Unknown assignee or team: ValidationError (a bad value, the ticket exists); a status the
        lifecycle forbids: InvalidTransition; in both cases nothing changes. Each changed field gets
        its audit event; the after-change callbacks (SLA, satisfaction request) run once, when the
        status or the priority changed.
        """
        now = self.clock.now()
        actor_kind = ActorKind.STAFF if actor else ActorKind.SYSTEM
        async with self.db.transaction() as s:
            t = await store.ticket_by_number(s, number, lock=not self.db.is_sqlite)
            for value, table, code in ((changes.assignee_id, StaffUser, ErrorCode.STAFF_NOT_FOUND),
                                       (changes.team_id, Team, ErrorCode.TEAM_NOT_FOUND)):
                if value is not KEEP and value is not None and (
                        not 0 < value <= store.MAX_ID or await s.get(table, value) is None):
                    raise ValidationError(f"{table.__tablename__} {value} not found", code=code, id=value)
            status_change = None
            if changes.status is not None and changes.status.value != t.status:
                current = TicketStatus(t.status)
                status_change = ticket_status.plan(t, lifecycle.action_for_target(current, changes.status), now,
                                                   "set by staff")
            # Every check passed: write.
            fields: list[tuple[str, Any, EventKind]] = []
            if changes.priority is not None:
                fields.append(("priority", changes.priority.value, EventKind.PRIORITY_CHANGED))
            if changes.assignee_id is not KEEP:
                fields.append(("assignee_id", changes.assignee_id, EventKind.ASSIGNED))
            if changes.team_id is not KEEP:
                fields.append(("team_id", changes.team_id, EventKind.TEAM_CHANGED))
            if changes.tags is not None:
                fields.append(("tags", sorted({tag.strip().lower() for tag in changes.tags if tag.strip()}),
                               EventKind.TAGS_CHANGED))
            recompute = False
            for field, value, kind in fields:
                old = getattr(t, field)
                old = list(old) if isinstance(old, list) else old
                if old == value:
                    continue
                setattr(t, field, value)
                t.updated_at = now
                await store.record_event(s, kind=kind, now=now, ticket_id=t.id, actor_kind=actor_kind,
                                         actor_id=actor, old=old, new=value)
                recompute = recompute or field == "priority"
            if status_change is not None:
                await ticket_status.record(s, t, status_change, now, actor_kind=actor_kind, actor_id=actor)
                recompute = True
            if recompute:
                await self._changed(s, t, now)

    async def set_status(self, number: int, target: TicketStatus, staff_id: int | None) -> None:
        await self.update(number, TicketChanges(status=target), staff_id)

    async def assign(self, number: int, assignee_id: int | None, actor: int | None) -> None:
        await self.update(number, TicketChanges(assignee_id=assignee_id), actor)

    async def set_team(self, number: int, team_id: int | None, actor: int | None) -> None:
        await self.update(number, TicketChanges(team_id=team_id), actor)

    async def set_priority(self, number: int, priority: Priority, actor: int | None) -> None:
        await self.update(number, TicketChanges(priority=priority), actor)

    async def set_tags(self, number: int, tags: Sequence[str], actor: int | None) -> None:
        await self.update(number, TicketChanges(tags=tags), actor)

    async def _changed(self, s: AsyncSession, t: Ticket, now: datetime) -> None:
        for callback in self.after_change:
            await callback(s, t, now)

    async def events(self, number: int) -> builtins.list[dict[str, Any]]:
        from helpdesk.db.tables import Event

        async with self.db.transaction() as s:
            t = await store.ticket_by_number(s, number)
            rows = (await s.scalars(select(Event).where(col(Event.ticket_id) == t.id).order_by(col(Event.id)))).all()
            return [
                {"kind": e.kind, "actor_kind": e.actor_kind, "actor_id": e.actor_id, "data": e.data,
                 "created_at": _iso(e.created_at)}
                for e in rows
            ]
