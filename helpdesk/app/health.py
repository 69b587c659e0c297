"""Readiness and the gauges read at scrape time: what /readyz and /metrics ask the core."""

from __future__ import annotations

from helpdesk.app.metrics import refresh_gauges
from helpdesk.app.quarantine.service import QuarantineService
from helpdesk.db import migrate
from helpdesk.db.engine import Database
from helpdesk.ports import Clock


class HealthService:
    def __init__(self, db: Database, clock: Clock, quarantine: QuarantineService) -> None:
        self.db = db
        self.clock = clock
        self.quarantine = quarantine

    async def readiness_problems(self) -> list[str]:
        """Why this instance should not take traffic (empty when ready); never raises."""
        problems = []
        if not await self.db.ping():
            problems.append("database unreachable")
        else:
            try:
                if not await migrate.is_current(self.db.url):
                    problems.append("database migrations not current: run `helpdesk db upgrade`")
            except Exception as exc:  # noqa: BLE001 - readiness reports, never raises
                problems.append(f"migration check failed: {type(exc).__name__}")
        return problems

    async def quarantine_held(self) -> int:
        """Inbound mail kept aside, waiting for staff."""
        return await self.quarantine.count_held()

    async def refresh_gauges(self) -> None:
        await refresh_gauges(self.db, self.clock.now())
