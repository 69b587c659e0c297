"""Prometheus metrics. Counters move where things happen; gauges are read from the database at scrape.

Each metric is documented in docs/operations.md.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from sqlalchemy import func, select
from sqlmodel import col

from helpdesk.db.engine import Database
from helpdesk.db.tables import Outbox, Quarantine, Ticket
from helpdesk.domain.values import OutboxStatus, QuarantineState

REGISTRY = CollectorRegistry(auto_describe=True)

MESSAGES_RECEIVED = Counter(
    "helpdesk_messages_received_total", "Inbound messages by channel and intake outcome",
    ["channel", "outcome"], registry=REGISTRY,
)
SLA_NOTICES = Counter(
    "helpdesk_sla_notices_total", "SLA warnings and breaches notified", ["kind"], registry=REGISTRY,
)
FAQ_SUGGESTIONS = Counter(
    "helpdesk_faq_suggestions_total", "FAQ suggestions shown and accepted, by channel",
    ["channel", "event"], registry=REGISTRY,
)
OUTBOX_SENT = Counter(
    "helpdesk_outbox_sent_total", "Outbox rows by channel and result", ["channel", "result"], registry=REGISTRY,
)
REQUEST_LATENCY = Histogram(
    "helpdesk_http_request_seconds", "Web request latency by route and method", ["route", "method"],
    registry=REGISTRY, buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
TICKETS_BY_STATUS = Gauge("helpdesk_tickets", "Tickets by status", ["status"], registry=REGISTRY)
OUTBOX_DEPTH = Gauge("helpdesk_outbox_depth", "Outbox rows waiting (pending or sending)", registry=REGISTRY)
OUTBOX_DEAD = Gauge("helpdesk_outbox_dead", "Outbox rows that gave up (visible to staff)", registry=REGISTRY)
OUTBOX_OLDEST = Gauge(
    "helpdesk_outbox_oldest_age_seconds", "Age of the oldest waiting Outbox row", registry=REGISTRY,
)
QUARANTINE_HELD = Gauge("helpdesk_quarantine_held", "Inbound messages held in quarantine", registry=REGISTRY)
LIVE_STREAMS = Gauge(
    "helpdesk_live_streams", "Live queue and ticket streams (server-sent events) open on this instance",
    registry=REGISTRY,
)


async def refresh_gauges(db: Database, now: datetime) -> None:
    async with db.transaction() as s:
        rows = (await s.execute(select(col(Ticket.status), func.count()).group_by(col(Ticket.status)))).all()
        seen = {str(status): int(n) for status, n in rows}
        for status in ("new", "open", "pending", "resolved", "closed"):
            TICKETS_BY_STATUS.labels(status).set(seen.get(status, 0))
        depth, oldest = (
            await s.execute(
                select(func.count(col(Outbox.id)), func.min(col(Outbox.created_at))).where(
                    col(Outbox.status).in_([OutboxStatus.PENDING.value, OutboxStatus.SENDING.value])
                )
            )
        ).one()
        OUTBOX_DEPTH.set(int(depth))
        if isinstance(oldest, datetime):
            if oldest.tzinfo is None:
                from datetime import UTC

                oldest = oldest.replace(tzinfo=UTC)
            OUTBOX_OLDEST.set(max(0.0, (now - oldest).total_seconds()))
        else:
            OUTBOX_OLDEST.set(0)
        dead = OutboxStatus.DEAD.value
        OUTBOX_DEAD.set(int(await s.scalar(select(func.count()).select_from(Outbox).where(col(Outbox.status) == dead))
                            or 0))
        held = QuarantineState.HELD.value
        QUARANTINE_HELD.set(
            int(await s.scalar(select(func.count()).select_from(Quarantine).where(col(Quarantine.status) == held)) or 0)
        )
