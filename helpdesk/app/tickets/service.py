"""Staff-side use cases on tickets: read, reply, note, status, assignment, priority, tags."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpdesk.db import store
from helpdesk.db.engine import Database
from helpdesk.db.tables import Attachment, Contact, Message, Organization, Outbox, StaffUser, Team, Ticket
from helpdesk.domain import lifecycle
from helpdesk.domain.errors import NotFound, ValidationError
from helpdesk.domain.events import EventKind
from helpdesk.domain.values import ActorKind, Channel, Direction, Priority, TicketStatus, format_ticket_number
from helpdesk.ports import Clock

_LABELS_FR = {"staff_user": "membre de l'équipe", "team": "équipe"}


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
        self.after_change: list[Callable[[AsyncSession, Ticket, datetime], Awaitable[None]]] = []

    # ---- reading ---------------------------------------------------------------------------
    async def list(self, *, status: TicketStatus | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        async with self.db.transaction() as s:
            stmt = select(Ticket, Contact).join(Contact, Contact.id == Ticket.requester_id, isouter=True)
            if status is not None:
                stmt = stmt.where(Ticket.status == status.value)
            stmt = stmt.order_by(Ticket.number.desc())
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
        msgs = (await s.scalars(select(Message).where(Message.ticket_id == t.id).order_by(Message.id))).all()
        atts = (
            await s.scalars(select(Attachment).where(Attachment.message_id.in_([m.id for m in msgs])))
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
                    "direction": m.direction,
                    "channel": m.channel,
                    "text": m.visible_text,
                    "automatic": m.automatic,
                    "thread_reason": m.thread_reason,
                    "delivery_status": m.delivery_status,
                    "attachments": [
                        {"filename": a.filename, "content_type": a.content_type, "size": a.size}
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
            raise ValidationError("a reply cannot be empty")
        now = self.clock.now()
        async with self.db.transaction() as s:
            t = await store.ticket_by_number(s, number, lock=not self.db.is_sqlite)
            new_status = lifecycle.apply(TicketStatus(t.status), lifecycle.Action.STAFF_REPLY)
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
            await self._set_status(s, t, new_status, now, staff_id, "staff replied")
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
            raise ValidationError(f"ticket #{t.number} has no requester to answer")
        if t.channel == Channel.TELEGRAM.value and requester.telegram_chat_id is not None:
            return Channel.TELEGRAM, {
                "chat_id": requester.telegram_chat_id, "text": text, "ticket_number": t.number,
            }
        if not requester.email:
            raise ValidationError(f"ticket #{t.number}: the requester has no email address")
        ids = (
            await s.scalars(
                select(Message.external_id)
                .where(Message.ticket_id == t.id, Message.channel == Channel.EMAIL.value)
                .where(Message.external_id.is_not(None))
                .order_by(Message.id)
            )
        ).all()
        last_inbound = (
            await s.scalars(
                select(Message.external_id)
                .where(Message.ticket_id == t.id, Message.channel == Channel.EMAIL.value)
                .where(Message.direction == Direction.INBOUND.value, Message.external_id.is_not(None))
                .order_by(Message.id.desc())
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
            raise ValidationError("a note cannot be empty")
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

    async def set_status(self, number: int, target: TicketStatus, staff_id: int | None) -> None:
        now = self.clock.now()
        async with self.db.transaction() as s:
            t = await store.ticket_by_number(s, number, lock=not self.db.is_sqlite)
            current = TicketStatus(t.status)
            if current == target:
                return
            new = lifecycle.apply(current, lifecycle.action_for_target(current, target))
            await self._set_status(s, t, new, now, staff_id, "set by staff")
            await self._changed(s, t, now)

    async def _set_status(
        self, s: AsyncSession, t: Ticket, new: TicketStatus, now: datetime, actor: int | None, reason: str
    ) -> None:
        if new.value == t.status:
            return
        old = t.status
        t.status = new.value
        t.updated_at = now
        if new == TicketStatus.RESOLVED:
            t.resolved_at = now
        elif new == TicketStatus.CLOSED:
            t.closed_at = now
            t.resolved_at = t.resolved_at or now
        elif new == TicketStatus.OPEN:
            t.resolved_at = None
        await store.record_event(
            s, kind=EventKind.STATUS_CHANGED, now=now, ticket_id=t.id,
            actor_kind=ActorKind.STAFF if actor else ActorKind.SYSTEM, actor_id=actor,
            old=old, new=new.value, reason=reason,
        )

    async def _set_field(
        self, number: int, field: str, value: Any, kind: EventKind, actor: int | None, *,
        exists: type[Any] | None = None, recompute: bool = False,
    ) -> None:
        """Change one ticket field, with its audit event; nothing happens when the value is the same.

        ``exists`` names the table the new value must refer to (staff user, team); ``recompute``
        runs the after-change callbacks (the SLA depends on the priority).
        """
        now = self.clock.now()
        async with self.db.transaction() as s:
            t = await store.ticket_by_number(s, number)
            if exists is not None and value is not None and await s.get(exists, value) is None:
                raise NotFound(f"{_LABELS_FR.get(exists.__tablename__, exists.__tablename__)} {value} introuvable")
            old = getattr(t, field)
            if (list(old) if isinstance(old, list) else old) == value:
                return
            setattr(t, field, value)
            t.updated_at = now
            await store.record_event(
                s, kind=kind, now=now, ticket_id=t.id, actor_kind=ActorKind.STAFF if actor else ActorKind.SYSTEM,
                actor_id=actor, old=list(old) if isinstance(old, list) else old, new=value,
            )
            if recompute:
                await self._changed(s, t, now)

    async def assign(self, number: int, assignee_id: int | None, actor: int | None) -> None:
        await self._set_field(number, "assignee_id", assignee_id, EventKind.ASSIGNED, actor, exists=StaffUser)

    async def set_team(self, number: int, team_id: int | None, actor: int | None) -> None:
        await self._set_field(number, "team_id", team_id, EventKind.TEAM_CHANGED, actor, exists=Team)

    async def set_priority(self, number: int, priority: Priority, actor: int | None) -> None:
        await self._set_field(number, "priority", priority.value, EventKind.PRIORITY_CHANGED, actor, recompute=True)

    async def set_tags(self, number: int, tags: Sequence[str], actor: int | None) -> None:
        clean = sorted({tag.strip().lower() for tag in tags if tag.strip()})
        await self._set_field(number, "tags", clean, EventKind.TAGS_CHANGED, actor)

    async def _changed(self, s: AsyncSession, t: Ticket, now: datetime) -> None:
        for callback in self.after_change:
            await callback(s, t, now)

    async def events(self, number: int) -> list[dict[str, Any]]:
        from helpdesk.db.tables import Event

        async with self.db.transaction() as s:
            t = await store.ticket_by_number(s, number)
            rows = (await s.scalars(select(Event).where(Event.ticket_id == t.id).order_by(Event.id))).all()
            return [
                {"kind": e.kind, "actor_kind": e.actor_kind, "actor_id": e.actor_id, "data": e.data,
                 "created_at": _iso(e.created_at)}
                for e in rows
            ]
