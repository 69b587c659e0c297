"""Moving from SQLite to PostgreSQL with `helpdesk db copy`: every row arrives, numbering continues."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from helpdesk.app.intake.messages import InboundAttachment, InboundMessage
from helpdesk.app.intake.service import IntakeService
from helpdesk.app.tickets.service import TicketService
from helpdesk.db import migrate
from helpdesk.db.copy import copy_database
from helpdesk.db.engine import Database
from helpdesk.domain.errors import Conflict
from helpdesk.domain.values import Channel
from helpdesk.ports import FixedClock
from tests.conftest import PG_SKIP, _pg_url


async def test_copy_sqlite_to_postgres(tmp_path: Path, clock: FixedClock) -> None:
    base = _pg_url()
    if not base:
        pytest.skip(PG_SKIP)
    import asyncpg

    src_url = f"sqlite+aiosqlite:///{tmp_path / 'src.sqlite3'}"
    import asyncio

    await asyncio.to_thread(migrate.upgrade, src_url)
    src = Database(src_url)
    intake = IntakeService(src, clock)
    for i in range(3):
        await intake.receive(InboundMessage(
            channel=Channel.EMAIL, external_id=f"<{i}@x>", sender_email=f"p{i}@x.fr", visible_text=f"q{i}",
            raw=b"raw%d" % i, attachments=(InboundAttachment("a.csv", "text/csv", b"a;b"),),
        ))
    await src.dispose()

    name = f"helpdesk_copy_{uuid.uuid4().hex[:8]}"
    admin = base.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    target = base.rsplit("/", 1)[0] + "/" + name
    try:
        counts = await copy_database(src_url, target)
        assert counts["ticket"] == 3 and counts["message"] == 3 and counts["blob"] == 4
        dst = Database(target)
        data = await TicketService(dst, clock).get_json(1001)
        assert data["messages"][0]["text"] == "q1" and data["messages"][0]["attachments"][0]["size"] == 3
        nxt = await IntakeService(dst, clock).receive(
            InboundMessage(channel=Channel.EMAIL, external_id="<new@x>", sender_email="n@x.fr", visible_text="n")
        )
        assert nxt.ticket_number == 1003
        await dst.dispose()
        with pytest.raises(Conflict):
            await copy_database(src_url, target)
    finally:
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()
