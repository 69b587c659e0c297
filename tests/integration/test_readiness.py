"""/readyz on both databases: 503 when the disk is (nearly) full or the database refuses writes."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from helpdesk.app.readiness import HEARTBEAT, disk_problems, watched_directories, write_problem
from helpdesk.bootstrap import build
from helpdesk.config import Settings
from helpdesk.db import migrate
from helpdesk.db.engine import Database
from helpdesk.db.tables_web import RateHit
from helpdesk.ports import FixedClock
from helpdesk.web.app import make_app


async def test_readyz_writes_a_heartbeat_and_checks_free_space(db: Database, clock: FixedClock,
                                                               tmp_path: Path) -> None:
    services = build(Settings(database_url=db.url, data_dir=tmp_path, smtp_enabled=False), clock=clock)
    async with TestClient(TestServer(make_app(services))) as client:
        ready = await client.get("/readyz")
        assert ready.status == 200, await ready.text()
    async with db.transaction() as s:
        assert await s.scalar(select(func.count(RateHit.id)).where(RateHit.bucket == HEARTBEAT)) == 1
    await services.db.dispose()
    full = build(Settings(database_url=db.url, data_dir=tmp_path, smtp_enabled=False, min_free_disk_mb=10**12),
                 clock=clock)
    async with TestClient(TestServer(make_app(full))) as client:
        res = await client.get("/readyz")
        body = await res.json()
        assert res.status == 503 and any("low disk space" in p for p in body["problems"]), body
    await full.db.dispose()


async def test_disk_check_watches_the_nearest_existing_directory(tmp_path: Path) -> None:
    dirs = await asyncio.to_thread(watched_directories, tmp_path / "pas" / "encore",
                                   f"sqlite+aiosqlite:///{tmp_path}/db/h.sqlite3")
    assert dirs == [await asyncio.to_thread(tmp_path.resolve)]
    assert await disk_problems(dirs, 0) == []
    assert await disk_problems(dirs, 10**12)


async def test_a_read_only_database_is_not_ready(tmp_path: Path, clock: FixedClock) -> None:
    path = tmp_path / "h.sqlite3"
    await asyncio.to_thread(migrate.upgrade, f"sqlite+aiosqlite:///{path}")
    readonly = Database(f"sqlite+aiosqlite:///file:{path}?mode=ro&uri=true")
    try:
        assert await readonly.ping()  # it still answers reads…
        problem = await write_problem(readonly, clock, "test")
        assert problem is not None and "does not accept writes" in problem  # …but keeps nothing
    finally:
        await readonly.dispose()
    writable = Database(f"sqlite+aiosqlite:///{path}")
    try:
        assert await write_problem(writable, clock, "test") is None
    finally:
        await writable.dispose()
