"""Hostile and broken input over real SMTP on loopback, on SQLite and PostgreSQL (issue 15).

Every case ends in a definite place: stored, quarantined with its reason, or refused with a 5xx;
never a stall of the other sessions, never a 451 for ever.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiosmtplib
import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from channels.email.ingest import MailIngest, reprocessor
from channels.email.server import serve_mail
from channels.email.worker import Budget, ParserPool
from helpdesk.app.intake.messages import InboundMessage, IntakeResult
from helpdesk.app.intake.service import GroupCommitter, IntakeContext, IntakeService
from helpdesk.app.mail.bounces import AutomaticMailService
from helpdesk.app.quarantine.service import HELD, QuarantineService
from helpdesk.db.engine import Database
from helpdesk.db.tables import Attachment, Contact, Message, Quarantine, Ticket
from helpdesk.domain.errors import StorageUnavailable
from helpdesk.domain.values import IntakeAction
from helpdesk.ports import FixedClock

ADDR = "assistance@craig.fr"
SENDER = "sylvie@mairie-exemple.fr"


def raw_mail(mid: str, *, subject: bytes = b"Budget", body: bytes = b"Bonjour,\r\nUne question.\r\n",
             sender: bytes = b"Sylvie Martin <sylvie@mairie-exemple.fr>", extra: bytes = b"") -> bytes:
    return (b"From: " + sender + b"\r\nTo: " + ADDR.encode() + b"\r\nSubject: " + subject
            + b"\r\nMessage-ID: " + mid.encode() + b"\r\n" + extra + b"\r\n" + body)


class Edge:
    def __init__(self, server: asyncio.Server, ingest: MailIngest) -> None:
        self.server = server
        self.ingest = ingest
        self.port = server.sockets[0].getsockname()[1]

    async def send(self, raw: bytes) -> tuple[int, str]:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=self.port, timeout=120)
        await client.connect()
        try:
            await client.ehlo()
            await client.mail(SENDER)
            await client.rcpt(ADDR)
            try:
                resp = await client.data(raw)
            except aiosmtplib.SMTPResponseException as exc:
                return exc.code, exc.message
            return resp.code, resp.message
        finally:
            await client.quit()


async def start(db: Database, clock: FixedClock, *, receiver: Any = None, parse: Any = None,
                max_bytes: int = 4_000_000) -> Edge:
    intake = receiver or GroupCommitter(IntakeService(db, clock), window=0.002)
    ingest = MailIngest(intake, AutomaticMailService(db, clock, intake), QuarantineService(db, clock), parse=parse)
    server = await serve_mail(ingest, host="127.0.0.1", port=0, addresses=[ADDR], max_bytes=max_bytes,
                              hostname="craig.fr")
    return Edge(server, ingest)


@pytest.fixture
async def edge(db: Database, clock: FixedClock) -> AsyncIterator[Edge]:
    e = await start(db, clock)
    try:
        yield e
    finally:
        e.server.close()
        await e.server.wait_closed()


async def dialogue(port: int, lines: list[bytes]) -> list[bytes]:
    """Send each command line and read its (possibly multi-line) reply; the greeting first."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    replies = [await reply(reader)]
    for line in lines:
        for i in range(0, len(line), 1 << 20):  # a huge line goes out in pieces, as a client would send it
            writer.write(line[i:i + (1 << 20)])
            await writer.drain()
        replies.append(await reply(reader))
    writer.close()
    await writer.wait_closed()
    return replies


async def reply(reader: asyncio.StreamReader) -> bytes:
    out = b""
    while True:
        line = await reader.readline()
        out += line
        if len(line) < 4 or line[3:4] != b"-":
            return out


async def quarantined(db: Database) -> list[Quarantine]:
    async with db.transaction() as s:
        return list((await s.scalars(select(Quarantine).order_by(Quarantine.id))).all())


async def tickets(db: Database) -> list[Ticket]:
    async with db.transaction() as s:
        return list((await s.scalars(select(Ticket).order_by(Ticket.id))).all())


# --- Stalls: command lines -------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [50_000, 24 * 1024 * 1024])
async def test_a_huge_ehlo_gets_500_and_the_session_goes_on(edge: Edge, size: int) -> None:
    greeting, huge, after = await dialogue(edge.port, [b"EHLO " + b"a" * size + b"\r\n", b"NOOP\r\n"])
    assert greeting.startswith(b"220")
    assert huge.startswith(b"500") and b"too long" in huge
    assert after.startswith(b"250")


