"""The service cannot be used to write to others, and delivery reports land where they belong (issues 15, 16).

Real SMTP over loopback into `helpdesk serve`'s own ingest (acknowledgements and file checks on), on
SQLite and PostgreSQL: a forged sender flooding with tiny CSV files, a link in a subject, forged and
real bounces (Final- vs Original-Recipient, VERP), a read receipt, strangers and colleagues replying.
"""

from __future__ import annotations

import email.policy
from collections.abc import AsyncIterator, Mapping
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import pytest
from sqlalchemy import select

from channels.email.compose import compose
from channels.email.server import serve_mail
from channels.email.verp import verp_return_path
from helpdesk.bootstrap import Services, build, mail_ingest, smtp_suggester
from helpdesk.config import Settings
from helpdesk.db.engine import Database
from helpdesk.db.tables import Contact, Event, Message, Ticket, TicketLink
from helpdesk.ports import FixedClock

ADDR = "assistance@craig.fr"


class Recorder:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send(self, payload: Mapping[str, Any]) -> None:
        self.sent.append(dict(payload))


class Service:
    def __init__(self, services: Services, port: int, recorder: Recorder) -> None:
        self.services = services
        self.port = port
        self.recorder = recorder

    async def send(self, raw: bytes, *, mail_from: str, rcpt: str = ADDR) -> int:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=self.port, timeout=60)
        await client.connect()
        try:
            await client.ehlo()
            await client.mail(mail_from)
            await client.rcpt(rcpt)
            return (await client.data(raw)).code
        finally:
            await client.quit()

    async def drain_outbox(self) -> None:
        while await self.services.outbox.run_once():
            pass


@pytest.fixture
async def service(db: Database, clock: FixedClock) -> AsyncIterator[Service]:
    recorder = Recorder()
    settings = Settings(database_url=db.url, smtp_enabled=False, smtp_relay_host="127.0.0.1", mail_addresses=[ADDR],
                        public_url="https://assistance.craig.fr")
    services = build(settings, clock=clock, senders={"email": recorder})
    ingest = mail_ingest(services, suggest=smtp_suggester(services))
    server = await serve_mail(ingest, host="127.0.0.1", port=0, addresses=[ADDR], max_bytes=2_000_000,
                              hostname="craig.fr")
    try:
        yield Service(services, server.sockets[0].getsockname()[1], recorder)
    finally:
        server.close()
        await server.wait_closed()
        await services.db.dispose()


def mail(mid: str, *, sender: str = "Sylvie Martin <sylvie@mairie-murat.fr>", subject: str = "Budget primitif",
         body: str = "Bonjour,\nComment publier notre budget ?\n", csv: bool = False, **headers: str) -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"], m["Message-ID"] = sender, ADDR, subject, mid
    for k, v in headers.items():
        m[k.replace("_", "-")] = v
    m.set_content(body)
    if csv:
        m.add_attachment(b"nom;valeur\nx;1\n", maintype="text", subtype="csv", filename="budget.csv")
    return m.as_bytes(policy=email.policy.SMTP)


async def rows(db: Database, model: Any, *where: Any) -> list[Any]:
    async with db.transaction() as s:
        return list((await s.scalars(select(model).where(*where).order_by(model.id))).all())


# --- Abuse ------------------------------------------------------------------------------------------------------


async def test_a_flood_with_files_from_a_forged_sender_gets_a_handful_of_mails(service: Service,
                                                                                db: Database) -> None:
    victim = "victime@mairie-cible.fr"
    for i in range(30):
        code = await service.send(mail(f"<flood{i}@x>", sender=victim, subject=f"Fichier {i}", csv=True),
                                  mail_from=victim)
        assert code == 250
    await service.drain_outbox()
    to_victim = [p for p in service.recorder.sent if p["to"] == victim]
    assert 1 <= len(to_victim) <= 6  # was 33: acknowledgements and summaries share one guard
    kinds = {p["message_id"].split(".", 1)[0] for p in to_victim}
    assert "<ack" in kinds
    suppressed = await rows(db, Event, Event.kind == "mail.automatic_suppressed")
    assert suppressed and all(e.data["mail"] == "filecheck-summary" for e in suppressed)
    notes = await rows(db, Message, Message.direction == "note")
    assert len(notes) == 30  # every file was still checked: staff see each result on its ticket


