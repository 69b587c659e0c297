"""Outbound mail through the Outbox to a local aiosmtpd sink: headers, acknowledgements, error mapping."""

from __future__ import annotations

import asyncio
import email
import email.policy
import smtplib
from collections.abc import AsyncIterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select

from channels.email.sender import SmtpRelaySender
from channels.email.server import serve_mail
from helpdesk.app.intake.service import GroupCommitter, IntakeService
from helpdesk.app.mail.acknowledge import AcknowledgementHook
from helpdesk.app.outbox import OutboxDispatcher
from helpdesk.app.staff.accounts import UserService
from helpdesk.app.tickets.service import TicketService
from helpdesk.db.engine import Database
from helpdesk.db.tables import Contact, Outbox
from helpdesk.domain.values import StaffRole
from helpdesk.ports import FixedClock, SendError
from tests.support.mail import build_ingest

ADDR = "assistance@craig.fr"


class Sink:
    """A relay that records what it accepts; some recipients are refused on purpose."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], EmailMessage]] = []

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,  # noqa: N802
                          options: list[str]) -> str:
        if address.startswith("absent@"):
            return "550 5.1.1 No such user"
        if address.startswith("full@"):
            return "452 4.2.2 Mailbox full, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        msg = email.message_from_bytes(envelope.original_content or b"", policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        self.received.append((list(envelope.rcpt_tos), msg))
        return "250 OK"


@pytest.fixture
async def sink() -> AsyncIterator[tuple[Sink, int]]:
    handler = Sink()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, hostname="sink", loop=loop), "127.0.0.1", 0)
    try:
        yield handler, server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


def relay(port: int, clock: FixedClock) -> SmtpRelaySender:
    return SmtpRelaySender(host="127.0.0.1", port=port, from_address=ADDR, from_name="Assistance CRAIG",
                           clock=clock, timeout=10)


def payload(to: str, **kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"to": to, "to_name": "Élodie Dupré", "subject": "[#1000] Budget primitif",
                            "text": "Bonjour,\nvoici la réponse : https://example.org/doc",
                            "message_id": "<m1@craig.fr>",
                            "in_reply_to": "<in1@mairie.fr>", "references": ["<in0@mairie.fr>", "<in1@mairie.fr>"],
                            "ticket_number": 1000}
    base.update(kw)
    return base


async def test_sender_writes_threading_headers_text_and_html(sink: tuple[Sink, int], clock: FixedClock) -> None:
    handler, port = sink
    await relay(port, clock).send(payload("elodie@mairie.fr"))
    [(rcpts, msg)] = handler.received
    assert rcpts == ["elodie@mairie.fr"]
    assert msg["From"] == "Assistance CRAIG <assistance@craig.fr>"
    assert msg["To"].addresses[0].display_name == "Élodie Dupré"
    assert msg["Reply-To"] == ADDR
    assert msg["Message-ID"] == "<m1@craig.fr>" and msg["In-Reply-To"] == "<in1@mairie.fr>"
    assert msg["References"] == "<in0@mairie.fr> <in1@mairie.fr>"
    assert msg["Subject"] == "[#1000] Budget primitif" and msg["Auto-Submitted"] is None
    plain, html = msg.get_body(("plain",)), msg.get_body(("html",))
    assert plain is not None and "voici la réponse" in plain.get_content()
    assert html is not None and '<a href="https://example.org/doc">' in html.get_content()


async def test_sender_maps_5xx_to_permanent_and_4xx_or_network_to_retry(sink: tuple[Sink, int],
                                                                        clock: FixedClock) -> None:
    _, port = sink
    with pytest.raises(SendError) as perm:
        await relay(port, clock).send(payload("absent@mairie.fr"))
    assert perm.value.permanent and "550" in str(perm.value)
    with pytest.raises(SendError) as temp:
        await relay(port, clock).send(payload("full@mairie.fr"))
    assert not temp.value.permanent and "452" in str(temp.value)
    with pytest.raises(SendError) as down:
        await relay(1, clock).send(payload("elodie@mairie.fr"))  # nothing listens on port 1
    assert not down.value.permanent


def raw_mail(mid: str, sender: str = "Élodie Dupré <elodie@mairie.fr>", **headers: str) -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"], m["Message-ID"] = sender, ADDR, "Budget primitif à publier", mid
    for k, v in headers.items():
        m[k.replace("_", "-")] = v
    m.set_content("Bonjour,\nComment publier notre budget primitif ?\n")
    return m.as_bytes(policy=email.policy.SMTP)


async def _deliver(port: int, raw: bytes) -> None:
    def run() -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as c:
            c.sendmail("elodie@mairie.fr", [ADDR], raw)

    await asyncio.to_thread(run)


async def test_inbound_mail_is_acknowledged_and_staff_reply_goes_out(
    db: Database, clock: FixedClock, sink: tuple[Sink, int]
) -> None:
    handler, sink_port = sink
    hook = AcknowledgementHook(own_addresses=[ADDR], public_url="https://assistance.craig.fr", mail_domain="craig.fr")
    intake = IntakeService(db, clock, [hook])
    server = await serve_mail(build_ingest(db, clock, GroupCommitter(intake)), host="127.0.0.1", port=0,
                              addresses=[ADDR], max_bytes=1_000_000)
    port = server.sockets[0].getsockname()[1]
    dispatcher = OutboxDispatcher(db, clock, {"email": relay(sink_port, clock)})
    try:
        await _deliver(port, raw_mail("<q1@mairie.fr>"))
        await _deliver(port, raw_mail("<ooo@mairie.fr>", Auto_Submitted="auto-replied", In_Reply_To="<q1@mairie.fr>"))
        assert await dispatcher.run_once() == 1
        [(rcpts, ack)] = handler.received
        assert rcpts == ["elodie@mairie.fr"] and ack["Auto-Submitted"] == "auto-replied"
        assert ack["Subject"].startswith("[#1000] Accusé de réception")
        assert ack["In-Reply-To"] == "<q1@mairie.fr>"
        assert "[#1000]" in ack.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        # The requester answers the acknowledgement: threaded by In-Reply-To on our Message-ID.
        await _deliver(port, raw_mail("<q2@mairie.fr>", In_Reply_To=ack["Message-ID"]))
        tickets = TicketService(db, clock)
        data = await tickets.get_json(1000)
        assert [m["direction"] for m in data["messages"]] == ["inbound", "outbound", "inbound", "inbound"]
        assert data["messages"][1]["automatic"] and data["messages"][2]["automatic"]  # the ack, the out-of-office
        assert data["messages"][3]["thread_reason"] == "threaded by In-Reply-To"
        staff = await UserService(db, clock).add("agent@craig.fr", StaffRole.AGENT, "motdepasse-solide")
        await tickets.reply(1000, staff, "Voici la marche à suivre.")
        assert await dispatcher.run_once() == 1
        reply = handler.received[-1][1]
        assert reply["In-Reply-To"] == "<q2@mairie.fr>" and "<q1@mairie.fr>" in reply["References"]
        assert reply["Auto-Submitted"] is None
        data = await tickets.get_json(1000)
        assert [m["delivery_status"] for m in data["messages"] if m["direction"] == "outbound"] == ["sent", "sent"]
    finally:
        server.close()
        await server.wait_closed()


async def test_permanent_failure_is_shown_and_bounce_marks_contact(
    db: Database, clock: FixedClock, sink: tuple[Sink, int]
) -> None:
    _, sink_port = sink
    intake = IntakeService(db, clock)
    ingest = build_ingest(db, clock, intake)
    await ingest.process(raw_mail("<a1@mairie.fr>", sender="absent@mairie.fr"))
    staff = await UserService(db, clock).add("agent@craig.fr", StaffRole.AGENT, "motdepasse-solide")
    tickets = TicketService(db, clock)
    await tickets.reply(1000, staff, "Réponse")
    dispatcher = OutboxDispatcher(db, clock, {"email": relay(sink_port, clock)})
    await dispatcher.run_once()
    data = await tickets.get_json(1000)
    assert data["messages"][-1]["delivery_status"] == "failed"
    async with db.transaction() as s:
        row = (await s.scalars(select(Outbox))).one()
        assert row.status == "dead" and "550" in (row.last_error or "")
        out_id = row.payload["message_id"]
    dsn = (
        "From: MAILER-DAEMON@relay.craig.fr\r\nTo: assistance@craig.fr\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <dsn1@relay>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; relay\r\n\r\n"
        "Final-Recipient: rfc822; absent@mairie.fr\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 No such user\r\n"
        f"--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {out_id}\r\nSubject: [#1000] x\r\n--b--\r\n"
    ).encode()
    result = await ingest.process(dsn, envelope_sender="")
    assert result.action.value == "appended" and result.ticket_number == 1000
    assert "absent@mairie.fr marked as bouncing" in result.reason
    async with db.transaction() as s:
        contact = (await s.scalars(select(Contact).where(Contact.email == "absent@mairie.fr"))).one()
        assert contact.bouncing and "No such user" in (contact.bounce_reason or "")
    data = await tickets.get_json(1000)
    assert data["status"] == "open" and data["messages"][-1]["automatic"]