async def test_a_30kb_rcpt_gets_500_while_another_sender_is_served(edge: Edge, db: Database) -> None:
    hostile = asyncio.create_task(dialogue(edge.port, [
        b"EHLO mta.example\r\n", b"MAIL FROM:<x@evil.example>\r\n",
        b"RCPT TO:<" + b"b" * 30_000 + b"@craig.fr>\r\n", b"RCPT TO:<" + ADDR.encode() + b">\r\n",
    ]))
    code, _ = await edge.send(raw_mail("<calm@x>"))
    _, _, _, long_rcpt, good_rcpt = await hostile
    assert code == 250 and long_rcpt.startswith(b"500") and good_rcpt.startswith(b"250")
    assert len(await tickets(db)) == 1


async def test_long_lines_are_still_accepted_inside_data(edge: Edge, db: Database) -> None:
    body = b"<p>" + b"x" * 200_000 + b"</p>\r\n"
    code, _ = await edge.send(raw_mail("<long@x>", body=body, extra=b"Content-Type: text/html\r\n"))
    assert code == 250 and len(await tickets(db)) == 1


# --- Stalls: bounded work per message --------------------------------------------------------------------------


def nested_forwards(levels: int) -> bytes:
    inner = b"From: x@y.fr\r\nSubject: fond\r\n\r\nbonjour\r\n"
    for i in range(levels):
        inner = b"From: x@y.fr\r\nSubject: niveau %d\r\nContent-Type: message/rfc822\r\n\r\n" % i + inner
    return raw_mail("<nested@x>", body=inner.split(b"\r\n\r\n", 1)[1],
                    extra=b"Content-Type: message/rfc822\r\n")