async def test_no_link_is_made_from_a_subject(service: Service) -> None:
    subject = "Urgent https://craig-fr.evil.example/login et www.evil.example"
    assert await service.send(mail("<link@x>", subject=subject), mail_from="sylvie@mairie-murat.fr") == 250
    await service.drain_outbox()
    [ack] = service.recorder.sent
    assert "craig-fr[.]evil[.]example/login" in ack["text"] and "www[.]evil[.]example" in ack["text"]
    assert "https://craig-fr.evil.example" not in ack["text"]
    html = compose(ack, from_address=ADDR, from_name="CRAIG", reply_to=None,
                   now=service.services.clock.now()).get_body(("html",))
    assert html is not None and "href" not in str(html.get_content())  # no link at all: none was ours to make


def test_a_name_with_cr_lf_never_breaks_or_injects_a_header() -> None:
    payload = {"to": "maire@commune.fr", "to_name": "Le maire\r\nBcc: victime@example.org", "message_id": "<a@b>",
               "subject": "Objet\r\nX-Evil: 1", "text": "Bonjour"}
    from datetime import UTC, datetime

    msg = compose(payload, from_address=ADDR, from_name="CRAIG", reply_to=None, now=datetime(2026, 3, 2, tzinfo=UTC))
    data = msg.as_bytes(policy=email.policy.SMTP)
    assert b"\r\nBcc:" not in data and b"\r\nX-Evil:" not in data
    assert "Le maire Bcc: victime@example.org" in msg["To"] and msg["Bcc"] is None


# --- Delivery reports -------------------------------------------------------------------------------------------


def dsn(mid: str, *, final: str, original: str | None, our_id: str | None, sender: str = "MAILER-DAEMON@mx.example"
        ) -> bytes:
    original_line = f"Original-Recipient: rfc822;{original}\r\n" if original else ""
    headers = (f"Message-ID: {our_id}\r\nFrom: {ADDR}\r\nSubject: Accusé de réception\r\n" if our_id
               else "Subject: quelque chose\r\n")
    return (
        f"From: Mail Delivery System <{sender}>\r\nTo: {ADDR}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: {mid}\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=\"r\"\r\n\r\n"
        "--r\r\nContent-Type: text/plain\r\n\r\nMessage non remis.\r\n"
        "--r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\n"
        f"{original_line}Final-Recipient: rfc822;{final}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n"
        f"--r\r\nContent-Type: text/rfc822-headers\r\n\r\n{headers}\r\n--r--\r\n"
    ).encode()


async def first_ack(service: Service, db: Database) -> tuple[str, Ticket]:
    assert await service.send(mail("<q@x>"), mail_from="sylvie@mairie-murat.fr") == 250
    [ticket] = await rows(db, Ticket)
    [ack] = await rows(db, Message, Message.direction == "outbound")
    assert ack.external_id is not None
    return ack.external_id, ticket


async def bouncing(db: Database) -> list[str]:
    return [c.email for c in await rows(db, Contact, Contact.bouncing.is_(True))]  # type: ignore[attr-defined]


async def test_a_forged_bounce_marks_nobody(service: Service, db: Database) -> None:
    await first_ack(service, db)
    forged = dsn("<forged@mx>", final="sylvie@mairie-murat.fr", original=None, our_id="<pas-de-nous@craig.fr>")
    assert await service.send(forged, mail_from="") == 250
    assert await bouncing(db) == []


async def test_a_bounce_after_alias_expansion_matches_the_original_recipient(service: Service, db: Database) -> None:
    ack_id, ticket = await first_ack(service, db)
    report = dsn("<dsn1@mx>", final="nosuchuser@interne.mairie-murat.fr", original="sylvie@mairie-murat.fr",
                 our_id=ack_id)
    assert await service.send(report, mail_from="") == 250
    assert await bouncing(db) == ["sylvie@mairie-murat.fr"]
    on_ticket = await rows(db, Message, Message.ticket_id == ticket.id, Message.external_id == "<dsn1@mx>")
    assert len(on_ticket) == 1 and on_ticket[0].automatic  # the report is on the ticket it is about
    assert len(await rows(db, Ticket)) == 1


