"""Proof under faults with real processes: kill -9 mid-burst, relay outage, two instances.

Bounded in count and time; loopback only.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import ColumnElement, func, select
from sqlmodel import col

from helpdesk.app.staff.accounts import UserService
from helpdesk.app.tickets.service import TicketService
from helpdesk.db import migrate
from helpdesk.db.engine import Database
from helpdesk.db.tables import Message, Outbox
from helpdesk.domain.values import StaffRole
from helpdesk.ports import SystemClock
from tests.support.pgserver import free_port
from tests.support.processes import ServeProcess, make_mail, send_one
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow


class Sink:
    """A local relay that records what it is given."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
        msg = message_from_bytes(getattr(envelope, "content"))  # noqa: B009
        self.ids.append(str(msg["Message-ID"]))
        return "250 OK"


async def _count(db: Database, *where: ColumnElement[bool]) -> int:
    async with db.transaction() as s:
        return int(await s.scalar(select(func.count()).select_from(Outbox).where(*where)) or 0)


async def _counted(db: Database, *where: ColumnElement[bool], expect: int) -> bool:
    return await _count(db, *where) == expect


@pytest.fixture
def sink_port() -> int:
    return free_port()


def start_sink(port: int) -> tuple[Controller, Sink]:
    sink = Sink()
    ctrl = Controller(sink, hostname="127.0.0.1", port=port)
    ctrl.start()
    return ctrl, sink


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'helpdesk.sqlite3'}"
    migrate.upgrade(url)
    yield url


async def stored_ids(url: str) -> Counter[str]:
    db = Database(url)
    try:
        async with db.transaction() as s:
            rows = (await s.scalars(select(Message.external_id).where(Message.direction == "inbound"))).all()
        return Counter(str(r) for r in rows)
    finally:
        await db.dispose()


@pytest.mark.timeout(300)
async def test_kill9_mid_burst_loses_nothing_that_got_250(sqlite_url: str, tmp_path: Path) -> None:
    serve = ServeProcess(sqlite_url, tmp_path)
    serve.start()
    accepted: list[str] = []
    killed = asyncio.Event()
    enough = asyncio.Event()

    async def sender(worker: int) -> None:
        for k in range(40):
            if killed.is_set():
                return
            msg = make_mail(worker * 1000 + k)
            if await send_one(serve.smtp_port, msg, limit_seconds=10) == 250:
                accepted.append(str(msg["Message-ID"]))
                if len(accepted) >= 60:
                    enough.set()

    async def killer() -> None:
        await enough.wait()
        serve.kill9()
        killed.set()

    try:
        await asyncio.wait_for(asyncio.gather(*(sender(w) for w in range(10)), killer()), timeout=120)
    finally:
        serve.stop()
    assert len(accepted) >= 60
    serve2 = ServeProcess(sqlite_url, tmp_path)
    serve2.start()
    try:
        # A sender that got no answer retries: the retry is a duplicate when it had been stored.
        for mid in accepted[:5]:
            worker_k = int(mid.split("-")[1].split("@")[0])
            assert await send_one(serve2.smtp_port, make_mail(worker_k)) == 250
    finally:
        serve2.stop()
    stored = await stored_ids(sqlite_url)
    missing = [m for m in accepted if m not in stored]
    assert missing == []
    assert max(stored.values()) == 1


@pytest.mark.timeout(300)
async def test_relay_down_then_back_sends_each_reply_exactly_once(
    sqlite_url: str, tmp_path: Path, sink_port: int
) -> None:
    serve = ServeProcess(
        sqlite_url, tmp_path, HELPDESK_SMTP_RELAY_HOST="127.0.0.1", HELPDESK_SMTP_RELAY_PORT=str(sink_port),
        HELPDESK_OUTBOX_RETRY_BASE_SECONDS="0.5", HELPDESK_OUTBOX_POLL_SECONDS="0.2", HELPDESK_ACKNOWLEDGE="false",
    )
    serve.start()
    try:
        for i in range(5):
            assert await send_one(serve.smtp_port, make_mail(i, "relay")) == 250
        db = Database(sqlite_url)
        clock = SystemClock()
        staff = await UserService(db, clock).add("agent@craig.fr", StaffRole.AGENT, "motdepasse-solide")
        tickets = TicketService(db, clock)
        for t in await tickets.list():
            await tickets.reply(t["number"], staff, "Voici la réponse.")
        # The relay is down: every reply is tried, fails and backs off (none is lost or marked sent).
        await wait_until(lambda: _counted(db, col(Outbox.attempts) >= 1, expect=5), "each reply tried and failed",
                         within=60, every=0.1)
        assert await _count(db, col(Outbox.status) != "sent") == 5
        ctrl, sink = start_sink(sink_port)
        try:
            await wait_until(lambda: _counted(db, col(Outbox.status) != "sent", expect=0),
                             "the five replies sent once the relay is back", within=60, every=0.2)
            assert len(sink.ids) == 5 and len(set(sink.ids)) == 5  # recorded before the relay's 250
        finally:
            ctrl.stop()
        await db.dispose()
    finally:
        serve.stop()


