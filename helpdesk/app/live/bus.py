"""Local fan-out of live notices to subscribers, and the in-process bus (SQLite: one instance)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from helpdesk.domain.live import LiveKind, Notice

QUEUE_SIZE = 256  # notices a slow subscriber may lag behind before it is told to resync


class Fanout:
    """Every local subscriber gets every notice; a subscriber that falls behind gets one RESYNC instead."""

    def __init__(self, queue_size: int = QUEUE_SIZE) -> None:
        self._queues: set[asyncio.Queue[Notice | None]] = set()
        self._queue_size = queue_size
        self.closed = False

    @property
    def subscribers(self) -> int:
        return len(self._queues)

    def deliver(self, notice: Notice) -> None:
        for q in list(self._queues):
            try:
                q.put_nowait(notice)
            except asyncio.QueueFull:
                while not q.empty():
                    q.get_nowait()
                q.put_nowait(Notice(LiveKind.RESYNC))

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[AsyncIterator[Notice]]:
        q: asyncio.Queue[Notice | None] = asyncio.Queue(self._queue_size)
        if self.closed:
            q.put_nowait(None)
        self._queues.add(q)

        async def notices() -> AsyncIterator[Notice]:
            while (item := await q.get()) is not None:
                yield item

        try:
            yield notices()
        finally:
            self._queues.discard(q)

    def close(self) -> None:
        self.closed = True
        for q in list(self._queues):
            while not q.empty():
                q.get_nowait()
            q.put_nowait(None)


class InProcessBus:
    """One instance (SQLite): a notice goes straight to this process's subscribers."""

    cross_process = False

    def __init__(self) -> None:
        self.fanout = Fanout()

    def publish(self, notice: Notice) -> None:
        self.fanout.deliver(notice)

    async def publish_within(self, session: AsyncSession, notices: Sequence[Notice]) -> None:
        return None  # nobody outside this process listens

    def deliver_local(self, notice: Notice) -> None:
        self.fanout.deliver(notice)

    def subscribe(self) -> AbstractAsyncContextManager[AsyncIterator[Notice]]:
        return self.fanout.subscribe()

    async def run(self) -> None:
        return None

    async def close(self) -> None:
        self.fanout.close()