async def test_a_bounce_to_our_verp_return_path_is_matched_without_our_headers(service: Service,
                                                                               db: Database) -> None:
    ack_id, _ = await first_ack(service, db)
    report = dsn("<dsn2@mx>", final="sylvie@mairie-murat.fr", original=None, our_id=None)
    assert await service.send(report, mail_from="", rcpt=verp_return_path(ADDR, ack_id)) == 250
    assert await bouncing(db) == ["sylvie@mairie-murat.fr"]


async def test_a_read_receipt_is_stored_on_its_ticket_and_opens_nothing(service: Service, db: Database) -> None:
    ack_id, ticket = await first_ack(service, db)
    receipt = (
        "From: Sylvie Martin <sylvie@mairie-murat.fr>\r\nTo: assistance@craig.fr\r\nSubject: Lu : Budget primitif\r\n"
        "Message-ID: <mdn1@mairie-murat.fr>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=disposition-notification; boundary=\"m\"\r\n\r\n"
        "--m\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nVotre message a été lu.\r\n"
        "--m\r\nContent-Type: message/disposition-notification\r\n\r\n"
        "Reporting-UA: mairie-murat.fr; Thunderbird\r\nFinal-Recipient: rfc822;sylvie@mairie-murat.fr\r\n"
        f"Original-Message-ID: {ack_id}\r\nDisposition: manual-action/MDN-sent-manually; displayed\r\n\r\n--m--\r\n"
    ).encode()
    assert await service.send(receipt, mail_from="sylvie@mairie-murat.fr") == 250
    assert len(await rows(db, Ticket)) == 1
    [stored] = await rows(db, Message, Message.external_id == "<mdn1@mairie-murat.fr>")
    assert stored.ticket_id == ticket.id and stored.automatic
    [after] = await rows(db, Ticket)
    assert after.status == ticket.status


# --- Threading by Message-ID ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("sender", "threads"), [
    ("marc@mairie-murat.fr", True),  # a colleague of the requester's own organisation
    ("paul@copie.fr", True),  # was in Cc of the first message
    ("intrus@ailleurs.fr", False),  # a stranger who knows a Message-ID
])
async def test_in_reply_to_threads_participants_only(service: Service, db: Database, sender: str,
                                                      threads: bool) -> None:
    assert await service.send(mail("<q1@x>", Cc="Paul <paul@copie.fr>"), mail_from="sylvie@mairie-murat.fr") == 250
    reply = mail("<r1@x>", sender=sender, subject="RE: Budget primitif", In_Reply_To="<q1@x>",
                 References="<q1@x>")
    assert await service.send(reply, mail_from=sender) == 250
    tickets = await rows(db, Ticket)
    [message] = await rows(db, Message, Message.external_id == "<r1@x>")
    if threads:
        assert len(tickets) == 1 and message.thread_reason == "threaded by In-Reply-To"
    else:
        assert len(tickets) == 2 and message.ticket_id == tickets[1].id
        assert message.thread_reason == "new: In-Reply-To from someone who is not a participant of that ticket"
        [link] = await rows(db, TicketLink, TicketLink.ticket_id == tickets[1].id)
        assert link.other_id == tickets[0].id


async def test_a_shared_webmail_domain_is_no_organisation(service: Service, db: Database) -> None:
    assert await service.send(mail("<g1@x>", sender="Sylvie <sylvie.martin@orange.fr>"),
                              mail_from="sylvie.martin@orange.fr") == 250
    other = mail("<g2@x>", sender="quelquun@orange.fr", subject="RE: Budget primitif", In_Reply_To="<g1@x>")
    assert await service.send(other, mail_from="quelquun@orange.fr") == 250
    assert len(await rows(db, Ticket)) == 2
