"""Alembic, driven from code: no alembic.ini needed, the same on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from helpdesk.db.engine import make_migration_engine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "heads") -> None:
    """Apply every migration (all heads). Safe to run again."""
    command.upgrade(alembic_config(url), revision)


def head_revisions(url: str) -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config(url)).get_heads())


async def current_revisions(url: str) -> set[str]:
    engine = make_migration_engine(url)
    try:
        async with engine.connect() as conn:

            def _current(sync_conn: Connection) -> set[str]:
                return set(MigrationContext.configure(sync_conn).get_current_heads())

            return await conn.run_sync(_current)
    finally:
        await engine.dispose()


async def table_names(url: str) -> set[str]:
    """The tables present in the database (empty for a new database)."""
    from sqlalchemy import inspect

    engine = make_migration_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda sync_conn: inspect(sync_conn).get_table_names()))
    finally:
        await engine.dispose()


async def is_current(url: str) -> bool:
    return await current_revisions(url) == head_revisions(url)


def upgrade_sync(url: str) -> None:
    upgrade(url)


def run_upgrade_in_thread(url: str) -> asyncio.Future[None]:
    return asyncio.get_running_loop().run_in_executor(None, upgrade, url)