def many_parts(n: int) -> bytes:
    body = b"".join(b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n" for _ in range(n)) + b"--b--\r\n"
    return raw_mail("<parts@x>", body=body, extra=b"Content-Type: multipart/mixed; boundary=b\r\n")


async def test_nested_forwards_and_thousands_of_parts_go_to_the_quarantine(edge: Edge, db: Database) -> None:
    assert (await edge.send(nested_forwards(250)))[0] == 250
    assert (await edge.send(many_parts(10_000)))[0] == 250
    reasons = [q.reason for q in await quarantined(db)]
    assert len(reasons) == 2 and "niveaux d'imbrication" in reasons[0] and "parties MIME" in reasons[1]
    assert await tickets(db) == []


async def test_a_message_over_the_time_budget_goes_to_the_quarantine(db: Database, clock: FixedClock) -> None:
    pool = ParserPool(1, Budget(seconds=1.0))

    async def parse(raw: bytes, sender: str | None) -> Any:
        return await pool.parse(raw, envelope_sender=sender)

    e = await start(db, clock, parse=parse)
    try:
        deep = b"<div>" * 300_000 + b"x" + b"</div>" * 300_000  # minutes of html2text
        code, _ = await e.send(raw_mail("<divs@x>", body=deep, extra=b"Content-Type: text/html\r\n"))
        assert code == 250
        # The killed worker is replaced: the next message is parsed and stored as usual.
        assert (await e.send(raw_mail("<after@x>")))[0] == 250
    finally:
        e.server.close()
        await e.server.wait_closed()
        pool.close()
    [held] = await quarantined(db)
    assert held.status == HELD and "plus de 1 s de calcul" in held.reason
    assert [t.subject for t in await tickets(db)] == ["Budget"]


async def test_a_worker_over_its_memory_budget_is_refused_and_replaced() -> None:
    pool = ParserPool(1, Budget(seconds=60, memory_bytes=160 * 2**20))
    try:
        huge = raw_mail("<big@x>", body=b"A" * (120 * 2**20))
        from channels.email.worker import OverBudget

        with pytest.raises(OverBudget, match="mémoire|arrêté"):
            await pool.parse(huge)
        assert (await pool.parse(raw_mail("<small@x>"))).subject == "Budget"
    finally:
        pool.close()


# --- Poison messages ------------------------------------------------------------------------------------------


POISON = [
    ("utf7-surrogate", raw_mail("<p1@x>", subject=b"=?utf-7?q?Budget_+2D4-?=")),
    ("nul-subject", raw_mail("<p2@x>", subject=b"=?utf-8?q?Budget=00annexe?=")),
    ("nul-name", raw_mail("<p3@x>", sender=b"=?utf-8?q?Sylvie=00Martin?= <sylvie@mairie-exemple.fr>")),
    ("surrogate-name", raw_mail("<p4@x>", sender=b"=?utf-7?q?Sylvie_+2D4-?= <sylvie@mairie-exemple.fr>")),
    ("nul-body", raw_mail("<p5@x>", body=b"Bonjour\x00,\r\nle budget.\r\n")),
    ("nul-filename", raw_mail("<p6@x>", extra=b"Content-Type: multipart/mixed; boundary=z\r\n",
                              body=b"--z\r\nContent-Type: text/plain\r\n\r\nVoici.\r\n--z\r\n"
                                   b"Content-Type: text/csv\r\nContent-Disposition: attachment; "
                                   b"filename*=utf-8''budget%00%ED%A0%BD.csv\r\n\r\na;b\r\n--z--\r\n")),
]


@pytest.mark.parametrize(("case", "raw"), POISON, ids=[c for c, _ in POISON])
async def test_text_a_database_cannot_store_is_made_storable(edge: Edge, db: Database, case: str, raw: bytes) -> None:
    code, _ = await edge.send(raw)
    assert code == 250
    assert await quarantined(db) == []
    async with db.transaction() as s:
        [message] = (await s.scalars(select(Message))).all()
        contact = (await s.scalars(select(Contact))).one()
        names = [a.filename for a in (await s.scalars(select(Attachment))).all()]
    stored = " ".join([message.subject or "", message.full_text, contact.name or "", *names])
    assert "\x00" not in stored and not any("\ud800" <= ch <= "\udfff" for ch in stored)
    assert "\ufffd" in stored  # replaced visibly, not dropped
    assert message.raw_sha256 is not None  # the raw bytes are kept as they came


async def test_a_quarantined_poison_message_is_reprocessed_once_the_cause_is_fixed(db: Database,
                                                                                  clock: FixedClock) -> None:
    raw = POISON[0][1]
    held = QuarantineService(db, clock)
    qid = await held.hold(channel="email", raw=raw, reason="ancienne erreur", sender=SENDER,
                          subject="Budget \ud83d")  # the quarantine row itself takes the surrogate now
    service = QuarantineService(db, clock)
    intake = IntakeService(db, clock)
    service.add_reprocessor("email", reprocessor(MailIngest(intake, AutomaticMailService(db, clock, intake), service)))
    result = await service.reprocess(qid)
    assert result.action is IntakeAction.CREATED
    [q] = await quarantined(db)
    assert q.status == "reprocessed" and q.subject == "Budget \ufffd"


class BrokenHook:
    """A hook whose bug is an integrity error that will never pass."""

    def __init__(self) -> None:
        self.calls = 0

    async def after_intake(self, ctx: IntakeContext) -> None:
        self.calls += 1
        raise IntegrityError("INSERT INTO thing", {}, Exception("CHECK constraint failed: thing_positive"))


async def test_a_lasting_integrity_error_is_not_retried_and_goes_to_the_quarantine(db: Database,
                                                                                  clock: FixedClock) -> None:
    hook = BrokenHook()
    e = await start(db, clock, receiver=GroupCommitter(IntakeService(db, clock, [hook]), window=0.002))
    try:
        code, _ = await e.send(raw_mail("<ie@x>"))
    finally:
        e.server.close()
        await e.server.wait_closed()
    assert code == 250
    assert hook.calls <= 2  # the batch, then its savepoint pass; no retry loop
    [held] = await quarantined(db)
    assert "IntegrityError" in held.reason and held.sender == SENDER


class AlwaysUnavailable:
    def __init__(self) -> None:
        self.calls = 0

    async def receive(self, msg: InboundMessage) -> IntakeResult:
        self.calls += 1
        raise StorageUnavailable("intake cannot commit this one")


async def test_temporary_failures_are_bounded_then_the_quarantine_takes_the_message(db: Database,
                                                                                   clock: FixedClock) -> None:
    receiver = AlwaysUnavailable()
    e = await start(db, clock, receiver=receiver)
    raw = raw_mail("<stuck@x>")
    try:
        codes = [(await e.send(raw))[0] for _ in range(3)]  # the sending MTA retries the same bytes
    finally:
        e.server.close()
        await e.server.wait_closed()
    assert codes == [451, 451, 250] and receiver.calls == 3
    [held] = await quarantined(db)
    assert "échecs temporaires répétés (3)" in held.reason


async def test_a_storage_outage_keeps_answering_451(clock: FixedClock) -> None:
    """When even the quarantine cannot be written the storage is down: 451 is right, for every try."""
    dead = Database("postgresql+asyncpg://postgres@127.0.0.1:1/nowhere")
    e = await start(dead, clock)
    try:
        codes = [(await e.send(raw_mail("<down@x>")))[0] for _ in range(4)]
    finally:
        e.server.close()
        await e.server.wait_closed()
        await dead.dispose()
    assert codes == [451, 451, 451, 451]


# --- A calendar without working time ---------------------------------------------------------------------------


async def test_a_closure_of_years_is_refused_and_an_old_one_never_blocks_intake(db: Database,
                                                                                clock: FixedClock) -> None:
    from datetime import date

    from helpdesk.app.sla.admin import SlaAdmin
    from helpdesk.app.sla.service import ensure_defaults
    from helpdesk.bootstrap import build, mail_ingest
    from helpdesk.config import Settings
    from helpdesk.db.tables import Outbox, SlaCalendar, SlaClosure
    from helpdesk.domain.errors import ValidationError

    admin = SlaAdmin(db, clock)
    with pytest.raises(ValidationError, match="couvrirait 4018 jours .* au plus 92 jours"):
        await admin.add_closure(date(2026, 1, 1), date(2036, 12, 31))
    await admin.add_closure(date(2026, 7, 14), date(2026, 8, 31), "Été")
    with pytest.raises(ValidationError, match="Avec les fermetures qu'elle prolonge"):
        await admin.add_closure(date(2026, 9, 1), date(2026, 11, 30))  # joined to the summer: 140 days

    # A closure saved before this rule existed (or by hand): the mail is still ticketed and acknowledged.
    async with db.transaction() as s:
        await ensure_defaults(s, clock.now())
        cal = (await s.scalars(select(SlaCalendar))).first()
        assert cal is not None and cal.id is not None
        s.add(SlaClosure(calendar_id=cal.id, starts_on=date(2020, 1, 1), ends_on=date(2040, 12, 31), label="erreur"))
    services = build(Settings(database_url=db.url, smtp_enabled=False, smtp_relay_host="127.0.0.1",
                              mail_addresses=[ADDR]), clock=clock)
    server = await serve_mail(mail_ingest(services), host="127.0.0.1", port=0, addresses=[ADDR],
                              max_bytes=1_000_000, hostname="craig.fr")
    try:
        code, _ = await Edge(server, mail_ingest(services)).send(raw_mail("<closed@x>"))
    finally:
        server.close()
        await server.wait_closed()
        await services.db.dispose()
    assert code == 250 and await quarantined(db) == []
    [ticket] = await tickets(db)
    assert ticket.first_response_due is None
    async with db.transaction() as s:
        queued = [o.payload for o in (await s.scalars(select(Outbox))).all()]
    assert [p["to"] for p in queued] == [SENDER]  # the acknowledgement is queued


async def test_data_is_unstuffed_and_a_pipelined_command_after_the_end_is_answered(edge: Edge, db: Database) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", edge.port)
    await reply(reader)
    for line in (b"EHLO mta.example\r\n", b"MAIL FROM:<" + SENDER.encode() + b">\r\n",
                 b"RCPT TO:<" + ADDR.encode() + b">\r\n", b"DATA\r\n"):
        writer.write(line)
        assert (await reply(reader))[:1] in (b"2", b"3")
    body = raw_mail("<dots@x>", body=b"..point en tete\r\nfin\r\n")
    writer.write(body + b".\r\nQUIT\r\n")  # the end of DATA and the next command in one packet
    stored, bye = await reply(reader), await reply(reader)
    writer.close()
    assert stored.startswith(b"250") and bye.startswith(b"221")
    async with db.transaction() as s:
        [message] = (await s.scalars(select(Message))).all()
    assert message.full_text.startswith(".point en tete")
