"""Readiness beyond "the database answers": it accepts a write, and the data directory has room.

``/readyz`` answers 503 with these problems, so a load balancer stops sending work to an instance
whose disk is full or whose database went read-only, instead of accepting replies it cannot keep.
"""

from __future__ import annotations

import asyncio
import shutil
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete
from sqlalchemy.engine import make_url
from sqlmodel import col

from helpdesk.db.engine import Database
from helpdesk.db.tables_web import RateHit
from helpdesk.ports import Clock

HEARTBEAT = "readyz"  # RateHit bucket of the heartbeat rows
WRITE_TIMEOUT = 10.0  # seconds; a database that holds a write longer is not ready


async def write_problem(db: Database, clock: Clock, owner: str) -> str | None:
    """Commit a tiny heartbeat row (and drop the older ones); the reason when the database refuses it."""
    async def beat() -> None:
        now = clock.now()
        async with db.transaction() as s:
            await s.execute(delete(RateHit).where(col(RateHit.bucket) == HEARTBEAT,
                                                  col(RateHit.created_at) < now - timedelta(minutes=5)))
            s.add(RateHit(bucket=HEARTBEAT, key=owner[:320], created_at=now))

    try:
        await asyncio.wait_for(beat(), WRITE_TIMEOUT)
    except TimeoutError:
        return f"database does not accept writes (no commit within {WRITE_TIMEOUT:g} s)"
    except Exception as exc:  # noqa: BLE001 - readiness reports, never raises
        return f"database does not accept writes ({type(exc).__name__})"
    return None


def _existing(path: Path) -> Path:
    path = path.resolve()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def watched_directories(data_dir: Path, database_url: str) -> list[Path]:
    """The data directory and, for SQLite, the database file's directory."""
    dirs = [_existing(data_dir)]
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:" \
            and not url.database.startswith("file:"):
        dirs.append(_existing(Path(url.database).parent))
    return list(dict.fromkeys(dirs))


async def disk_problems(directories: list[Path], min_free_mb: int) -> list[str]:
    out = []
    for directory in directories:
        free = (await asyncio.to_thread(shutil.disk_usage, directory)).free // (1024 * 1024)
        if free < min_free_mb:
            out.append(f"low disk space in {directory}: {free} MiB free, "
                       f"HELPDESK_MIN_FREE_DISK_MB={min_free_mb}")
    return out
