"""The live staff queue on both databases: streams deliver changes and presence; heartbeats; bounds;
shutdown; two application instances on one PostgreSQL hear each other through LISTEN/NOTIFY."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import text

from helpdesk.app.live import hub as hub_module
from helpdesk.app.live.pg import PostgresBus
from helpdesk.bootstrap import Edges, start_live
from helpdesk.config import Settings
from helpdesk.db import store
from helpdesk.db.engine import Database
from helpdesk.domain.events import EventKind
from helpdesk.domain.live import LiveKind, Notice
from helpdesk.domain.values import Priority
from helpdesk.ports import FixedClock
from helpdesk.services import Services
from tests.support.sse import Sse, SseReader
from tests.support.waiting import wait_until
from tests.support.web import add_staff, another_client, login, mail, services_for, web_client


@asynccontextmanager
async def live_loop(services: Services) -> AsyncIterator[None]:
    """What `helpdesk serve` starts: the listener (PostgreSQL) and the presence board."""
    stop = await start_live(Edges(services, Settings(database_url=services.db.url)))
    bus = services.live.bus
    if isinstance(bus, PostgresBus):
        await wait_until(bus.connected.is_set, "the instance listens on PostgreSQL")
    try:
        yield
    finally:
        await stop()


async def next_of_kind(notices: AsyncIterator[Notice], kind: LiveKind, within: float = 20.0) -> Notice:
    async def scan() -> Notice:
        while (notice := await anext(notices)).kind is not kind:
            pass
        return notice

    return await asyncio.wait_for(scan(), within)  # a safety bound, not an ordering device


def presence(text: str) -> Any:
    return lambda e: e.event == "presence" and e.data == {"text": text}


def hello(seconds: int) -> Any:
    return lambda e: e == Sse("hello", {"poll": seconds})


def activity(kind: str) -> Any:
    return lambda e: e.event == "activity" and e.data == {"kind": kind}


async def test_ticket_stream_shows_the_others_presence_and_activity(db: Database, clock: FixedClock) -> None:
    services = services_for(db.url, clock)
    await add_staff(services)
    n = (await services.intake.receive(mail("<l1@x>"))).ticket_number
    async with live_loop(services), web_client(services) as alice, another_client(alice) as bruno:
        token = await login(alice, "admin@craig.fr")
        await login(bruno, "agent@craig.fr")
        await bruno.get(f"/tickets/{n}")
        resp = await bruno.get(f"/tickets/{n}/live")
        stream = SseReader(resp)
        await stream.until(hello(15 if db.is_sqlite else 120), "how often the page still polls")
        await stream.until(presence(""), "nobody else yet (Bruno never sees himself)")
        await alice.get(f"/tickets/{n}")
        await stream.until(presence("Alice Admin consulte ce ticket."), "Alice views")
        typing = await alice.post(f"/tickets/{n}/presence", data={"state": "typing"},
                                  headers={"X-CSRF-Token": token})
        assert typing.status == 204
        await stream.until(presence("Alice Admin est en train de répondre."), "Alice types")
        clock.advance(seconds=9)  # typing expires after 8 s: Alice still has the page open
        await stream.until(presence("Alice Admin consulte ce ticket."), "typing expired")
        note = await alice.post(f"/tickets/{n}/reply", data={"csrf_token": token, "text": "Je m'en occupe",
                                                             "kind": "note", "seen_message_id": "0",
                                                             "confirm": "1"}, allow_redirects=False)
        assert note.status == 303
        await stream.until(activity("message"), "Alice's note")
        await services.tickets.set_priority(n or 0, Priority.HIGH, None)
        await stream.until(activity("ticket"), "the priority change")
        # The polling fallback tells the same: Bruno is on Alice's list, never on his own.
        mine = await (await bruno.get(f"/tickets/{n}/activity?after=0")).json()
        hers = await (await alice.get(f"/tickets/{n}/activity?after=0")).json()
        assert "Bruno" not in mine["viewers"] and mine["viewers"].startswith("Alice Admin")
        assert hers["viewers"] == "Bruno Agent consulte ce ticket."
        left = await alice.post(f"/tickets/{n}/presence", data={"state": "left", "csrf_token": token})
        assert left.status == 204
        await stream.until(presence(""), "Alice left")
        resp.close()


async def test_queue_stream_hears_new_tickets_and_changes(db: Database, clock: FixedClock) -> None:
    services = services_for(db.url, clock)
    admin, _ = await add_staff(services)
    async with live_loop(services), web_client(services) as client:
        await login(client, "agent@craig.fr")
        resp = await client.get("/queue/live")
        stream = SseReader(resp)
        n = (await services.intake.receive(mail("<q1@x>"))).ticket_number or 0
        await stream.until(lambda e: e == Sse("queue", {"kind": "queue"}), "the new ticket")
        poll = await (await client.get("/queue/poll?after=0")).json()
        assert [t["number"] for t in poll["tickets"]] == [n]
        await services.tickets.assign(n, admin, admin)
        await stream.until(lambda e: e == Sse("queue", {"kind": "ticket"}), "the assignment")
        resp.close()


async def test_a_rolled_back_change_publishes_nothing(db: Database, clock: FixedClock) -> None:
    services = services_for(db.url, clock)
    n = (await services.intake.receive(mail("<rb@x>"))).ticket_number or 0
    ticket_id = await services.live.ticket_id(n)
    async with services.live.bus.subscribe() as notices:
        with pytest.raises(RuntimeError):
            async with services.db.transaction() as s:
                await store.record_event(s, kind=EventKind.STATUS_CHANGED, now=clock.now(), ticket_id=ticket_id)
                raise RuntimeError("rolled back")
        async with services.db.transaction() as s:  # a savepoint rolled back, in a transaction that commits
            with pytest.raises(RuntimeError):
                async with s.begin_nested():
                    await store.insert_events(s, [store.event_row(kind=EventKind.ASSIGNED, now=clock.now(),
                                                                  ticket_id=ticket_id)])
                    raise RuntimeError("savepoint rolled back")
            await store.record_event(s, kind=EventKind.NOTE_ADDED, now=clock.now(), ticket_id=ticket_id)
        first = await asyncio.wait_for(anext(aiter(notices)), 20)
    # the committed note's notice; neither the rolled-back transaction's nor the savepoint's
    assert (first.kind, first.ticket_id) == (LiveKind.MESSAGE, ticket_id)
    await services.db.dispose()


async def test_heartbeats_need_the_session_and_its_token(db: Database, clock: FixedClock) -> None:
    services = services_for(db.url, clock)
    await add_staff(services)
    n = (await services.intake.receive(mail("<h1@x>"))).ticket_number
    async with web_client(services) as client, another_client(client) as anonymous:
        refused = await anonymous.get(f"/tickets/{n}/live", allow_redirects=False)
        assert refused.status == 303 and refused.headers["Location"].startswith("/login")
        assert (await anonymous.get("/queue/live", allow_redirects=False)).status == 303
        token = await login(client, "agent@craig.fr")
        assert (await client.post(f"/tickets/{n}/presence", data={"state": "viewing"})).status == 403
        bad = await client.post(f"/tickets/{n}/presence", data={"state": "dancing"}, headers={"X-CSRF-Token": token})
        assert bad.status == 400
        assert (await client.post("/tickets/999999/presence", data={"state": "viewing"},
                                  headers={"X-CSRF-Token": token})).status == 404
        assert (await client.get("/tickets/999999/live")).status == 404
        assert (await client.get("/tickets/99999999999999999999/live")).status in (400, 404)
    await services.db.dispose()


async def test_streams_are_bounded_and_end_when_the_server_stops(db: Database, clock: FixedClock,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub_module, "STREAMS_PER_USER", 2)
    services = services_for(db.url, clock)
    await add_staff(services)
    async with web_client(services) as client:
        await login(client, "agent@craig.fr")
        first, second = await client.get("/queue/live"), await client.get("/queue/live")
        assert (first.status, second.status) == (200, 200)
        third = await client.get("/queue/live")
        assert third.status == 429 and "Trop de flux" in await third.text()
        assert "helpdesk_live_streams 2.0" in await (await client.get("/metrics")).text()
        second.close()
        await wait_until(lambda: services.live.open_streams == 1, "the closed stream is counted out")
        assert "helpdesk_live_streams 1.0" in await (await client.get("/metrics")).text()
        again = await client.get("/queue/live")
        assert again.status == 200
        reader = SseReader(again)
        await client.close()  # the server shuts down: its streams end instead of holding the shutdown
        with pytest.raises(EOFError):
            await reader.until(lambda e: False, "the stream's end")
        assert services.live.open_streams == 0
    await services.db.dispose()


@pytest.mark.parametrize("db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
async def test_two_instances_on_one_postgres_hear_each_other(db: Database, clock: FixedClock) -> None:
    one, two = services_for(db.url, clock), services_for(db.url, clock)
    await add_staff(one)
    n = (await one.intake.receive(mail("<two1@x>"))).ticket_number
    async with live_loop(one), live_loop(two), web_client(one) as alice, web_client(two) as bruno:
        token = await login(alice, "admin@craig.fr")
        await login(bruno, "agent@craig.fr")
        ticket = SseReader(await bruno.get(f"/tickets/{n}/live"))
        queue = SseReader(await bruno.get("/queue/live"))
        await ticket.until(presence(""), "the stream on instance 2")
        await alice.get(f"/tickets/{n}")  # on instance 1
        await ticket.until(presence("Alice Admin consulte ce ticket."), "Alice's view, through NOTIFY")
        await alice.post(f"/tickets/{n}/presence", data={"state": "typing"}, headers={"X-CSRF-Token": token})
        await ticket.until(presence("Alice Admin est en train de répondre."), "Alice typing, through NOTIFY")
        await alice.post(f"/tickets/{n}/reply", data={"csrf_token": token, "text": "Note", "kind": "note",
                                                      "seen_message_id": "0", "confirm": "1"})
        await ticket.until(activity("message"), "Alice's note, through NOTIFY")
        await one.intake.receive(mail("<two2@x>", subject="Une autre question"))
        await queue.until(lambda e: e == Sse("queue", {"kind": "queue"}), "a new ticket on instance 1")
        # A process that does not listen (`helpdesk ingest`, the CLI): its NOTIFY goes with its commit.
        cli = services_for(db.url, clock)
        await cli.intake.receive(mail("<two3@x>", subject="Par un tube"))
        await cli.db.dispose()
        await queue.until(lambda e: e == Sse("queue", {"kind": "queue"}), "a new ticket from another process")
    await one.db.dispose()
    await two.db.dispose()


@pytest.mark.parametrize("db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
async def test_the_listener_reconnects_and_says_resync(db: Database, clock: FixedClock) -> None:
    one, two = services_for(db.url, clock), services_for(db.url, clock)
    n = (await one.intake.receive(mail("<re1@x>"))).ticket_number or 0
    ticket_id = await one.live.ticket_id(n)
    bus = two.live.bus
    assert isinstance(bus, PostgresBus)
    async with live_loop(one), live_loop(two), bus.subscribe() as notices:
        killed = bus.backend_pid
        async with db.engine.connect() as conn:  # the server ends the listening connection (a restart, a proxy)
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": killed})
        it = aiter(notices)
        await next_of_kind(it, LiveKind.RESYNC)
        await wait_until(lambda: bus.connected.is_set() and bus.backend_pid != killed, "listening again")
        await one.tickets.add_note(n, None, "Après la reconnexion")
        assert (await next_of_kind(it, LiveKind.MESSAGE)).ticket_id == ticket_id
    await one.db.dispose()
    await two.db.dispose()


async def test_the_listener_stops_at_once_while_the_server_does_not_answer() -> None:
    """A PostgreSQL that accepts the connection and never answers (a hung server, a black-holed proxy):
    closing the bus ends the listener without waiting for the connection attempt to time out."""
    import asyncpg  # type: ignore[import-untyped]

    accepted = asyncio.Event()
    held: list[asyncio.StreamWriter] = []

    async def silent(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        accepted.set()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    bus = PostgresBus(f"postgresql+asyncpg://postgres@127.0.0.1:{port}/x",
                      connect=lambda dsn: asyncpg.connect(dsn, timeout=3600))
    listener = asyncio.create_task(bus.run())
    try:
        await asyncio.wait_for(accepted.wait(), 20)
        await bus.close()
        await asyncio.wait_for(listener, 20)  # a safety bound: without the fix this waits an hour
        assert not bus.connected.is_set()
    finally:
        listener.cancel()
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()
