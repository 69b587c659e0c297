"""Shared fixtures: a migrated database on SQLite and, when HELPDESK_TEST_POSTGRES_URL is set, PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from helpdesk.bootstrap import build
from helpdesk.config import Settings
from helpdesk.db import migrate
from helpdesk.db.engine import Database
from helpdesk.ports import FixedClock
from helpdesk.services import Services

PG_ENV = "HELPDESK_TEST_POSTGRES_URL"
PG_SKIP = f"PostgreSQL half skipped: set {PG_ENV} (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test)"


def _pg_url() -> str | None:
    url = os.environ.get(PG_ENV)
    if url and url.startswith("postgresql://"):
        url = "postgresql+asyncpg://" + url.split("://", 1)[1]
    return url


@pytest.fixture(autouse=True)
def _no_published_data_fetch(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reaches data.gouv.fr: published-data look-ups say « non vérifié » unless a test points
    HELPDESK_DATAGOUV_API_URL / HELPDESK_CSW_URL at its fakes and turns fetching back on."""
    monkeypatch.setenv("HELPDESK_FETCH_ENABLED", "false")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for each test (migrating once keeps the suite fast)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    migrate.upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated once, dropped at the end."""
    base = _pg_url()
    if not base:
        pytest.skip(PG_SKIP)
    import asyncpg

    name = f"helpdesk_test_{uuid.uuid4().hex[:10]}"
    plain = base.replace("postgresql+asyncpg://", "postgresql://")
    admin_dsn = plain

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    url = base.rsplit("/", 1)[0] + "/" + name
    migrate.upgrade(url)
    try:
        yield url
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _truncate_pg(db: Database) -> None:
    from sqlmodel import SQLModel

    from helpdesk.db.tables import load_all

    load_all()  # every table, not only those this test's imports loaded
    names = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    async with db.engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "helpdesk.sqlite3"
        shutil.copy(template, path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("pg_database")
    return url


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    if not database.is_sqlite:
        await _truncate_pg(database)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
async def services(db: Database, clock: FixedClock) -> AsyncIterator[Services]:
    """The application as ``bootstrap.build()`` wires it, on the test database and the test clock.

    No network: the SMTP listener is off and no relay or bot is configured (pass fakes to ``build``
    in the test when one is needed). Disposed on teardown, even when the test fails.
    """
    built = build(Settings(database_url=db.url, public_url="http://127.0.0.1", smtp_enabled=False), clock=clock)
    try:
        yield built
    finally:
        await built.db.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
