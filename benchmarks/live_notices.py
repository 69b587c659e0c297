"""Live staff queue: how long after a commit on instance 1 instance 2 hears of it (PostgreSQL LISTEN/NOTIFY).

    .venv/bin/python benchmarks/live_notices.py --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test

A scratch database is created next to the given one and dropped afterwards. Two applications as
`bootstrap.build()` makes them (two instances, one process), each with its listener started as `helpdesk
serve` starts it. Instance 1 adds notes to a ticket, one at a time; the figure is the delay between the
start of the write and instance 2's subscriber getting the notice (the NOTIFY goes with the commit), as
a ratio to the write's own duration measured in the same run (near 1: the notice arrives as the write
returns).
Second figure: what the in-transaction NOTIFY costs the writer, as the ratio of a note's transaction time
with and without it (interleaved, medians).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402

from helpdesk.app.intake.messages import InboundMessage  # noqa: E402
from helpdesk.app.live.pg import PostgresBus  # noqa: E402
from helpdesk.bootstrap import Edges, build, start_live  # noqa: E402
from helpdesk.config import Settings  # noqa: E402
from helpdesk.db import migrate  # noqa: E402
from helpdesk.domain.live import LiveKind  # noqa: E402
from helpdesk.domain.values import Channel  # noqa: E402


async def run(url: str, rounds: int) -> dict[str, float]:
    settings = Settings(database_url=url, public_url="http://127.0.0.1", smtp_enabled=False, file_checks=False,
                        published_checks=False)
    one, two = build(settings), build(settings)
    stops = [await start_live(Edges(s, settings)) for s in (one, two)]
    for s in (one, two):
        bus = s.live.bus
        assert isinstance(bus, PostgresBus)
        await asyncio.wait_for(bus.connected.wait(), 30)
    res = await one.intake.receive(InboundMessage(
        channel=Channel.EMAIL, external_id="<bench@x>", sender_email="a@mairie.fr", sender_name="A",
        subject="Banc d'essai", visible_text="Bonjour", raw=b"raw"))
    number = res.ticket_number or 0
    ticket_id = await one.live.ticket_id(number)
    delays: list[float] = []
    async with two.live.bus.subscribe() as notices:
        it = aiter(notices)
        writes: list[float] = []
        for i in range(rounds):
            start = time.perf_counter()
            await one.tickets.add_note(number, None, f"note {i}")
            writes.append(time.perf_counter() - start)
            while True:
                notice = await asyncio.wait_for(anext(it), 30)
                if notice.kind is LiveKind.MESSAGE and notice.ticket_id == ticket_id:
                    break
            delays.append(time.perf_counter() - start)
    # The writer's cost: a note's transaction with and without its in-transaction NOTIFY, interleaved.
    costs: dict[bool, list[float]] = {True: [], False: []}
    for i in range(rounds * 2):
        with_notify = i % 2 == 0
        if not with_notify:
            one.db.before_commit.remove(one.live.committing)
        start = time.perf_counter()
        await one.tickets.add_note(number, None, f"coût {i}")
        costs[with_notify].append(time.perf_counter() - start)
        if not with_notify:
            one.db.before_commit.append(one.live.committing)
    pings: list[float] = []
    async with one.db.engine.connect() as conn:
        for _ in range(rounds):
            start = time.perf_counter()
            await conn.execute(text("SELECT 1"))
            pings.append(time.perf_counter() - start)
    for stop in stops:
        await stop()
    for s in (one, two):
        await s.db.dispose()
    delays.sort()
    return {"median_ms": statistics.median(delays) * 1000, "p99_ms": delays[int(len(delays) * 0.99) - 1] * 1000,
            "select1_ms": statistics.median(pings) * 1000, "write_ms": statistics.median(writes) * 1000,
            "write_ratio": statistics.median(costs[True]) / statistics.median(costs[False])}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", required=True, help="base URL; a scratch database is created and dropped")
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    import asyncpg  # type: ignore[import-untyped]

    name = f"helpdesk_bench_{uuid.uuid4().hex[:8]}"
    admin = args.postgres.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    url = args.postgres.rsplit("/", 1)[0] + "/" + name
    try:
        await asyncio.to_thread(migrate.upgrade, url)
        figures = await run(url, args.rounds)
    finally:
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()
    print(f"a note written on instance 1 → its notice on instance 2 ({args.rounds} notes): median "
          f"{figures['median_ms']:.2f} ms, p99 {figures['p99_ms']:.2f} ms from the start of the write; the write "
          f"itself {figures['write_ms']:.2f} ms (ratio {figures['median_ms'] / figures['write_ms']:.2f}); SELECT 1 "
          f"{figures['select1_ms']:.2f} ms; a note's transaction with its NOTIFY takes "
          f"{figures['write_ratio']:.2f}× the time without")


if __name__ == "__main__":
    asyncio.run(main())
