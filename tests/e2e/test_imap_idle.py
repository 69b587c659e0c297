"""IMAP IDLE against aioimaplib's bundled IMAP test server over loopback, on both databases.

The test server lists IDLE in the CAPABILITY line of its LOGIN answer (unless told otherwise), answers
IDLE with a continuation and pushes ``n EXISTS`` / ``n RECENT`` to the connection idling for the
user when a message is delivered. The poll interval (safety sweep) is set to an hour where only a
push can explain a pickup. Waits are bounded loops over the database or the server's state.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from email.message import EmailMessage
from typing import Any, Literal

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from channels.email.imap import STORED_KEYWORD, ImapConfig, ImapIdler, ImapPoller, start_idle
from helpdesk.app.intake.service import IntakeService
from helpdesk.bootstrap import Edges, build, start_imap
from helpdesk.config import Settings
from helpdesk.db.engine import Database
from helpdesk.db.tables import Ticket
from helpdesk.domain.errors import StorageUnavailable
from helpdesk.ports import FixedClock
from tests.support.mail import build_ingest
from tests.support.waiting import wait_until

srv = pytest.importorskip("aioimaplib.imap_testing_server")  # needs pytz (test extra)

BOX = "assistance@craig.fr"
HOUR = 3600.0
NO_IDLE = "UIDPLUS MOVE ENABLE NAMESPACE"  # the test server's default capabilities minus IDLE


def mail(mid: str, subject: str) -> Any:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"], m["Message-ID"] = "Paul <paul@mairie.fr>", BOX, subject, mid
    m.set_content("Bonjour,\nune question sur le budget.\n")
    return srv.Mail(m)


async def serve(capabilities: str = srv.CAPABILITIES) -> tuple[Any, Any, int]:
    server = srv.MockImapServer(capabilities=capabilities, loop=asyncio.get_running_loop())
    listener = await server.run_server(host="127.0.0.1", port=0)
    return server, listener, listener.sockets[0].getsockname()[1]


@pytest.fixture
async def imap() -> AsyncIterator[tuple[Any, int]]:
    server, listener, port = await serve()
    try:
        yield server, port
    finally:
        listener.close()
        await listener.wait_closed()


@pytest.fixture
def idle_commands(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Tags of the IDLE commands the test server received (all connections)."""
    seen: list[str] = []
    original = srv.ImapProtocol.idle

    def spy(self: Any, tag: str, *args: Any) -> None:
        seen.append(tag)
        original(self, tag, *args)

    monkeypatch.setattr(srv.ImapProtocol, "idle", spy)
    return seen


def setup(db: Database, clock: FixedClock, port: int, **kw: Any) -> tuple[ImapPoller, IntakeService]:
    settings: dict[str, Any] = {"interval": HOUR, "backoff_base": 0.05, "backoff_max": 0.2, **kw}
    config = ImapConfig(host="127.0.0.1", port=port, tls=False, user=BOX, password="secret", timeout=5, **settings)
    intake = IntakeService(db, clock)
    return ImapPoller(build_ingest(db, clock, intake), config), intake


async def tickets(db: Database) -> int:
    async with db.transaction() as s:
        return int(await s.scalar(select(func.count()).select_from(Ticket)) or 0)


def flags(server: Any, mailbox: str = "INBOX") -> list[list[str]]:
    return [m.flags for m in server._server_state.get_mailbox_messages(BOX, mailbox)]


async def eventually(check: Callable[[], Awaitable[bool] | bool], what: str) -> None:
    """Wait on ``check`` (tests/support/waiting.py): fails the test with ``what`` if it never holds."""
    await wait_until(check, what, every=0.05)


def idling(server: Any) -> bool:
    """The connection the test server pushes to (the user's first login) is in IDLE."""
    connection = server.get_connection(BOX)
    return connection is not None and connection.state == srv.IDLE


async def test_mail_delivered_while_idling_is_stored_without_waiting_for_the_poll(
        imap: tuple[Any, int], db: Database, clock: FixedClock, idle_commands: list[str]) -> None:
    server, port = imap
    server.receive(mail("<before@mairie.fr>", "Avant"), imap_user=BOX)
    poller, _ = setup(db, clock, port)
    stop = await start_idle(poller)
    try:
        await eventually(lambda: idling(server), "the client idles")
        assert await tickets(db) == 1 and all(STORED_KEYWORD in f for f in flags(server))  # first sweep
        server.receive(mail("<pushed@mairie.fr>", "Pendant"), imap_user=BOX)
        await eventually(lambda: len(flags(server)) == 2 and all(STORED_KEYWORD in f for f in flags(server)),
                         "the pushed message is flagged")
        assert await tickets(db) == 2
        assert len(server._connections) == 1  # no reconnection, no poll: only the push explains it
        assert len(idle_commands) >= 1
        await eventually(lambda: idling(server), "the client idles again")
    finally:
        await stop()
    assert server.get_connection(BOX).state == srv.LOGOUT  # stopping ends IDLE and logs out


