"""What waits for staff attention outside the queue: held quarantine, dead or late Outbox rows.

Shown on the queue page and in the API's statistics; each figure links to the page where staff act.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlmodel import col

from helpdesk.db.engine import Database
from helpdesk.db.tables import Outbox, Quarantine
from helpdesk.domain.values import OutboxStatus, QuarantineState
from helpdesk.ports import Clock

LATE_AFTER = timedelta(minutes=10)


class AttentionService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def summary(self) -> dict[str, int]:
        """Held quarantine items, dead Outbox rows, and rows still unsent after ten minutes."""
        late = self.clock.now() - LATE_AFTER
        async with self.db.transaction() as s:
            held = await s.scalar(select(func.count(col(Quarantine.id)))
                                  .where(col(Quarantine.status) == QuarantineState.HELD.value))
            dead = await s.scalar(select(func.count(col(Outbox.id)))
                .where(col(Outbox.status) == OutboxStatus.DEAD.value))
            waiting = await s.scalar(
                select(func.count(col(Outbox.id))).where(
                    col(Outbox.status).in_([OutboxStatus.PENDING.value, OutboxStatus.SENDING.value]),
                    col(Outbox.created_at) < late)
            )
        return {"quarantine": int(held or 0), "outbox_dead": int(dead or 0), "outbox_late": int(waiting or 0)}
