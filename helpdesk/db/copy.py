"""Copy every row from one database to another (moving from SQLite to PostgreSQL).

The target is migrated first and must be empty. Rows go table by table in dependency order, in
chunks; PostgreSQL sequences are then moved past the copied ids.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sqlalchemy import func, insert, select
from sqlmodel import SQLModel

import helpdesk.db.tables
from helpdesk.db import migrate
from helpdesk.db.engine import make_migration_engine
from helpdesk.domain.errors import Conflict

CHUNK = 500


async def copy_database(source_url: str, target_url: str, *,
                        on_progress: Callable[[int, int | None], None] | None = None) -> dict[str, int]:
    """Copy every row; ``on_progress(rows_just_copied, total_rows)`` after each chunk."""
    await asyncio.to_thread(migrate.upgrade, target_url)
    src = make_migration_engine(source_url)
    dst = make_migration_engine(target_url)
    counts: dict[str, int] = {}
    helpdesk.db.tables.load_all()  # every table on the metadata
    tables = [t for t in SQLModel.metadata.sorted_tables if t.name != "alembic_version"]
    try:
        async with dst.begin() as out:
            for table in tables:
                if await out.scalar(select(func.count()).select_from(table)):
                    raise Conflict(f"the target database is not empty (table {table.name}): copy refused")
        total: int | None = None
        if on_progress is not None:
            async with src.connect() as inp:
                total = sum([await inp.scalar(select(func.count()).select_from(t)) or 0 for t in tables])
        async with src.connect() as inp, dst.begin() as out:
            for table in tables:
                n = 0
                result = await inp.stream(select(table))
                async for chunk in result.partitions(CHUNK):
                    rows = [dict(r._mapping) for r in chunk]
                    await out.execute(insert(table), rows)
                    n += len(rows)
                    if on_progress is not None:
                        on_progress(len(rows), total)
                counts[table.name] = n
            if dst.dialect.name == "postgresql":
                for table in tables:
                    pk = list(table.primary_key.columns)
                    if len(pk) == 1 and pk[0].autoincrement is not False and pk[0].type.python_type is int:
                        col = pk[0].name
                        top = select(func.coalesce(func.max(pk[0]), 0) + 1).scalar_subquery()
                        seq = func.pg_get_serial_sequence(f'"{table.name}"', col)
                        await out.execute(select(func.setval(seq, top, False)))
    finally:
        await src.dispose()
        await dst.dispose()
    return counts
