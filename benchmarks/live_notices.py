"""Live staff queue: how long after a commit on instance 1 instance 2 hears of it (PostgreSQL LISTEN/NOTIFY).

    .venv/bin/python benchmarks/live_notices.py --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test

A scratch database is created next to the given one and dropped afterwards. Two applications as
`bootstrap.build()` makes them (two instances, one process), each with its listener started as `helpdesk
serve` starts it. Instance 1 adds notes to a ticket, one at a time; the figure is the delay between the
note's commit returning and instance 2's subscriber getting the notice. The reference, measured in the
same run, is one `SELECT 1` round trip on the same server (the delay is about one NOTIFY round trip).
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
        for i in range(rounds):
            await one.tickets.add_note(number, None, f"note {i}")
            committed = time.perf_counter()
            while True:
                notice = await asyncio.wait_for(anext(it), 30)
                if notice.kind is LiveKind.MESSAGE and notice.ticket_id == ticket_id:
                    break
            delays.append(time.perf_counter() - committed)
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
            "select1_ms": statistics.median(pings) * 1000}


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
    print(f"commit on instance 1 → notice on instance 2 ({args.rounds} notes): median {figures['median_ms']:.2f} ms, "
          f"p99 {figures['p99_ms']:.2f} ms; SELECT 1 round trip {figures['select1_ms']:.2f} ms "
          f"(ratio {figures['median_ms'] / figures['select1_ms']:.1f})")


if __name__ == "__main__":
    asyncio.run(main())
