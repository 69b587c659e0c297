"""In-memory fakes of the ports (helpdesk/ports.py), for tests that want the core without its peers.

``FixedClock`` itself lives in helpdesk/ports.py (the benchmarks use it too) and is re-exported here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from helpdesk.app.faq.index import FaqHit
from helpdesk.app.live.bus import Fanout
from helpdesk.checks import Limits, Report
from helpdesk.domain.live import Notice
from helpdesk.ports import FaqSearch, FileChecker, FixedClock, LiveBus, OutboxSender, SendError

__all__ = ["FixedClock", "RecordingSender", "CannedFaq", "FixedChecker", "RecordingBus"]


class RecordingSender:
    """An Outbox sender that keeps what it was given; it can fail every send, or wait first."""

    def __init__(self, fail_with: SendError | None = None, delay: float = 0.0) -> None:
        self.sent: list[dict[str, Any]] = []
        self.fail_with = fail_with
        self.delay = delay

    async def send(self, payload: Mapping[str, Any]) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)  # a slow peer, not an ordering device
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append(dict(payload))


class CannedFaq:
    """A FAQ search that answers the same suggestions to every query (none: the engine abstains)."""

    def __init__(self, suggestions: Sequence[FaqHit] = ()) -> None:
        self.suggestions = list(suggestions)
        self.queries: list[str] = []

    async def search(self, query: str, limit: int = 3) -> list[FaqHit]:
        self.queries.append(query)
        return self.suggestions[:limit]


class FixedChecker:
    """A file checker that returns a prepared report (or an empty one) and records what it saw."""

    def __init__(self, report: Report | None = None) -> None:
        self.report = report
        self.seen: list[tuple[str, int]] = []

    def __call__(self, filename: str, data: bytes, limits: Limits) -> Report:
        self.seen.append((filename, len(data)))
        return self.report if self.report is not None else Report(filename)


class RecordingBus:
    """A live bus in memory: keeps every notice published and hands it to this process's subscribers."""

    cross_process = False

    def __init__(self) -> None:
        self.published: list[Notice] = []
        self.within: list[Notice] = []  # handed over inside a transaction, before its commit
        self._fanout = Fanout()

    def publish(self, notice: Notice) -> None:
        self.published.append(notice)
        self._fanout.deliver(notice)

    async def publish_within(self, session: Any, notices: Sequence[Notice]) -> None:
        self.within.extend(notices)

    def deliver_local(self, notice: Notice) -> None:
        self.published.append(notice)
        self._fanout.deliver(notice)

    def subscribe(self) -> AbstractAsyncContextManager[AsyncIterator[Notice]]:
        return self._fanout.subscribe()

    async def run(self) -> None:
        return None

    async def close(self) -> None:
        self._fanout.close()


def _conforms() -> tuple[OutboxSender, FaqSearch, FileChecker, LiveBus]:
    """mypy checks here that each fake fits its port."""
    return RecordingSender(), CannedFaq(), FixedChecker(), RecordingBus()
