"""Queue load: how fast the staff queue answers with 100,000 tickets (SQLite, and PostgreSQL when given).

    .venv/bin/python benchmarks/queue_load.py                      # SQLite in a temporary file
    .venv/bin/python benchmarks/queue_load.py --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test

With --postgres a scratch database is created next to the given one and dropped afterwards.
Prints the median of several runs for each query the queue makes, as a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select  # noqa: E402

from helpdesk.app.tickets.queue import DUE, NO_DUE, QueueFilter, QueueService, encode_cursor, with_view  # noqa: E402
from helpdesk.db import migrate  # noqa: E402
from helpdesk.db.engine import Database  # noqa: E402
from helpdesk.db.tables import Contact, Message, Organization, StaffUser, Ticket  # noqa: E402
from helpdesk.ports import FixedClock  # noqa: E402

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
WORDS = ("budget", "cadastre", "adresse", "BAL", "SCDL", "délibération", "marché public", "subvention", "PLU",
         "schéma", "validata", "Excel", "CSV", "métadonnées", "licence", "data.gouv.fr")
STATUSES = ("new", "open", "pending", "resolved", "closed")


async def seed(db: Database, n: int) -> int:
    rnd = random.Random(7)
    async with db.engine.begin() as conn:
        await conn.execute(insert(StaffUser), [StaffUser(email=f"agent{i}@craig.fr", name=f"Agent {i}",
                                                         created_at=NOW).model_dump(exclude={"id"}) for i in range(8)])
        await conn.execute(insert(Organization), [Organization(
            name=f"Commune {i}", kind="commune", pays=f"Pays {i % 12}", created_at=NOW).model_dump(exclude={"id"})
            for i in range(300)])
        await conn.execute(insert(Contact), [Contact(email=f"c{i}@mairie{i % 300}.fr", name=f"Contact {i}",
                                                     organization_id=1 + i % 300, created_at=NOW
                                                     ).model_dump(exclude={"id"}) for i in range(5000)])
    chunk = 5000
    for start in range(0, n, chunk):
        tickets, messages = [], []
        for i in range(start, min(n, start + chunk)):
            status = rnd.choices(STATUSES, weights=(10, 30, 10, 20, 30))[0]
            # Open tickets are recent (a month of backlog); resolved and closed ones span a year.
            age_days = 30 if status in ("new", "open", "pending") else 400
            created = NOW - timedelta(minutes=rnd.randint(0, 60 * 24 * age_days))
            answered = status != "new" and rnd.random() < 0.8
            subject = f"{rnd.choice(WORDS)} {rnd.choice(WORDS)} n°{i}"
            tickets.append(Ticket(
                number=1000 + i, public_ref=uuid.uuid4().hex, subject=subject,
                status=status,
                priority=rnd.choice(("low", "normal", "normal", "high", "urgent")),
                channel=rnd.choice(("email", "email", "telegram", "web", "phone")),
                requester_id=1 + i % 5000, organization_id=1 + i % 300,
                assignee_id=None if rnd.random() < 0.3 else rnd.randint(1, 8),
                tags=rnd.sample(["budget", "bal", "scdl", "urgent", "cadastre"], k=rnd.randint(0, 2)),
                created_at=created, updated_at=created,
                first_response_at=created + timedelta(hours=2) if answered else None,
                first_response_due=None if rnd.random() < 0.05 else created + timedelta(hours=rnd.randint(4, 48)),
                resolution_due=created + timedelta(days=rnd.randint(2, 20)),
            ).model_dump(exclude={"id"}))
        async with db.engine.begin() as conn:
            await conn.execute(insert(Ticket), tickets)
            first_id = (await conn.execute(select(Ticket.id).where(Ticket.number == 1000 + start))).scalar_one()
            for k, t in enumerate(tickets):
                text = f"Bonjour, question sur {rnd.choice(WORDS)} et {rnd.choice(WORDS)} pour {t['subject']}."
                messages.append(Message(ticket_id=first_id + k, direction="inbound", channel=t["channel"],
                                        visible_text=text, full_text=text, created_at=t["created_at"]
                                        ).model_dump(exclude={"id"}))
            await conn.execute(insert(Message), messages)
    return n


async def timed(label: str, fn, runs: int = 7) -> tuple[str, float, int]:  # type: ignore[no-untyped-def]
    await fn()  # warm caches
    times, size = [], 0
    for _ in range(runs):
        t = time.perf_counter()
        out = await fn()
        times.append((time.perf_counter() - t) * 1000)
        size = out
    return label, statistics.median(times), size


async def deep_cursor(db: Database, position: int) -> str:
    """The cursor a staff member holds after paging through ``position`` tickets (computed the slow way)."""
    due, no_due = DUE, NO_DUE
    async with db.transaction() as s:
        row = (await s.execute(
            select(no_due, due, Ticket.id).where(Ticket.status.in_(("new", "open", "pending")))
            .order_by(no_due, due, Ticket.id).offset(position).limit(1)
        )).one()
    return encode_cursor(int(row[0]), row[1], int(row[2]))


async def run(url: str, n: int) -> list[tuple[str, float, int]]:
    await asyncio.to_thread(migrate.upgrade, url)
    db = Database(url)
    try:
        t = time.perf_counter()
        await seed(db, n)
        print(f"seeded {n} tickets in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        async with db.engine.begin() as conn:  # planner statistics, as a running database has them
            await conn.exec_driver_sql("ANALYZE")
        queue = QueueService(db, FixedClock(NOW))
        deep = await deep_cursor(db, 30_000)

        async def page(f: QueueFilter, cursor: str | None = None) -> int:
            return len((await queue.page(f, me=1, cursor=cursor)).items)

        async def counts() -> int:
            return sum((await queue.counts(1)).values())

        return [
            await timed("page 1, open tickets by SLA due time", lambda: page(QueueFilter())),
            await timed("page 601 (keyset cursor after 30,000 rows)", lambda: page(QueueFilter(), deep)),
            await timed("saved-view counts (mine, unassigned, breaching)", counts),
            await timed("view: mine", lambda: page(with_view(QueueFilter(), "mine"))),
            await timed("view: breaching soon", lambda: page(with_view(QueueFilter(), "breaching"))),
            await timed("filter: priority urgent + channel telegram",
                        lambda: page(QueueFilter(priority="urgent", channel="telegram"))),
            await timed("filter: Pays", lambda: page(QueueFilter(pays="Pays 3"))),
            await timed("filter: tag", lambda: page(QueueFilter(tag="cadastre"))),
            await timed("text search in subjects and messages", lambda: page(QueueFilter(text="délibération"))),
            await timed("text search, rare word (scans everything)", lambda: page(QueueFilter(text="zzzz-absent"))),
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
        results["SQLite"] = await run(f"sqlite+aiosqlite:///{tmp}/queue.sqlite3", args.tickets)
    if args.postgres:
        import asyncpg

        name = f"queue_bench_{uuid.uuid4().hex[:8]}"
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
    print("| query | " + " | ".join(backends) + " |")
    print("| --- | " + " | ".join("---:" for _ in backends) + " |")
    for i, (label, _, _) in enumerate(results[backends[0]]):
        print(f"| {label} | " + " | ".join(f"{results[b][i][1]:.1f}" for b in backends) + " |")


if __name__ == "__main__":
    asyncio.run(main())
