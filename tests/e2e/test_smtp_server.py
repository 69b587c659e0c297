"""Real SMTP and LMTP exchanges over loopback against the aiosmtpd edge, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import email.policy
import smtplib
from collections.abc import AsyncIterator
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import pytest
from sqlalchemy import func, select

from channels.email.ingest import MailIngest
from channels.email.server import STATUS_STORED, serve_mail
from helpdesk.app.intake.service import GroupCommitter, IntakeService
from helpdesk.app.tickets.service import TicketService
from helpdesk.db.engine import Database
from helpdesk.db.tables import Blob, Message, Quarantine, Ticket
from helpdesk.ports import FixedClock
from tests.support.mail import build_ingest

ADDR = "assistance@craig.fr"


def make_mail(mid: str, *, subject: str = "Publier notre budget", body: str = "Bonjour,\nComment publier ?",
              sender: str = "Sylvie Martin <sylvie@mairie-exemple.fr>", **headers: str) -> bytes:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = ADDR
    m["Subject"] = subject
    m["Message-ID"] = mid
    for k, v in headers.items():
        m[k.replace("_", "-")] = v
    m.set_content(body)
    return m.as_bytes(policy=email.policy.SMTP)  # CRLF, as on the wire


class Edge:
    def __init__(self, server: asyncio.Server, ingest: MailIngest) -> None:
        self.server = server
        self.ingest = ingest
        self.port = server.sockets[0].getsockname()[1]


async def start(db: Database, clock: FixedClock, *, protocol: str = "smtp", max_bytes: int = 200_000) -> Edge:
    ingest = build_ingest(db, clock, GroupCommitter(IntakeService(db, clock), window=0.005))
    server = await serve_mail(ingest, host="127.0.0.1", port=0, addresses=[ADDR, "contact@craig.fr"],
                              max_bytes=max_bytes, protocol=protocol, hostname="craig.fr")
    return Edge(server, ingest)


@pytest.fixture
async def edge(db: Database, clock: FixedClock) -> AsyncIterator[Edge]:
    e = await start(db, clock)
    try:
        yield e
    finally:
        e.server.close()
        await e.server.wait_closed()


async def count(db: Database, model: Any) -> int:
    async with db.transaction() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_message_is_stored_before_250_and_threads_by_in_reply_to(edge: Edge, db: Database,
                                                                       clock: FixedClock) -> None:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=edge.port)
    await client.connect()
    errors, response = await client.sendmail("sylvie@mairie-exemple.fr", [ADDR], make_mail("<first@x>"))
    assert errors == {} and response.startswith("2.0.0 Ok")
    # The 250 came after the commit: a fresh reader sees the ticket, the message and the raw original.
    assert await count(db, Ticket) == 1 and await count(db, Message) == 1 and await count(db, Blob) >= 1
    _, second = await client.sendmail(
        "sylvie@mairie-exemple.fr", [ADDR], make_mail("<second@x>", subject="Re: autre", In_Reply_To="<first@x>")
    )
    await client.quit()
    data = await TicketService(db, clock).get_json(1000)
    assert [m["thread_reason"] for m in data["messages"]] == [
        "new: no reference to a known ticket", "threaded by In-Reply-To"]
    assert await count(db, Ticket) == 1


def dialogue(port: int, steps: Any, *, lmtp: bool = False) -> Any:
    """Run a blocking smtplib conversation (in a thread: the server shares our event loop)."""
    cls = smtplib.LMTP if lmtp else smtplib.SMTP
    with cls("127.0.0.1", port, timeout=30) as client:
        return steps(client)


async def talk(port: int, steps: Any, *, lmtp: bool = False) -> Any:
    return await asyncio.to_thread(dialogue, port, steps, lmtp=lmtp)


async def test_foreign_recipient_gets_550_never_relayed(edge: Edge, db: Database) -> None:
    def steps(client: smtplib.SMTP) -> list[Any]:
        out = [client.ehlo("client.example")[0]]
        client.mail("spammer@example.com")
        out.append(client.rcpt("victim@gmail.com"))
        out.append(client.rcpt("Assistance+1042@Craig.fr")[0])  # a tag on our own address is ours
        out.append(client.data(make_mail("<relay@x>"))[0])
        return out

    ehlo, (code, text), tagged, data = await talk(edge.port, steps)
    assert ehlo == 250 and code == 550 and b"5.1.1" in text
    assert tagged == 250 and data == 250
    assert await count(db, Ticket) == 1


async def test_only_foreign_recipients_means_no_data(edge: Edge) -> None:
    def steps(client: smtplib.SMTP) -> Any:
        try:
            client.sendmail("a@example.com", ["nobody@example.org"], make_mail("<x@x>"))
        except smtplib.SMTPRecipientsRefused as err:
            return err.recipients
        return None

    refused = await talk(edge.port, steps)
    assert refused["nobody@example.org"][0] == 550


async def test_oversized_message_gets_552(db: Database, clock: FixedClock) -> None:
    e = await start(db, clock, max_bytes=5_000)
    try:
        big = make_mail("<big@x>", body="x" * 70 + ("\n" + "y" * 70) * 200)

        def steps(client: smtplib.SMTP) -> tuple[int, int]:
            client.ehlo("client.example")
            client.mail("sylvie@mairie-exemple.fr")
            client.rcpt(ADDR)
            data = client.data(big)[0]
            client.rset()  # SIZE announced in MAIL FROM is refused up front as well
            return data, client.mail("sylvie@mairie-exemple.fr", ["SIZE=999999"])[0]

        assert await talk(e.port, steps) == (552, 552)
        assert await count(db, Ticket) == 0
    finally:
        e.server.close()
        await e.server.wait_closed()


async def test_lines_longer_than_1000_bytes_are_accepted(edge: Edge, db: Database, clock: FixedClock) -> None:
    html_line = "<p>" + "Bonjour, voici une très longue ligne de HTML. " * 200 + "</p>"
    raw = (
        f"From: webmail@mairie-exemple.fr\r\nTo: {ADDR}\r\nSubject: HTML sur une ligne\r\n"
        "Message-ID: <long@x>\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n" + html_line + "\r\n"
    ).encode()
    assert max(len(line) for line in raw.split(b"\r\n")) > 8000
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=edge.port)
    await client.connect()
    errors, _ = await client.sendmail("webmail@mairie-exemple.fr", [ADDR], raw)
    await client.quit()
    assert errors == {}
    text = (await TicketService(db, clock).get_json(1000))["messages"][0]["text"]
    assert text.startswith("Bonjour, voici une très longue ligne de HTML.")


async def test_storage_failure_answers_451_and_a_retry_is_stored_once(db: Database, clock: FixedClock) -> None:
    dead = Database("postgresql+asyncpg://postgres@127.0.0.1:1/nowhere")  # nothing listens on port 1
    e = await start(dead, clock)
    raw = make_mail("<retry@x>")


    def steps(client: smtplib.SMTP) -> tuple[int, bytes]:
        client.ehlo("mta.example")
        client.mail("sylvie@mairie-exemple.fr")
        client.rcpt(ADDR)
        return client.data(raw)

    try:
        code, text = await talk(e.port, steps)
        assert code == 451 and b"4.3.0" in text
    finally:
        e.server.close()
        await e.server.wait_closed()
        await dead.dispose()
    healthy = await start(db, clock)
    try:
        for _ in range(2):  # the MTA retries; a second copy (lost 250) is a duplicate, not a second ticket
            await talk(healthy.port, lambda c: c.sendmail("sylvie@mairie-exemple.fr", [ADDR], raw))
    finally:
        healthy.server.close()
        await healthy.server.wait_closed()
    assert await count(db, Ticket) == 1 and await count(db, Message) == 1


async def test_lmtp_answers_once_per_recipient(db: Database, clock: FixedClock) -> None:
    e = await start(db, clock, protocol="lmtp")

    def steps(client: smtplib.LMTP) -> tuple[Any, int]:
        # smtplib reads one reply after DATA, so one recipient here (several: the raw dialogue below).
        refused = client.sendmail("sylvie@mairie-exemple.fr", [ADDR], make_mail("<lmtp@x>"))
        client.mail("sylvie@mairie-exemple.fr")
        return refused, client.rcpt("stranger@elsewhere.org")[0]

    try:
        assert await talk(e.port, steps, lmtp=True) == ({}, 550)
    finally:
        e.server.close()
        await e.server.wait_closed()
    assert await count(db, Ticket) == 1


async def test_raw_lmtp_dialogue_gives_one_status_per_recipient(db: Database, clock: FixedClock) -> None:
    e = await start(db, clock, protocol="lmtp")
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", e.port)
        await reader.readline()
        writer.write(b"LHLO mta.example\r\n")
        while not (await reader.readline()).startswith(b"250 "):
            pass
        for line in (b"MAIL FROM:<s@mairie-exemple.fr>", f"RCPT TO:<{ADDR}>".encode(), b"RCPT TO:<contact@craig.fr>"):
            writer.write(line + b"\r\n")
            assert (await reader.readline()).startswith(b"250")
        writer.write(b"DATA\r\n")
        assert (await reader.readline()).startswith(b"354")
        writer.write(make_mail("<lmtp-raw@x>") + b".\r\n")
        statuses = [await reader.readline(), await reader.readline()]
        assert all(s.decode().strip() == STATUS_STORED for s in statuses)
        writer.write(b"QUIT\r\n")
        await writer.drain()
        writer.close()
    finally:
        e.server.close()
        await e.server.wait_closed()


async def test_unparseable_input_is_quarantined_and_acknowledged_250(edge: Edge, db: Database) -> None:
    def steps(client: smtplib.SMTP) -> int:
        client.ehlo("x")
        client.mail("")
        client.rcpt(ADDR)
        return client.data(b"Subject: pas d'expediteur\r\n\r\ncorps sans From\r\n")[0]

    assert await talk(edge.port, steps) == 250  # stored (in the quarantine): the sender must not retry forever
    assert await count(db, Quarantine) == 1 and await count(db, Ticket) == 0


async def test_a_large_attachment_is_parsed_off_the_event_loop_and_stored(db: Database, clock: FixedClock) -> None:
    e = await start(db, clock, max_bytes=5_000_000)
    m = EmailMessage()
    m["From"], m["To"], m["Subject"], m["Message-ID"] = "sylvie@mairie-exemple.fr", ADDR, "Plan cadastral", "<big@x>"
    m.set_content("Voici le plan.")
    payload = bytes(range(256)) * 4096  # 1 MiB, base64 on the wire
    m.add_attachment(payload, maintype="application", subtype="pdf", filename="plan.pdf")
    try:
        raw = m.as_bytes(policy=email.policy.SMTP)
        await talk(e.port, lambda c: c.sendmail("sylvie@mairie-exemple.fr", [ADDR], raw))
    finally:
        e.server.close()
        await e.server.wait_closed()
    data = await TicketService(db, clock).get_json(1000)
    [att] = data["messages"][0]["attachments"]
    assert att == {"id": att["id"], "filename": "plan.pdf", "content_type": "application/pdf", "size": len(payload)}
