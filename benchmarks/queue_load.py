"""Queue load: how fast the staff queue answers with 100,000 tickets (SQLite, and PostgreSQL when given).

    .venv/bin/python benchmarks/queue_load.py                      # SQLite in a temporary file
    .venv/bin/python benchmarks/queue_load.py --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test

With --postgres a scratch database is created next to the given one and dropped afterwards; with
--database URL that database is used as it is (upgraded, seeded only if it has no ticket, kept), so a
seeded database serves several runs:

    createdb -h 127.0.0.1 -U postgres qbench
    .venv/bin/python benchmarks/queue_load.py --skip-sqlite --database postgresql+asyncpg://postgres@127.0.0.1:5432/qbench

Prints the median of several runs for each query the queue makes, as a Markdown table, then the
full-text search under load: ``--clients`` staff members (20) each searching ``--searches`` times in a
row, without pause, for random French words (plurals, accents, two-word searches, requesters,
organisations, a word no ticket has), through TicketSearch.page as the queue page and the API call it;
p50 and p99 of every search, and the load average of the machine during the run; and the CPU one search
costs (this process, and the PostgreSQL backends when the server is local), which a loaded machine
disturbs less than times. After seeding,
PostgreSQL is vacuumed and analysed (as autovacuum leaves a running database), SQLite analysed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select  # noqa: E402

from helpdesk.app.tickets.queue import DUE, NO_DUE, QueueFilter, QueueService, encode_cursor, with_view  # noqa: E402
from helpdesk.app.tickets.search import TicketSearch  # noqa: E402
from helpdesk.db import migrate  # noqa: E402
from helpdesk.db.engine import Database  # noqa: E402
from helpdesk.db.tables import Contact, Message, Organization, StaffUser, Ticket  # noqa: E402
from helpdesk.ports import FixedClock  # noqa: E402

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
WORDS = ("budget", "cadastre", "adresse", "BAL", "SCDL", "délibération", "marché public", "subvention", "PLU",
         "schéma", "validata", "Excel", "CSV", "métadonnées", "licence", "data.gouv.fr")
STATUSES = ("new", "open", "pending", "resolved", "closed")
# What staff type: words of the seed's vocabulary in other forms, pairs, people and places, a miss.
SEARCHES = ("délibérations", "deliberation", "adresses", "cadastre", "subventions", "schémas", "métadonnée",
            "licences", "marchés publics", "budget", "validata", "excel csv", "Commune 42", "Contact 1234",
            "c77@mairie77.fr", "budget cadastre", "PLU subvention", "data.gouv.fr", "zzzz absent", "SCDL")


async def seed(db: Database, n: int) -> int:
    """``n`` tickets with a message each. On PostgreSQL the search triggers are off while loading and the
    index is built after, ticket by ticket, by the function the triggers call (quicker than two rebuilds
    per ticket); SQLite keeps its triggers on, as in service."""
    postgres = db.dialect == "postgresql"
    if postgres:
        async with db.engine.begin() as conn:
            await conn.exec_driver_sql("ALTER TABLE ticket DISABLE TRIGGER ticket_search_ticket")
            await conn.exec_driver_sql("ALTER TABLE message DISABLE TRIGGER ticket_search_message")
    await _seed(db, n)
    if postgres:
        async with db.engine.begin() as conn:
            await conn.exec_driver_sql("ALTER TABLE ticket ENABLE TRIGGER ticket_search_ticket")
            await conn.exec_driver_sql("ALTER TABLE message ENABLE TRIGGER ticket_search_message")
            await conn.exec_driver_sql("SELECT count(*) FROM (SELECT ticket_search_refresh(id)::text FROM ticket) s")
            indexed = (await conn.exec_driver_sql("SELECT count(*) FROM ticket_search")).scalar_one()
            assert indexed == n, indexed
    return n


async def _seed(db: Database, n: int) -> int:
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


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def search_load(search: TicketSearch, clients: int, per_client: int, think: float = 0.0) -> dict[str, float]:
    """``clients`` concurrent staff members, each searching ``per_client`` times: in a row when ``think``
    is 0 (the machine's capacity), else pausing a random time of mean ``think`` seconds in between."""
    times: list[float] = []

    async def client(k: int) -> None:
        rnd = random.Random(k)
        for _ in range(per_client):
            if think:
                await asyncio.sleep(rnd.expovariate(1 / think))
            words = rnd.choice(SEARCHES)
            t = time.perf_counter()
            await search.page(QueueFilter(text=words), me=1 + k % 8)
            times.append((time.perf_counter() - t) * 1000)

    await client(999)  # warm caches
    times.clear()
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(clients)))
    wall = time.perf_counter() - started
    return {"p50": statistics.median(times), "p99": percentile(times, 99), "max": max(times),
            "per_second": len(times) / wall, "searches": len(times),
            "load": max(load_before, os.getloadavg()[0])}


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes (Linux /proc; 0 for those not readable)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


