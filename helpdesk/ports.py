"""Ports: every Protocol the use cases depend on at the edges, with the real defaults where they are small.

- ``Clock``: the current instant (``SystemClock``; ``FixedClock`` is the hand-moved one tests and
  benchmarks use).
- ``OutboxSender`` and ``SendError``: how the Outbox hands a payload to a channel (SMTP relay,
  Telegram, the file checks); channels/email/sender.py and channels/telegram/sender.py implement it.
- ``FaqSearch``: the FAQ search the acknowledgement and the web ask (``helpdesk.app.faq.index.FaqIndex``).
- ``FileChecker``: the check of one attachment (``helpdesk.checks.check_file``).
- ``LiveBus``: notices for the live staff queue between instances (helpdesk/app/live: in process on
  SQLite, PostgreSQL LISTEN/NOTIFY otherwise).

In-memory fakes of each live in tests/support/fakes.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from helpdesk.app.faq.index import FaqHit
    from helpdesk.checks import Limits, Report
    from helpdesk.domain.live import Notice


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when

    def advance(self, **delta: float) -> None:
        self._now = self._now + timedelta(**delta)


class SendError(Exception):
    """Raised by a sender. ``permanent`` stops retries; ``retry_after`` (seconds) overrides backoff."""

    def __init__(self, message: str, *, permanent: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class OutboxSender(Protocol):
    async def send(self, payload: Mapping[str, Any]) -> None:
        """Deliver one payload or raise SendError."""
        ...


class FaqSearch(Protocol):
    async def search(self, query: str, limit: int = 3) -> list[FaqHit]:
        """Suggestions, best first; empty when the engine is not confident."""
        ...


class FileChecker(Protocol):
    def __call__(self, filename: str, data: bytes, limits: Limits) -> Report:
        """The report on one attachment; pure and CPU-bound (the caller runs it in a thread)."""
        ...


class LiveBus(Protocol):
    """Small notices (ids and kinds) to every instance's subscribers, this one's included.

    Presence goes by ``publish`` (now, best effort). A committed change goes in two steps the database
    calls: ``publish_within`` inside the transaction (PostgreSQL: a NOTIFY, which the server delivers
    only if the transaction commits, from whatever process wrote it: `helpdesk serve`, `helpdesk
    ingest`, the CLI), then ``deliver_local`` after the commit (this process's own subscribers). A
    notice may be lost when the bus is down: the browsers keep a slow poll as a safety net."""

    cross_process: bool  # True when other processes' changes arrive (PostgreSQL); False in process

    def publish(self, notice: Notice) -> None: ...

    async def publish_within(self, session: AsyncSession, notices: Sequence[Notice]) -> None: ...

    def deliver_local(self, notice: Notice) -> None: ...

    def subscribe(self) -> AbstractAsyncContextManager[AsyncIterator[Notice]]:
        """Notices from now on, until the context ends (or the bus closes: the iterator then stops)."""
        ...

    async def run(self) -> None:
        """The listener loop (bootstrap starts it; returns at once where there is nothing to listen to)."""
        ...

    async def close(self) -> None:
        """End every subscription and the listener."""
        ...
