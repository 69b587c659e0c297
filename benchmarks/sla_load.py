"""SLA load: the business clock's arithmetic, one escalation pass and one report over many tickets.

    .venv/bin/python benchmarks/sla_load.py [--tickets 1000]      # SQLite in a temporary file

Tickets go through the real intake (routing and SLA hook) and staff replies, so each carries a real
event log; then the escalation job (recompute + thresholds) and the report are timed.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpdesk.app.intake.messages import InboundMessage, OrganizationHint  # noqa: E402
from helpdesk.app.intake.routing import RoutingHook  # noqa: E402
from helpdesk.app.intake.service import IntakeService  # noqa: E402
from helpdesk.app.reports.service import ReportService  # noqa: E402
from helpdesk.app.sla.escalation import EscalationJob  # noqa: E402
from helpdesk.app.sla.service import refresh  # noqa: E402
from helpdesk.app.staff.accounts import UserService  # noqa: E402
from helpdesk.app.tickets.service import TicketService  # noqa: E402
from helpdesk.db import migrate  # noqa: E402
from helpdesk.db.engine import Database  # noqa: E402
from helpdesk.domain.sla import Calendar, add_business_time, business_time_between  # noqa: E402
from helpdesk.domain.values import Channel, OrgKind, StaffRole, TicketStatus  # noqa: E402
from helpdesk.ports import FixedClock  # noqa: E402

START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def clock_arithmetic(n: int = 20000) -> tuple[float, float]:
    cal, rnd = Calendar(), random.Random(3)
    starts = [START + timedelta(minutes=rnd.randrange(0, 60 * 24 * 300)) for _ in range(n)]
    spans = [timedelta(minutes=rnd.randrange(0, 60 * 40)) for _ in range(n)]
    t0 = time.perf_counter()
    ends = [add_business_time(s, d, cal) for s, d in zip(starts, spans, strict=True)]
    t1 = time.perf_counter()
    for s, e in zip(starts, ends, strict=True):
        business_time_between(s, e, cal)
    t2 = time.perf_counter()
    return (t1 - t0) / n * 1e6, (t2 - t1) / n * 1e6


async def run(n: int) -> None:
    add_us, between_us = clock_arithmetic()
    print(f"add_business_time: {add_us:.1f} µs/call; business_time_between: {between_us:.1f} µs/call")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        await asyncio.to_thread(migrate.upgrade, url)
        db, clock = Database(url), FixedClock(START)
        staff = await UserService(db, clock).add("agent@craig.fr", StaffRole.AGENT, "motdepasse-solide")
        intake, tickets = IntakeService(db, clock, [RoutingHook()]), TicketService(db, clock)
        tickets.after_change.append(refresh)
        rnd = random.Random(7)
        t0 = time.perf_counter()
        for i in range(n):
            clock.set(START + timedelta(minutes=37 * i))
            org = OrganizationHint(f"Commune {i % 40}", OrgKind.COMMUNE, pays=f"Pays {i % 7}")
            res = await intake.receive(InboundMessage(channel=Channel.EMAIL, external_id=f"<{i}@b>",
                                                      sender_email=f"p{i % 300}@x.fr", subject="q", visible_text="?",
                                                      organization=org))
            number = res.ticket_number or 0
            if rnd.random() < 0.6:
                clock.set(clock.now() + timedelta(hours=rnd.randrange(1, 30)))
                await tickets.reply(number, staff, "réponse")
                if rnd.random() < 0.5:
                    await tickets.set_status(number, TicketStatus.RESOLVED, staff)
        seeded = time.perf_counter() - t0
        print(f"seeded {n} tickets through intake and staff actions in {seeded:.1f} s "
              f"({seeded / n * 1000:.1f} ms per ticket with its actions)")
        clock.set(START + timedelta(minutes=37 * n, days=2))
        job = EscalationJob(db, clock)
        t0 = time.perf_counter()
        report = await job.run_once()
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        await job.run_once()
        second = time.perf_counter() - t0
        print(f"escalation pass: {first:.2f} s the first time ({report}), {second:.2f} s the next (nothing new)")
        t0 = time.perf_counter()
        rep = await ReportService(db, clock).report(weeks=104)
        print(f"report over {len(rep.rows)} tickets: {time.perf_counter() - t0:.2f} s")
        await db.dispose()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--tickets", type=int, default=1000)
    asyncio.run(run(p.parse_args().tickets))


if __name__ == "__main__":
    main()