async def search_cpu(db: Database, search: TicketSearch, runs: int = 20) -> dict[str, float]:
    """CPU per search, one client, every kind of SEARCHES in turn: this process (Python) and, when the
    PostgreSQL server runs on this machine, its backends. Less sensitive than times to a loaded machine."""
    for words in SEARCHES:  # warm caches and plans (PostgreSQL caches a generic plan from the sixth run)
        for _ in range(6):
            await search.page(QueueFilter(text=words), me=1)
    pids: list[int] = []
    if db.dialect == "postgresql":
        async with db.engine.connect() as conn:
            pids = list((await conn.exec_driver_sql(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()")).scalars())
    backend, python = _cpu_seconds(pids), time.process_time()
    for _ in range(runs):
        for words in SEARCHES:
            await search.page(QueueFilter(text=words), me=1)
    n = runs * len(SEARCHES)
    return {"python_ms": (time.process_time() - python) / n * 1000,
            "backend_ms": (_cpu_seconds(pids) - backend) / n * 1000 if pids else float("nan")}


async def deep_cursor(db: Database, position: int) -> str:
    """The cursor a staff member holds after paging through ``position`` tickets (computed the slow way)."""
    due, no_due = DUE, NO_DUE
    async with db.transaction() as s:
        row = (await s.execute(
            select(no_due, due, Ticket.id).where(Ticket.status.in_(("new", "open", "pending")))
            .order_by(no_due, due, Ticket.id).offset(position).limit(1)
        )).one()
    return encode_cursor(int(row[0]), row[1], int(row[2]))


async def prepare(db: Database, n: int) -> None:
    """``n`` tickets (none added if the database has some), then planner statistics and, on PostgreSQL,
    the visibility map and hint bits a running database gets from autovacuum."""
    async with db.engine.connect() as conn:
        present = (await conn.execute(select(func.count()).select_from(Ticket))).scalar_one()
    if present:
        print(f"using the {present} tickets already there", file=sys.stderr)
    else:
        t = time.perf_counter()
        await seed(db, n)
        print(f"seeded {n} tickets in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    if db.dialect != "postgresql":
        async with db.engine.begin() as conn:
            await conn.exec_driver_sql("ANALYZE")
        return
    async with db.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.exec_driver_sql("VACUUM ANALYZE")


async def run(url: str, n: int, clients: int = 20, per_client: int = 25
              ) -> tuple[list[tuple[str, float, int]], dict[str, float]]:
    await asyncio.to_thread(migrate.upgrade, url)
    db = Database(url)
    try:
        await prepare(db, n)
        queue = QueueService(db, FixedClock(NOW))
        search = TicketSearch(db, queue)
        deep = await deep_cursor(db, min(30_000, n // 4))

        async def page(f: QueueFilter, cursor: str | None = None) -> int:
            return len((await queue.page(f, me=1, cursor=cursor)).items)

        async def counts() -> int:
            return sum((await queue.counts(1)).values())

        async def found(words: str) -> int:
            return len((await search.page(QueueFilter(text=words), me=1)).items)

        rows = [
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
            await timed("full-text search, common word, ranked + fragments", lambda: found("délibérations")),
            await timed("full-text search, two words", lambda: found("budget cadastre")),
            await timed("full-text search, requester", lambda: found("Contact 1234")),
            await timed("full-text search, word no ticket has", lambda: found("zzzz absent")),
        ]
        cpu = await search_cpu(db, search)
        print(f"search CPU: {cpu}", file=sys.stderr)
        load = await search_load(search, clients, per_client)
        print(f"search under load: {load}", file=sys.stderr)
        paced = await search_load(search, clients, per_client, think=1.0)
        print(f"search, paced: {paced}", file=sys.stderr)
        return rows, {**load, **{f"paced_{k}": v for k, v in paced.items()}, **cpu}
    finally:
        await db.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--postgres", help="base URL; a scratch database is created and dropped")
    parser.add_argument("--database", help="an existing database to use and keep (seeded if it has no ticket)")
    parser.add_argument("--clients", type=int, default=20, help="concurrent staff members searching")
    parser.add_argument("--searches", type=int, default=25, help="searches by each of them")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    results: dict[str, list[tuple[str, float, int]]] = {}
    loads: dict[str, dict[str, float]] = {}
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            results["SQLite"], loads["SQLite"] = await run(f"sqlite+aiosqlite:///{tmp}/queue.sqlite3", args.tickets,
                                                           args.clients, args.searches)
    if args.database:
        backend = "PostgreSQL" if args.database.startswith("postgresql") else "SQLite"
        results[backend], loads[backend] = await run(args.database, args.tickets, args.clients, args.searches)
    if args.postgres:
        import asyncpg

        name = f"queue_bench_{uuid.uuid4().hex[:8]}"
        admin = args.postgres.replace("postgresql+asyncpg://", "postgresql://")
        conn = await asyncpg.connect(admin)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()
        try:
            results["PostgreSQL"], loads["PostgreSQL"] = await run(args.postgres.rsplit("/", 1)[0] + "/" + name,
                                                                   args.tickets, args.clients, args.searches)
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
    print(f"\nFull-text search, {args.clients} concurrent clients x {args.searches} searches each, milliseconds\n")
    print("| database | clients | p50 | p99 | max | searches/s | load average (1 min) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for b, m in loads.items():
        for label, p in (("searching without pause", ""), ("a search every ~1 s each", "paced_")):
            print(f"| {b} | {label} | {m[p + 'p50']:.1f} | {m[p + 'p99']:.1f} | {m[p + 'max']:.1f} "
                  f"| {m[p + 'per_second']:.0f} | {m[p + 'load']:.1f} |")
    print("\nCPU per search, one client, the mix of searches above (PostgreSQL backends when local), milliseconds\n")
    print("| database | Python | database backend |")
    print("| --- | ---: | ---: |")
    for b, m in loads.items():
        print(f"| {b} | {m['python_ms']:.1f} | {m['backend_ms']:.1f} |")


if __name__ == "__main__":
    asyncio.run(main())
