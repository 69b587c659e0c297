"""Readiness and the gauges read at scrape time: what /readyz and /metrics ask the core."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from pathlib import Path

from helpdesk.app.metrics import refresh_gauges
from helpdesk.app.quarantine.service import QuarantineService
from helpdesk.db import migrate
from helpdesk.db.engine import Database
from helpdesk.ports import Clock


class HealthService:
    def __init__(self, db: Database, clock: Clock, quarantine: QuarantineService, *,
                 senders: Collection[str] = (), owner: str = "", data_dir: Path | None = None,
                 min_free_disk_mb: int = 0) -> None:
        self.db = db
        self.clock = clock
        self.quarantine = quarantine
        self.senders = senders  # the Outbox's channels (a live view: tests add senders after build)
        self.owner = owner
        self.data_dir = data_dir
        self.min_free_disk_mb = min_free_disk_mb

    async def storage_problems(self) -> list[str]:
        """Disks nearly full, or a database that takes no write (empty when fine)."""
        from helpdesk.app.readiness import disk_problems, watched_directories, write_problem

        problems: list[str] = []
        if self.data_dir is not None:
            directories = await asyncio.to_thread(watched_directories, self.data_dir, self.db.url)
            problems += await disk_problems(directories, self.min_free_disk_mb)
        written = await write_problem(self.db, self.clock, self.owner)
        return problems + ([written] if written else [])

    def delivery_warnings(self) -> list[str]:
        """Serving, but replies that cannot leave (no sender for a channel): /readyz says "degraded"."""
        from helpdesk.app.outbox_status import delivery_problems

        return delivery_problems(set(self.senders))

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
