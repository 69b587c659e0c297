"""The Outbox dispatcher: claims due rows with a lease, hands them to the channel's sender.

Safe with several instances: on PostgreSQL rows are claimed with FOR UPDATE SKIP LOCKED, on
SQLite the claim runs inside BEGIN IMMEDIATE (one writer at a time). A row whose lease expired
(its instance died mid-send) is claimed again. After ``max_attempts`` a row is dead and visible.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlmodel import col

from helpdesk.app.metrics import OUTBOX_SENT
from helpdesk.db import store
from helpdesk.db.engine import Database
from helpdesk.db.tables import Message, Outbox, Ticket
from helpdesk.domain.events import EventKind
from helpdesk.domain.values import OutboxStatus
from helpdesk.logging_setup import redact
from helpdesk.ports import Clock, OutboxSender, SendError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    channel: str
    payload: dict[str, Any]
    attempts: int
    ticket_id: int | None
    message_id: int | None


def backoff(attempts: int, *, base: float = 30.0, cap: float = 3600.0) -> float:
    """Exponential backoff with jitter, in seconds, after ``attempts`` failed tries."""
    delay: float = min(cap, base * (2 ** max(0, attempts - 1)))
    return delay * (0.8 + 0.4 * random.random())  # noqa: S311 - jitter, not security


class OutboxDispatcher:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        senders: Mapping[str, OutboxSender],
        *,
        owner: str = "instance",
        lease_seconds: float = 120,
        max_attempts: int = 8,
        retry_base: float = 30.0,
    ) -> None:
        self.db = db
        self.clock = clock
        self.senders = dict(senders)
        self.owner = owner
        self.lease = timedelta(seconds=lease_seconds)
        self.max_attempts = max_attempts
        self.retry_base = retry_base

    async def claim(self, limit: int = 20) -> list[Claimed]:
        now = self.clock.now()
        channels = list(self.senders)
        if not channels:
            return []
        async with self.db.transaction() as s:
            due = or_(
                and_(col(Outbox.status) == OutboxStatus.PENDING.value, col(Outbox.next_attempt_at) <= now),
                and_(col(Outbox.status) == OutboxStatus.SENDING.value, col(Outbox.lease_until) < now),
            )
            stmt = (
                select(Outbox)
                .where(due, col(Outbox.channel).in_(channels))
                .order_by(col(Outbox.next_attempt_at), col(Outbox.id))
                .limit(limit)
            )
            if not self.db.is_sqlite:
                stmt = stmt.with_for_update(skip_locked=True)
            rows = (await s.scalars(stmt)).all()
            claimed = []
            for row in rows:
                row.status = OutboxStatus.SENDING.value
                row.lease_owner = self.owner
                row.lease_until = now + self.lease
                row.attempts += 1
                assert row.id is not None
                claimed.append(Claimed(row.id, row.channel, dict(row.payload), row.attempts, row.ticket_id,
                                       row.message_id))
            return claimed

    async def run_once(self, limit: int = 20) -> int:
        """Claim and send what is due. Returns how many rows were handled."""
        claimed = await self.claim(limit)
        for item in claimed:
            await self._deliver(item)
        return len(claimed)

    async def _deliver(self, item: Claimed) -> None:
        sender = self.senders[item.channel]
        try:
            await sender.send(item.payload)
        except SendError as exc:
            await self._failed(item, str(exc), permanent=exc.permanent, retry_after=exc.retry_after)
            OUTBOX_SENT.labels(item.channel, "failed" if exc.permanent else "retry").inc()
            return
        except Exception as exc:  # an unexpected sender bug is retried, never lost
            log.exception("outbox sender crashed (row %s)", item.id)
            await self._failed(item, f"{type(exc).__name__}: {exc}", permanent=False, retry_after=None)
            return
        await self._sent(item)
        OUTBOX_SENT.labels(item.channel, "sent").inc()

    async def _sent(self, item: Claimed) -> None:
        """The peer accepted the message: record it (a staff reply now counts as the first response).

        At least once: if the process dies between the peer's acceptance and this commit, the lease
        expires and the row is sent again, with the same Message-ID (docs/operations.md).
        """
        now = self.clock.now()
        async with self.db.transaction() as s:
            row = await s.get(Outbox, item.id)
            if row is None:
                return
            row.status, row.sent_at, row.lease_until, row.last_error = OutboxStatus.SENT.value, now, None, None
            msg = await s.get(Message, item.message_id) if item.message_id is not None else None
            if msg is not None:
                msg.delivery_status = "sent"
            staff_reply = msg is not None and msg.author_staff_id is not None and not msg.automatic
            await store.record_event(
                s, kind=EventKind.REPLY_SENT, now=now, ticket_id=item.ticket_id, outbox_id=item.id,
                channel=item.channel, staff_reply=staff_reply,
            )
            number = await self._after_delivery(s, item, now)
        log.info("outbox row %s sent via %s for ticket #%s (attempt %s)", item.id, item.channel, number,
                 item.attempts, extra={"ticket": number, "channel": item.channel, "outcome": "sent"})

    async def _after_delivery(self, s: Any, item: Claimed, now: datetime) -> int | None:
        """The ticket's number, after recomputing its SLA from the event just written."""
        if item.ticket_id is None:
            return None
        ticket = await s.get(Ticket, item.ticket_id)
        if ticket is None:
            return None
        from helpdesk.app.sla.service import refresh

        await refresh(s, ticket, now)
        number: int = ticket.number
        return number

    async def _failed(self, item: Claimed, error: str, *, permanent: bool, retry_after: float | None) -> None:
        now = self.clock.now()
        dead = permanent or item.attempts >= self.max_attempts
        async with self.db.transaction() as s:
            row = await s.get(Outbox, item.id)
            if row is None:
                return
            row.last_error = error[:1000]
            row.lease_until = None
            if dead:
                row.status = OutboxStatus.DEAD.value
                if item.message_id is not None:
                    msg = await s.get(Message, item.message_id)
                    if msg is not None:
                        msg.delivery_status = "failed"
                await store.record_event(
                    s, kind=EventKind.REPLY_FAILED, now=now, ticket_id=item.ticket_id, outbox_id=item.id,
                    channel=item.channel, error=error[:300], permanent=permanent,
                )
                number = await self._after_delivery(s, item, now)
            else:
                row.status = OutboxStatus.PENDING.value
                delay = retry_after if retry_after is not None else backoff(item.attempts, base=self.retry_base)
                row.next_attempt_at = now + timedelta(seconds=delay)
                ticket = await s.get(Ticket, item.ticket_id) if item.ticket_id is not None else None
                number = ticket.number if ticket else None
        outcome = "dead" if dead else "retry"
        log.warning("outbox row %s via %s for ticket #%s failed (attempt %s, %s): %s", item.id, item.channel,
                    number, item.attempts, outcome, redact(error)[:300],
                    extra={"ticket": number, "channel": item.channel, "outcome": outcome})

    async def depth(self) -> tuple[int, datetime | None]:
        """Rows waiting (pending or sending) and the oldest one's creation time."""
        from sqlalchemy import func

        async with self.db.transaction() as s:
            count, oldest = (
                await s.execute(
                    select(func.count(col(Outbox.id)), func.min(col(Outbox.created_at))).where(
                        col(Outbox.status).in_([OutboxStatus.PENDING.value, OutboxStatus.SENDING.value])
                    )
                )
            ).one()
            oldest_dt: datetime | None = oldest
            if oldest_dt is not None and oldest_dt.tzinfo is None:
                from datetime import UTC

                oldest_dt = oldest_dt.replace(tzinfo=UTC)
            return int(count), oldest_dt
