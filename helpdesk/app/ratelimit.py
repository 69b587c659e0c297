"""Sliding-window rate limits kept in the database, so every instance counts the same attempts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlmodel import col

from helpdesk.db.engine import Database
from helpdesk.db.tables_web import RateHit
from helpdesk.domain.errors import UserError
from helpdesk.ports import Clock


class Throttled(UserError):
    """Too many attempts: the caller must wait ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimiter:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def count(self, bucket: str, key: str, window: timedelta) -> int:
        since = self.clock.now() - window
        async with self.db.transaction() as s:
            n = await s.scalar(
                select(func.count(col(RateHit.id))).where(
                    col(RateHit.bucket) == bucket, col(RateHit.key) == key, col(RateHit.created_at) > since
                )
            )
        return int(n or 0)

    async def check(self, bucket: str, key: str, *, limit: int, window: timedelta) -> None:
        """Raise Throttled when ``key`` already has ``limit`` hits in the window."""
        if await self.count(bucket, key, window) >= limit:
            raise Throttled("trop de tentatives, réessayez plus tard", int(window.total_seconds()))

    async def hit(self, bucket: str, key: str, *, keep: timedelta = timedelta(days=1)) -> None:
        now = self.clock.now()
        async with self.db.transaction() as s:
            await s.execute(
                delete(RateHit).where(col(RateHit.bucket) == bucket, col(RateHit.key) == key,
                    col(RateHit.created_at) < now - keep)
            )
            s.add(RateHit(bucket=bucket, key=key[:320], created_at=now))

    async def clear(self, bucket: str, key: str) -> None:
        async with self.db.transaction() as s:
            await s.execute(delete(RateHit).where(col(RateHit.bucket) == bucket, col(RateHit.key) == key))
