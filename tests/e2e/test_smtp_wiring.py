"""The email channel as `helpdesk serve` wires it: bootstrap.build + starters, SMTP in, relay out, IMAP pull."""

from __future__ import annotations

import asyncio
import email
import email.policy
import smtplib
import socket
from email.message import EmailMessage

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from helpdesk.bootstrap import Edges, build, start_imap, start_smtp
from helpdesk.config import Settings
from helpdesk.db.engine import Database
from helpdesk.ports import FixedClock
from tests.support.waiting import wait_until

ADDR = "assistance@craig.fr"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Sink:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        msg = email.message_from_bytes(envelope.original_content or b"", policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        return "250 OK"


def raw_mail(mid: str) -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"], m["Message-ID"] = "Paul <paul@mairie.fr>", ADDR, "Budget primitif", mid
    m.set_content("Bonjour, comment publier le budget primitif ?")
    return m.as_bytes(policy=email.policy.SMTP)


async def test_serve_wiring_receives_acknowledges_and_sends_through_the_relay(db: Database, clock: FixedClock) -> None:
    sink = Sink()
    loop = asyncio.get_running_loop()
    relay = await loop.create_server(lambda: SMTP(sink, hostname="relay", loop=loop), "127.0.0.1", 0)
    port = free_port()
    settings = Settings(database_url=db.url, smtp_host="127.0.0.1", smtp_port=port,
                        smtp_relay_host="127.0.0.1", smtp_relay_port=relay.sockets[0].getsockname()[1],
                        public_url="https://assistance.craig.fr")
    services = build(settings, clock=clock)
    stop = await start_smtp(Edges(services, settings))
    assert stop is not None
    try:
        def send() -> None:
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as c:
                c.sendmail("paul@mairie.fr", [ADDR], raw_mail("<wired@mairie.fr>"))

        await asyncio.to_thread(send)
        assert await services.outbox.run_once() == 1
        [ack] = sink.messages
        assert ack["Auto-Submitted"] == "auto-replied" and ack["To"] == "Paul <paul@mairie.fr>"
        assert ack["From"] == "Assistance CRAIG <assistance@craig.fr>"
    finally:
        await stop()
        relay.close()
        await relay.wait_closed()
        await services.db.dispose()


async def test_imap_starter_polls_until_stopped(db: Database, clock: FixedClock) -> None:
    server_mod = pytest.importorskip("aioimaplib.imap_testing_server")
    imap = server_mod.MockImapServer(loop=asyncio.get_running_loop())
    listener = await imap.run_server(host="127.0.0.1", port=0)
    m = EmailMessage()
    m["From"], m["To"], m["Subject"], m["Message-ID"] = "paul@mairie.fr", ADDR, "Par IMAP", "<imap-wired@x>"
    m.set_content("Bonjour")
    imap.receive(server_mod.Mail(m), imap_user=ADDR)
    settings = Settings(database_url=db.url, imap_host="127.0.0.1", imap_port=listener.sockets[0].getsockname()[1],
                        imap_tls=False, imap_user=ADDR, imap_password="x", imap_interval=0.05)
    services = build(settings, clock=clock)
    stop = await start_imap(Edges(services, settings))
    assert stop is not None
    try:
        async def stored() -> bool:
            return bool(await services.tickets.list())

        await wait_until(stored, "the IMAP poller stored the message")
        [ticket] = await services.tickets.list()
        assert ticket["subject"] == "Par IMAP"
    finally:
        await stop()
        listener.close()
        await listener.wait_closed()
        await services.db.dispose()


async def test_no_imap_host_means_no_poller(db: Database, clock: FixedClock) -> None:
    settings = Settings(database_url=db.url)
    services = build(settings, clock=clock)
    try:
        assert await start_imap(Edges(services, settings)) is None
    finally:
        await services.db.dispose()


async def test_readiness_reports_the_quarantine_count(db: Database, clock: FixedClock) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from helpdesk.web.app import make_app
    from tests.support.mail import build_ingest

    services = build(Settings(database_url=db.url, smtp_enabled=False), clock=clock)
    try:
        await build_ingest(services.db, clock, services.intake).process(b"Subject: sans expediteur\r\n\r\nx\r\n")
        async with TestClient(TestServer(make_app(services))) as client:
            ready = await client.get("/readyz")
            assert ready.status == 200 and (await ready.json())["quarantine_held"] == 1
    finally:
        await services.db.dispose()