async def test_a_pushed_message_is_flagged_only_after_its_commit(
        imap: tuple[Any, int], db: Database, clock: FixedClock, monkeypatch: pytest.MonkeyPatch) -> None:
    server, port = imap
    poller, intake = setup(db, clock, port)
    events: list[str] = []
    receive, store = intake.receive, srv.ImapProtocol.store

    async def receive_spy(msg: Any) -> Any:
        events.append(f"receive flags={flags(server)}")
        result = await receive(msg)
        events.append(f"committed tickets={await tickets(db)}")
        return result

    def store_spy(self: Any, tag: str, *args: Any) -> None:
        events.append("store")
        store(self, tag, *args)

    monkeypatch.setattr(intake, "receive", receive_spy)
    monkeypatch.setattr(srv.ImapProtocol, "store", store_spy)
    stop = await start_idle(poller)
    try:
        await eventually(lambda: idling(server), "the client idles")
        server.receive(mail("<order@mairie.fr>", "Ordre"), imap_user=BOX)
        await eventually(lambda: "store" in events, "the message is flagged")
    finally:
        await stop()
    assert events == ["receive flags=[[]]", "committed tickets=1", "store"]
    assert flags(server) == [[STORED_KEYWORD, "\\Seen"]]


async def test_storage_failure_while_idling_leaves_the_message_unflagged_until_recovery(
        imap: tuple[Any, int], db: Database, clock: FixedClock, monkeypatch: pytest.MonkeyPatch) -> None:
    server, port = imap
    poller, intake = setup(db, clock, port)
    receive, attempts, down = intake.receive, [0], [True]

    async def flaky(msg: Any) -> Any:
        attempts[0] += 1
        if down[0]:
            raise StorageUnavailable("storage unavailable: OperationalError")
        return await receive(msg)

    monkeypatch.setattr(intake, "receive", flaky)
    idler = ImapIdler(poller)
    stopped = asyncio.Event()
    task = asyncio.create_task(idler.run(stopped))
    try:
        await eventually(lambda: idling(server), "the client idles")
        server.receive(mail("<down@mairie.fr>", "Panne"), imap_user=BOX)
        await eventually(lambda: attempts[0] >= 3, "the message is retried after reconnecting")
        assert flags(server) == [[]] and await tickets(db) == 0  # never marked without a commit
        assert idler.failures >= 1 and not task.done()  # backing off, not crashed
        down[0] = False
        await eventually(lambda: flags(server) == [[STORED_KEYWORD, "\\Seen"]], "stored after recovery")
        assert await tickets(db) == 1 and idler.failures == 0
        assert len(server._connections) >= 3  # each failure dropped the connection and opened a new one
    finally:
        stopped.set()
        await task


async def test_a_dropped_connection_is_reopened_and_idles_again(
        imap: tuple[Any, int], db: Database, clock: FixedClock) -> None:
    server, port = imap
    poller, _ = setup(db, clock, port)
    stop = await start_idle(poller)
    try:
        await eventually(lambda: idling(server), "the client idles")
        first = server.get_connection(BOX)
        # The test server pushes only to a user's first login: forget it so the next login gets the pushes.
        del server._server_state.connections[BOX]
        first.transport.close()  # the server drops the idling connection
        server.receive(mail("<while-down@mairie.fr>", "Coupure"), imap_user=BOX)  # nobody to push to
        await eventually(lambda: server.get_connection(BOX) not in (None, first) and idling(server),
                         "a new connection idles")
        assert await tickets(db) == 1  # taken by the sweep that opens the new connection
        server.receive(mail("<after@mairie.fr>", "Reprise"), imap_user=BOX)
        await eventually(lambda: len(flags(server)) == 2 and all(STORED_KEYWORD in f for f in flags(server)),
                         "the pushed message is flagged on the new connection")
        assert await tickets(db) == 2 and len(server._connections) == 2
    finally:
        await stop()


async def test_the_safety_sweep_takes_a_message_whose_push_was_missed(
        imap: tuple[Any, int], db: Database, clock: FixedClock, idle_commands: list[str]) -> None:
    server, port = imap
    poller, _ = setup(db, clock, port, interval=0.2)
    stop = await start_idle(poller)
    try:
        await eventually(lambda: idling(server), "the client idles")
        server._server_state.add_mail(BOX, mail("<silent@mairie.fr>", "Sans push"), "INBOX")  # no EXISTS sent
        await eventually(lambda: flags(server) == [[STORED_KEYWORD, "\\Seen"]], "the safety sweep stores it")
        assert await tickets(db) == 1 and len(server._connections) == 1
        assert len(idle_commands) >= 2  # it left IDLE to sweep, then idled again
    finally:
        await stop()