def test_ingest_exits_75_when_the_database_is_down(tmp_path: Path) -> None:
    env = {"HELPDESK_DATABASE_URL": "postgresql+asyncpg://nobody@127.0.0.1:1/none", "PATH": "/usr/bin:/bin"}
    raw = make_mail(1, "ingest").as_bytes()
    out = subprocess.run([sys.executable, "-m", "helpdesk.cli", "ingest", "-"], input=raw, env=env,
                         capture_output=True, timeout=60, check=False)
    assert out.returncode == 75, out.stderr
    assert b"Traceback" not in out.stderr


@pytest.mark.timeout(600)
async def test_two_instances_on_one_postgres_no_loss_no_duplicate(tmp_path: Path, sink_port: int) -> None:
    from tests.support.pgserver import PrivatePostgres

    if not PrivatePostgres.available():
        pytest.skip("no PostgreSQL server binaries on this machine")
    pg = PrivatePostgres()
    pg.start()
    ctrl, sink = start_sink(sink_port)
    env = {"HELPDESK_SMTP_RELAY_HOST": "127.0.0.1", "HELPDESK_SMTP_RELAY_PORT": str(sink_port),
           "HELPDESK_OUTBOX_POLL_SECONDS": "0.2", "HELPDESK_ACKNOWLEDGE": "false"}
    a = ServeProcess(pg.url, tmp_path, **env)
    b = ServeProcess(pg.url, tmp_path, **env)
    try:
        await asyncio.to_thread(migrate.upgrade, pg.url)
        a.start()
        b.start()
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(1000):
            queue.put_nowait(i)
        codes: Counter[int] = Counter()

        async def worker(w: int) -> None:
            while not queue.empty():
                i = queue.get_nowait()
                port = a.smtp_port if i % 2 else b.smtp_port
                codes[await send_one(port, make_mail(i, "pair"))] += 1

        await asyncio.wait_for(asyncio.gather(*(worker(w) for w in range(20))), timeout=300)
        assert codes == Counter({250: 1000})
        # The same mails delivered again to the other instance are duplicates, not new tickets.
        for i in range(10):
            assert await send_one(a.smtp_port if i % 2 == 0 else b.smtp_port, make_mail(i, "pair")) == 250
        stored = await stored_ids(pg.url)
        assert len(stored) == 1000 and max(stored.values()) == 1

        db = Database(pg.url)
        clock = SystemClock()
        staff = await UserService(db, clock).add("agent@craig.fr", StaffRole.AGENT, "motdepasse-solide")
        tickets = TicketService(db, clock)
        numbers = [t["number"] for t in await tickets.list(limit=200)]
        reply_ids = [await tickets.reply(n, staff, "Réponse") for n in numbers]
        assert len(reply_ids) == 200
        await wait_until(lambda: _counted(db, col(Outbox.status) != "sent", expect=0), "the 200 replies sent",
                         within=90, every=0.2)
        sent = Counter(sink.ids)  # the sink records a mail before its 250, so before the row is marked sent
        assert len(sent) == 200 and max(sent.values()) == 1
        async with db.transaction() as s:
            owners = (await s.scalars(select(Outbox.lease_owner).distinct())).all()
        await db.dispose()
        assert len(set(owners)) == 2, "both instances should have taken part in sending"
    finally:
        a.stop()
        b.stop()
        ctrl.stop()
        pg.destroy()
