"""The quarantine: inbound input that could not become a ticket, kept with its reason.

Never a silent deletion: the raw bytes stay in the blob store, staff list them, and a reprocess
runs them through the channel again (after a fix) and records the ticket they became.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import col

from helpdesk.app.intake.messages import IntakeResult
from helpdesk.app.quarantine.storable import storable, storable_opt
from helpdesk.db import store
from helpdesk.db.engine import Database
from helpdesk.db.tables import Blob, Quarantine, Ticket
from helpdesk.domain.errors import ErrorCode, NotFound, TemporaryError, ValidationError
from helpdesk.domain.events import EventKind
from helpdesk.domain.values import ActorKind, QuarantineState
from helpdesk.ports import Clock

HELD, REPROCESSED, DISCARDED = QuarantineState.HELD, QuarantineState.REPROCESSED, QuarantineState.DISCARDED

# How a channel turns raw bytes into a stored message again; raises when it still cannot.
Reprocessor = Callable[[bytes], Awaitable[IntakeResult]]


@dataclass(frozen=True, slots=True)
class QuarantineItem:
    id: int
    channel: str
    reason: str
    sender: str | None
    subject: str | None
    status: str
    received_at: datetime
    size: int
    ticket_number: int | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id, "channel": self.channel, "reason": self.reason, "sender": self.sender,
            "subject": self.subject, "status": self.status, "received_at": self.received_at.isoformat(),
            "size": self.size, "ticket": self.ticket_number,
        }


class QuarantineService:
    def __init__(self, db: Database, clock: Clock, *, reprocessors: Mapping[str, Reprocessor] | None = None) -> None:
        self.db = db
        self.clock = clock
        self.reprocessors = dict(reprocessors or {})

    def add_reprocessor(self, channel: str, reprocessor: Reprocessor) -> None:
        """For the composition root: a channel's reprocessing needs its ingest, which holds this service."""
        self.reprocessors[channel] = reprocessor

    async def reprocess(self, item_id: int, actor_id: int | None = None) -> IntakeResult:
        """Run a held item through its channel again; on success it is marked reprocessed."""
        channel, raw = await self.raw(item_id)
        fn = self.reprocessors.get(channel)
        if fn is None:
            raise ValidationError(f"no reprocessing available for the {channel} channel")
        try:
            result = await fn(raw)
        except TemporaryError:
            raise
        except Exception as exc:
            raise ValidationError(f"quarantine item {item_id} still fails: {exc}",
                                  code=ErrorCode.QUARANTINE_STILL_FAILS, id=item_id, reason=str(exc)[:300]) from exc
        await self.resolve(item_id, ticket_number=result.ticket_number, actor_id=actor_id)
        return result

    async def hold(
        self, *, channel: str, raw: bytes, reason: str, sender: str | None = None, subject: str | None = None
    ) -> int:
        """Keep ``raw`` with its reason. Raises StorageUnavailable if it cannot be stored.

        The texts are made storable first (NUL, lone surrogates): a message that broke intake for
        that reason must not break its own quarantine row too."""
        now = self.clock.now()
        reason = storable(reason)
        sender, subject = storable_opt(sender), storable_opt(subject)
        async with self.db.transaction() as s:
            digest = await store.put_blob(s, raw, now)
            row = Quarantine(
                channel=channel, raw_sha256=digest, reason=reason[:1000], sender=(sender or "")[:320] or None,
                subject=(subject or "")[:300] or None, status=HELD, received_at=now,
            )
            s.add(row)
            await s.flush()
            await store.record_event(s, kind=EventKind.QUARANTINED, now=now, ticket_id=None,
                                     quarantine_id=row.id, channel=channel, reason=reason[:300])
            assert row.id is not None
            return row.id

    async def list(self, status: str | None = HELD) -> list[QuarantineItem]:
        async with self.db.transaction() as s:
            stmt = (
                select(Quarantine, col(Blob.size), col(Ticket.number))
                .join(Blob, col(Blob.sha256) == col(Quarantine.raw_sha256))
                .join(Ticket, col(Ticket.id) == col(Quarantine.ticket_id), isouter=True)
                .order_by(col(Quarantine.id))
            )
            if status is not None:
                stmt = stmt.where(col(Quarantine.status) == status)
            rows = (await s.execute(stmt)).all()
            return [
                QuarantineItem(q.id or 0, q.channel, q.reason, q.sender, q.subject, q.status, q.received_at,
                               int(size), number)
                for q, size, number in rows
            ]

    async def count_held(self) -> int:
        async with self.db.transaction() as s:
            return int(await s.scalar(select(func.count(col(Quarantine.id)))
                .where(col(Quarantine.status) == HELD)) or 0)

    async def raw(self, item_id: int) -> tuple[str, bytes]:
        """The channel and raw bytes of one held item (for reprocessing)."""
        async with self.db.transaction() as s:
            q = await s.get(Quarantine, item_id)
            if q is None:
                raise NotFound(f"quarantine item {item_id} not found", code=ErrorCode.QUARANTINE_ITEM_NOT_FOUND,
                               id=item_id)
            if q.status != HELD:
                raise ValidationError(f"quarantine item {item_id} is already {q.status}",
                                      code=ErrorCode.QUARANTINE_ALREADY_HANDLED, id=item_id)
            return q.channel, await store.get_blob(s, q.raw_sha256)

    async def resolve(
        self, item_id: int, *, ticket_number: int | None, status: str = REPROCESSED, actor_id: int | None = None
    ) -> None:
        now = self.clock.now()
        async with self.db.transaction() as s:
            q = await s.get(Quarantine, item_id)
            if q is None:
                raise NotFound(f"quarantine item {item_id} not found", code=ErrorCode.QUARANTINE_ITEM_NOT_FOUND,
                               id=item_id)
            ticket_id = None
            if ticket_number is not None:
                ticket_id = (await store.ticket_by_number(s, ticket_number)).id
            q.status, q.resolved_at, q.ticket_id = status, now, ticket_id
            await store.record_event(s, kind=EventKind.QUARANTINE_RESOLVED, now=now, ticket_id=ticket_id,
                                     actor_kind=ActorKind.STAFF if actor_id else ActorKind.SYSTEM, actor_id=actor_id,
                                     quarantine_id=item_id, status=status)
