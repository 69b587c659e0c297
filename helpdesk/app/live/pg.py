"""Live notices between instances over PostgreSQL LISTEN/NOTIFY, on one dedicated connection.

Each instance listens on channel ``helpdesk_live`` on its own connection. A committed change's notices
are NOTIFYed inside the writing transaction (``publish_within``: delivered at the commit, from any
process, `helpdesk ingest` and the CLI included); presence heartbeats on the listening connection. A
notice is delivered to this instance's subscribers at once (its own echo from PostgreSQL is skipped by
origin). Payloads are JSON arrays of ids and kinds, packed under PostgreSQL's 8000-byte
limit. The connection is reopened with a doubling delay (0.5 s to 30 s) when it drops; after a
reconnection every subscriber gets a RESYNC notice (notices may have been missed meanwhile).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, suppress
from dataclasses import replace
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from helpdesk.app.live.bus import Fanout
from helpdesk.app.live.codec import pack, unpack
from helpdesk.domain.live import LiveKind, Notice

log = logging.getLogger(__name__)

CHANNEL = "helpdesk_live"
PENDING_MAX = 5000  # heartbeats waiting for the connection; the oldest are dropped beyond this
KEEPALIVE_SECONDS = 30.0
BACKOFF_FIRST, BACKOFF_MAX = 0.5, 30.0

Connect = Callable[[str], Awaitable[Any]]


def plain_dsn(url: str) -> str:
    """asyncpg's DSN from the SQLAlchemy URL (``postgresql+asyncpg://…`` → ``postgresql://…``)."""
    scheme, rest = url.split("://", 1)
    return "postgresql://" + rest if scheme.startswith("postgres") else url


async def _asyncpg_connect(dsn: str) -> Any:
    import asyncpg  # type: ignore[import-untyped]

    return await asyncpg.connect(dsn, timeout=10)


class PostgresBus:
    cross_process = True

    def __init__(self, url: str, *, connect: Connect = _asyncpg_connect) -> None:
        self.dsn = plain_dsn(url)
        self.origin = f"{socket.gethostname()[:30]}:{os.getpid()}:{secrets.token_hex(4)}"
        self.fanout = Fanout()
        self.connected = asyncio.Event()  # set while listening (the tests and /readyz-like checks read it)
        self.backend_pid: int | None = None  # the listening connection's server process (tests end it)
        self._connect = connect
        self._pending: list[Notice] = []
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()

    def publish(self, notice: Notice) -> None:
        notice = replace(notice, origin=self.origin)
        self.fanout.deliver(notice)
        self._pending.append(notice)
        if len(self._pending) > PENDING_MAX:
            del self._pending[: len(self._pending) - PENDING_MAX]
        self._wake.set()

    async def publish_within(self, session: AsyncSession, notices: Sequence[Notice]) -> None:
        """NOTIFY inside the writer's transaction: PostgreSQL delivers it at the commit, never on a rollback."""
        for payload in pack([replace(n, origin=self.origin) for n in notices]):
            await session.execute(text("SELECT pg_notify(:channel, :payload)"),
                                  {"channel": CHANNEL, "payload": payload})

    def deliver_local(self, notice: Notice) -> None:
        self.fanout.deliver(replace(notice, origin=self.origin))

    def subscribe(self) -> AbstractAsyncContextManager[AsyncIterator[Notice]]:
        return self.fanout.subscribe()

    async def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self.fanout.close()

    def _lost(self, lost: asyncio.Event, _conn: Any) -> None:
        lost.set()
        self._wake.set()

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        for notice in unpack(payload):
            if notice.origin != self.origin:
                self.fanout.deliver(notice)

    async def run(self) -> None:
        delay, first = BACKOFF_FIRST, True
        while not self._stop.is_set():
            conn = None
            try:
                conn = await self._connect_unless_stopped()
                if conn is None:
                    break
                lost = asyncio.Event()
                conn.add_termination_listener(functools.partial(self._lost, lost))
                await conn.add_listener(CHANNEL, self._on_notify)
                delay = BACKOFF_FIRST
                if not first:
                    self._pending.clear()  # heartbeats from before the outage: stale, the pages send new ones
                    self.fanout.deliver(Notice(LiveKind.RESYNC))
                first = False
                self.backend_pid = conn.get_server_pid()
                self.connected.set()
                log.info("live notices: listening on PostgreSQL channel %s", CHANNEL)
                await self._pump(conn, lost)
            except Exception as exc:
                log.warning("live notices: PostgreSQL connection lost (%s); retrying in %.1f s",
                            type(exc).__name__, delay)
            finally:
                self.connected.clear()
                if conn is not None:
                    await _close(conn)
            if self._stop.is_set():
                break
            with suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=delay)
            delay = min(delay * 2, BACKOFF_MAX)

    async def _connect_unless_stopped(self) -> Any:
        """A new connection, or None when the bus closes first (shutdown never waits for a dead server)."""
        connecting = asyncio.ensure_future(self._connect(self.dsn))
        stopping = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({connecting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if connecting.done():
            return connecting.result()
        connecting.cancel()
        connecting.add_done_callback(_discard)
        return None

    async def _pump(self, conn: Any, lost: asyncio.Event) -> None:
        while not self._stop.is_set():
            if lost.is_set():
                raise ConnectionError("listener connection closed")
            if self._pending:
                batch, self._pending = self._pending, []
                for payload in pack(batch):
                    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)
                continue
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=KEEPALIVE_SECONDS)
            except TimeoutError:
                await conn.execute("SELECT 1")  # notices a silently dead connection


def _discard(task: asyncio.Future[Any]) -> None:
    """A connection attempt abandoned at shutdown: its connection, if it came after all, is dropped."""
    if not task.cancelled() and task.exception() is None:
        task.result().terminate()


async def _close(conn: Any) -> None:
    try:
        await asyncio.wait_for(conn.close(), timeout=5)
    except Exception:
        conn.terminate()
