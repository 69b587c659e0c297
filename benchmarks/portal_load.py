"""Portal load: how fast a requester's pages answer with 100,000 tickets (SQLite, and PostgreSQL when given).

    .venv/bin/python benchmarks/portal_load.py                      # SQLite in a temporary file
    .venv/bin/python benchmarks/portal_load.py --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test

The data is queue_load.py's (5,000 contacts in 300 communes: 20 tickets per requester, 333 per commune).
Prints the median of several runs of each use-case call behind /espace, as a Markdown table, with the
staff queue's first page measured in the same run for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from queue_load import NOW, seed, timed  # noqa: E402
from sqlalchemy import update  # noqa: E402

from helpdesk.app.intake.service import IntakeService  # noqa: E402
from helpdesk.app.portal.service import PortalService  # noqa: E402
from helpdesk.app.portal.signin import LinkPurpose, PortalAuth  # noqa: E402
from helpdesk.app.satisfaction.ratings import RatingService  # noqa: E402
from helpdesk.app.tickets.queue import QueueFilter, QueueService  # noqa: E402
from helpdesk.db import migrate  # noqa: E402
from helpdesk.db.engine import Database  # noqa: E402
from helpdesk.db.tables import Organization  # noqa: E402
from helpdesk.ports import FixedClock  # noqa: E402


async def run(url: str, n: int) -> list[tuple[str, float, int]]:
    await asyncio.to_thread(migrate.upgrade, url)
    db = Database(url)
    clock = FixedClock(NOW)
    try:
        t = time.perf_counter()
        await seed(db, n)
        print(f"seeded {n} tickets in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        async with db.transaction() as s:  # commune 8 shares its tickets; commune 7 does not
            await s.execute(update(Organization).where(Organization.id == 8).values(portal_shared=True))
        async with db.engine.begin() as conn:
            await conn.exec_driver_sql("ANALYZE")
        auth = PortalAuth(db, clock, public_url="http://127.0.0.1")
        portal = PortalService(db, clock, IntakeService(db, clock), RatingService(db, clock))
        queue = QueueService(db, clock)

        async def who(email: str):  # type: ignore[no-untyped-def]
            _, identity = await auth.sign_in(await auth.mint(email, LinkPurpose.SIGNIN))
            return identity

        alone, shared = await who("c6@mairie6.fr"), await who("c7@mairie7.fr")
        own = (await portal.tickets(alone))[0].number

        async def sign_in() -> int:
            token, _ = await auth.sign_in(await auth.mint("c6@mairie6.fr", LinkPurpose.SIGNIN))
            return int(await auth.session(token) is not None)

        async def listing(identity) -> int:  # type: ignore[no-untyped-def]
            return len(await portal.tickets(identity))

        async def page() -> int:
            return len((await portal.ticket(alone, own)).messages)

        async def staff_page() -> int:
            return len((await queue.page(QueueFilter(), me=1)).items)

        return [
            await timed("sign-in: mint a link, consume it, read the session", sign_in),
            await timed("my requests (20 tickets)", lambda: listing(alone)),
            await timed("my organisation's requests (shared commune, 200 of 333)", lambda: listing(shared)),
            await timed("one request's page", page),
            await timed("for comparison: the staff queue's first page", staff_page),
        ]
    finally:
        await db.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--postgres", help="base URL; a scratch database is created and dropped")
    args = parser.parse_args()
    results: dict[str, list[tuple[str, float, int]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["SQLite"] = await run(f"sqlite+aiosqlite:///{tmp}/portal.sqlite3", args.tickets)
    if args.postgres:
        import asyncpg

        name = f"portal_bench_{uuid.uuid4().hex[:8]}"
        admin = args.postgres.replace("postgresql+asyncpg://", "postgresql://")
        conn = await asyncpg.connect(admin)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()
        try:
            results["PostgreSQL"] = await run(args.postgres.rsplit("/", 1)[0] + "/" + name, args.tickets)
        finally:
            conn = await asyncpg.connect(admin)
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.close()
    backends = list(results)
    print(f"\n{args.tickets:,} tickets; median of 7 runs, milliseconds\n")
    print("| call | " + " | ".join(backends) + " |")
    print("| --- | " + " | ".join("---:" for _ in backends) + " |")
    for i, (label, _, _) in enumerate(results[backends[0]]):
        print(f"| {label} | " + " | ".join(f"{results[b][i][1]:.1f}" for b in backends) + " |")


if __name__ == "__main__":
    asyncio.run(main())
