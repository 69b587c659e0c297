"""The one-trip SQLite cursor under SQLAlchemy: large results, streaming, errors, executemany, rowcount."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from helpdesk.db import sqlite_driver
from helpdesk.db.engine import Database


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> Database:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'driver.sqlite3'}")
    async with db.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)"))
    yield db  # type: ignore[misc]
    await db.dispose()


async def test_the_engine_uses_the_one_trip_connection(sqlite_db: Database) -> None:
    async with sqlite_db.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        assert isinstance(raw.driver_connection, sqlite_driver.OneHopConnection)


async def test_results_larger_than_a_chunk_are_read_whole_and_streamed(sqlite_db: Database) -> None:
    n = sqlite_driver.CHUNK * 2 + 17
    async with sqlite_db.engine.begin() as conn:
        result = await conn.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": f"x{i}"} for i in range(n)])
        assert result.rowcount == n
    async with sqlite_db.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT id, v FROM t ORDER BY id"))).all()
        assert [r.v for r in rows] == [f"x{i}" for i in range(n)]
        streamed = await conn.stream(text("SELECT v FROM t ORDER BY id"))
        seen = [row.v async for row in streamed]
        assert seen == [f"x{i}" for i in range(n)]
        partial = await conn.stream(text("SELECT v FROM t ORDER BY id"))
        first = await partial.fetchmany(3)
        assert [r.v for r in first] == ["x0", "x1", "x2"]
        await partial.close()  # an unread rest is dropped; the connection goes on working
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == n


async def test_errors_surface_and_the_connection_stays_usable(sqlite_db: Database) -> None:
    async with sqlite_db.engine.begin() as conn:
        await conn.execute(text("INSERT INTO t (v) VALUES ('a')"))
    with pytest.raises(IntegrityError):
        async with sqlite_db.engine.begin() as conn:
            await conn.execute(text("INSERT INTO t (v) VALUES ('a')"))
    with pytest.raises(OperationalError):
        async with sqlite_db.engine.connect() as conn:
            await conn.execute(text("SELECT nope FROM t"))
    async with sqlite_db.engine.begin() as conn:
        inserted = await conn.execute(text("INSERT INTO t (v) VALUES ('b') RETURNING id"))
        assert inserted.scalar_one() == 2
        changed = await conn.execute(text("UPDATE t SET v = v || '!'"))
        assert changed.rowcount == 2
        assert (await conn.execute(text("SELECT v FROM t WHERE id = 2"))).scalar_one() == "b!"
        assert (await conn.execute(text("SELECT v FROM t WHERE id = 99"))).first() is None
