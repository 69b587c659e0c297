"""IMAP pull against aioimaplib's bundled IMAP test server over loopback, on both databases."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from email.message import EmailMessage

import pytest
from sqlalchemy import func, select

from channels.email.imap import STORED_KEYWORD, ImapConfig, ImapPoller
from helpdesk.app.intake.service import IntakeService
from helpdesk.db.engine import Database
from helpdesk.db.tables import Message, Ticket
from helpdesk.domain.errors import TemporaryError
from helpdesk.domain.values import IntakeAction
from helpdesk.ports import FixedClock
from tests.support.mail import build_ingest

imap_testing_server = pytest.importorskip("aioimaplib.imap_testing_server")  # needs pytz (test extra)

BOX = "assistance@craig.fr"


def mail(mid: str, subject: str) -> object:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"], m["Message-ID"] = "Paul <paul@mairie.fr>", BOX, subject, mid
    m.set_content("Bonjour,\nune question sur le budget.\n")
    return imap_testing_server.Mail(m)


@pytest.fixture
async def imap() -> AsyncIterator[tuple[object, int]]:
    server = imap_testing_server.MockImapServer(loop=asyncio.get_running_loop())
    listener = await server.run_server(host="127.0.0.1", port=0)
    try:
        yield server, listener.sockets[0].getsockname()[1]
    finally:
        listener.close()
        await listener.wait_closed()


def poller(db: Database, clock: FixedClock, port: int, **kw: object) -> ImapPoller:
    config = ImapConfig(host="127.0.0.1", port=port, tls=False, user=BOX, password="secret", timeout=5, **kw)  # type: ignore[arg-type]
    return ImapPoller(build_ingest(db, clock, IntakeService(db, clock)), config)


async def count(db: Database, model: object) -> int:
    async with db.transaction() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)  # type: ignore[arg-type]


def flags(server: object, mailbox: str = "INBOX") -> list[list[str]]:
    return [m.flags for m in server._server_state.get_mailbox_messages(BOX, mailbox)]  # type: ignore[attr-defined]


async def test_messages_are_stored_then_flagged_never_deleted(imap: tuple[object, int], db: Database,
                                                              clock: FixedClock) -> None:
    server, port = imap
    server.receive(mail("<i1@mairie.fr>", "Budget"), imap_user=BOX)  # type: ignore[attr-defined]
    server.receive(mail("<i2@mairie.fr>", "Métadonnées"), imap_user=BOX)  # type: ignore[attr-defined]
    results = await poller(db, clock, port).poll_once()
    assert [r.action for r in results] == [IntakeAction.CREATED, IntakeAction.CREATED]
    assert all(STORED_KEYWORD in f for f in flags(server)) and len(flags(server)) == 2
    assert await poller(db, clock, port).poll_once() == []  # nothing new
    assert await count(db, Ticket) == 2


async def test_a_message_seen_again_is_a_duplicate(imap: tuple[object, int], db: Database, clock: FixedClock) -> None:
    server, port = imap
    server.receive(mail("<again@mairie.fr>", "Budget"), imap_user=BOX)  # type: ignore[attr-defined]
    await poller(db, clock, port).poll_once()
    for f in flags(server):  # as if the instance died between the commit and the flag
        f.clear()
    [again] = await poller(db, clock, port).poll_once()
    assert again.action is IntakeAction.DUPLICATE
    assert await count(db, Ticket) == 1 and await count(db, Message) == 1


async def test_processed_folder_mode_moves_after_commit(imap: tuple[object, int], db: Database,
                                                        clock: FixedClock) -> None:
    server, port = imap
    server.receive(mail("<mv@mairie.fr>", "Budget"), imap_user=BOX)  # type: ignore[attr-defined]
    await poller(db, clock, port, processed_folder="Trash").poll_once()
    assert flags(server, "INBOX") == [] and len(flags(server, "Trash")) == 1
    assert await count(db, Ticket) == 1


async def test_storage_failure_leaves_the_message_unmarked(imap: tuple[object, int], clock: FixedClock) -> None:
    server, port = imap
    server.receive(mail("<down@mairie.fr>", "Budget"), imap_user=BOX)  # type: ignore[attr-defined]
    dead = Database("postgresql+asyncpg://postgres@127.0.0.1:1/nowhere")
    try:
        with pytest.raises(TemporaryError):
            await poller(dead, clock, port).poll_once()
    finally:
        await dead.dispose()
    assert flags(server) == [[]]


async def test_unreachable_server_is_a_temporary_error(db: Database, clock: FixedClock) -> None:
    with pytest.raises(TemporaryError):
        await poller(db, clock, 1).poll_once()
