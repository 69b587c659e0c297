"""aiosqlite with one thread hop per statement instead of four.

aiosqlite runs every sqlite3 call in the connection's own thread and wakes the event loop for
each: SQLAlchemy's adapter asks for a cursor, executes, fetches and closes, so a statement costs
four round trips between threads (about 30-60 µs of CPU each, far more than the statement itself
when it touches a few rows). This connection keeps aiosqlite's thread, queue and connection
(SQLAlchemy's adapter relies on them) and only replaces the cursor: ``execute`` runs the
statement *and* reads its first rows in the same trip; ``fetch*`` serve those rows from memory
and go back to the thread only for a result larger than one chunk; ``close`` needs no trip.
Everything still runs in the connection's thread, in order, so SQLite sees what it saw before.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import aiosqlite

CHUNK = 1000  # rows read in the execute trip; larger results are read CHUNK at a time
T = TypeVar("T")


class OneHopCursor:
    """The part of aiosqlite's cursor SQLAlchemy uses, with results read in the execute trip."""

    def __init__(self, connection: OneHopConnection) -> None:
        self._connection = connection
        self._cursor: sqlite3.Cursor | None = None  # kept open only while rows remain unread
        self._rows: deque[Any] = deque()
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    async def __aenter__(self) -> OneHopCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] | None = None) -> OneHopCursor:
        await self._run(lambda cur: cur.execute(sql, () if parameters is None else parameters))
        return self

    async def executemany(self, sql: str, seq_of_parameters: Iterable[Any]) -> OneHopCursor:
        await self._run(lambda cur: cur.executemany(sql, seq_of_parameters))
        return self

    async def _run(self, action: Callable[[sqlite3.Cursor], object]) -> None:
        await self.close()

        def trip() -> tuple[Any, int, int | None, list[Any], sqlite3.Cursor | None]:
            cur = self._connection._conn.cursor()
            try:
                action(cur)
                rows = cur.fetchmany(CHUNK) if cur.description else []
            except BaseException:
                cur.close()
                raise
            more = cur if len(rows) == CHUNK else None
            result = cur.description, cur.rowcount, cur.lastrowid, rows, more
            if more is None:
                cur.close()
            return result

        self.description, self.rowcount, self.lastrowid, rows, self._cursor = await self._connection.trip(trip)
        self._rows = deque(rows)

    async def _more(self) -> bool:
        cursor = self._cursor
        if cursor is None:
            return False

        def trip() -> list[Any]:
            rows = cursor.fetchmany(CHUNK)
            if len(rows) < CHUNK:
                cursor.close()
            return rows

        rows = await self._connection.trip(trip)
        if len(rows) < CHUNK:
            self._cursor = None
        self._rows.extend(rows)
        return bool(rows)

    async def fetchone(self) -> Any:
        if not self._rows and not await self._more():
            return None
        return self._rows.popleft()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        size = size or self.arraysize
        while len(self._rows) < size and await self._more():
            pass
        return [self._rows.popleft() for _ in range(min(size, len(self._rows)))]

    async def fetchall(self) -> list[Any]:
        while await self._more():
            pass
        rows, self._rows = list(self._rows), deque()
        return rows

    async def close(self) -> None:
        self._rows = deque()
        cursor, self._cursor = self._cursor, None
        if cursor is not None:  # a large result left unread: close it in the connection's thread
            await self._connection.trip(cursor.close)


class OneHopConnection(aiosqlite.Connection):
    async def trip(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` in the connection's thread (aiosqlite's ``_execute``, typed)."""
        result: T = await self._execute(fn)  # type: ignore[no-untyped-call]  # aiosqlite leaves _execute untyped
        return result

    def cursor(self) -> OneHopCursor:  # type: ignore[override]
        return OneHopCursor(self)


def connect(path: str, **kwargs: Any) -> OneHopConnection:
    """Like ``aiosqlite.connect``: an awaitable connection whose thread is a daemon (as SQLAlchemy sets it)."""
    connection = OneHopConnection(lambda: sqlite3.connect(path, **kwargs), iter_chunk_size=64)
    connection._thread.daemon = True
    return connection
