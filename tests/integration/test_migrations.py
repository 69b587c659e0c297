"""The migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import helpdesk.db.tables
from helpdesk.db import fulltext, migrate
from helpdesk.db.engine import Database


async def test_models_match_migrations(db: Database) -> None:
    def diff(conn: Connection) -> list[object]:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False, "include_name": fulltext.include_name})
        helpdesk.db.tables.load_all()
        return list(compare_metadata(ctx, SQLModel.metadata))

    async with db.engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_upgrade_is_idempotent_and_current(db: Database) -> None:
    assert await migrate.is_current(db.url)
    await asyncio.to_thread(migrate.upgrade, db.url)
    assert await migrate.is_current(db.url)


async def test_sqlite_runs_wal_with_foreign_keys(db: Database) -> None:
    if not db.is_sqlite:
        return
    async with db.engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1


def test_one_head_so_new_migrations_have_one_parent() -> None:
    assert migrate.head_revisions("sqlite+aiosqlite:///unused.sqlite3") == {"0010_ticket_search"}


async def test_search_index_triggers_survive_every_migration(db: Database) -> None:
    """A later SQLite batch migration that recreates a table would drop its triggers: this would notice."""
    if db.is_sqlite:
        sql = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'ticket_search%'"
        expected = 8
    else:
        sql = "SELECT tgname FROM pg_trigger WHERE tgname LIKE 'ticket_search%'"
        expected = 4
    async with db.engine.connect() as conn:
        assert len((await conn.execute(text(sql))).all()) == expected