async def test_idle_is_reissued_before_the_renewal_interval(
        imap: tuple[Any, int], db: Database, clock: FixedClock, idle_commands: list[str]) -> None:
    server, port = imap
    poller, _ = setup(db, clock, port, idle_renew=0.1)
    stop = await start_idle(poller)
    try:
        await eventually(lambda: len(idle_commands) >= 4, "IDLE re-issued")
        assert len(server._connections) == 1 and len(set(idle_commands)) == len(idle_commands)
        server.receive(mail("<renewed@mairie.fr>", "Renouvelé"), imap_user=BOX)
        await eventually(lambda: flags(server) == [[STORED_KEYWORD, "\\Seen"]], "still answering pushes")
        assert await tickets(db) == 1
    finally:
        await stop()


async def test_idle_ended_by_the_server_is_started_again(
        imap: tuple[Any, int], db: Database, clock: FixedClock, idle_commands: list[str]) -> None:
    server, port = imap
    poller, _ = setup(db, clock, port)
    stop = await start_idle(poller)
    try:
        await eventually(lambda: idling(server), "the client idles")
        server.get_connection(BOX).done(None)  # the server answers "OK IDLE terminated" on its own
        await eventually(lambda: len(idle_commands) >= 2 and idling(server), "IDLE started again")
        server.receive(mail("<restarted@mairie.fr>", "Relancé"), imap_user=BOX)
        await eventually(lambda: flags(server) == [[STORED_KEYWORD, "\\Seen"]], "the push is answered")
        assert await tickets(db) == 1 and len(server._connections) == 1
    finally:
        await stop()


@pytest.mark.parametrize("mode", ["auto", "idle"])
async def test_a_server_without_idle_is_polled(mode: Literal["auto", "idle"], db: Database, clock: FixedClock,
                                               idle_commands: list[str]) -> None:
    server, listener, port = await serve(capabilities=NO_IDLE)
    poller, _ = setup(db, clock, port, mode=mode, interval=0.1)
    idler = ImapIdler(poller)
    stopped = asyncio.Event()
    task = asyncio.create_task(idler.run(stopped))
    try:
        await eventually(lambda: idler.sweeps >= 1, "a first sweep")
        server.receive(mail("<polled@mairie.fr>", "Sondé"), imap_user=BOX)
        await eventually(lambda: flags(server) == [[STORED_KEYWORD, "\\Seen"]], "the poll stores it")
        await eventually(lambda: len(server._connections) >= 3, "one connection per poll")
        assert await tickets(db) == 1
        assert idle_commands == [] and idler.failures == 0  # never tried IDLE, never failed
    finally:
        stopped.set()
        await task
        listener.close()
        await listener.wait_closed()


async def test_unreachable_server_is_retried_without_crashing(db: Database, clock: FixedClock) -> None:
    poller, _ = setup(db, clock, 1)
    idler = ImapIdler(poller)
    stopped = asyncio.Event()
    task = asyncio.create_task(idler.run(stopped))
    try:
        await eventually(lambda: idler.failures >= 3, "three failed connections")
        assert not task.done() and idler.sweeps == 0
    finally:
        stopped.set()
        await task


@pytest.mark.parametrize("mode", ["auto", "poll"])
async def test_the_serve_starter_follows_the_mode(mode: Literal["auto", "poll"], imap: tuple[Any, int], db: Database,
                                                  clock: FixedClock, idle_commands: list[str]) -> None:
    server, port = imap
    settings = Settings(database_url=db.url, imap_host="127.0.0.1", imap_port=port, imap_tls=False,
                        imap_user=BOX, imap_password=SecretStr("x"), imap_mode=mode,
                        imap_interval=HOUR if mode == "auto" else 0.05)
    services = build(settings, clock=clock)
    stop = await start_imap(Edges(services, settings))
    assert stop is not None
    try:
        if mode == "auto":
            await eventually(lambda: idling(server), "the starter idles")
        else:
            await eventually(lambda: len(server._connections) >= 2, "the starter polls")
        server.receive(mail(f"<starter-{mode}@mairie.fr>", "Par IMAP"), imap_user=BOX)
        await eventually(lambda: flags(server) == [[STORED_KEYWORD, "\\Seen"]], "stored through the starter")
        [ticket] = await services.tickets.list()
        assert ticket["subject"] == "Par IMAP"
        assert (idle_commands != []) is (mode == "auto")
    finally:
        await stop()
        await services.db.dispose()
