"""File checks end to end on both databases: intake queues a job, the Outbox dispatcher runs it off the
request path, the ticket gets an internal note with the full report and the requester a short summary."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import func, select

from helpdesk.app.intake.file_checks import FILECHECK, FileCheckHook, FileCheckSender
from helpdesk.app.intake.messages import InboundAttachment, InboundMessage
from helpdesk.app.intake.service import IntakeService
from helpdesk.app.outbox import OutboxDispatcher
from helpdesk.bootstrap import build
from helpdesk.checks import Limits
from helpdesk.config import Settings
from helpdesk.db.engine import Database
from helpdesk.db.tables import KbEntry, Message, Outbox
from helpdesk.domain.values import Channel
from helpdesk.ports import FixedClock
from tests.support.builders import inbound
from tests.support.checks_samples import sample
from tests.support.fakes import RecordingSender

PUBLIC = "https://assistance.craig.fr"


def mail(ext: str, *attachments: InboundAttachment, **kw: Any) -> InboundMessage:
    return inbound(ext, subject="Notre budget est-il bon ?",
                   text="Bonjour, voici notre fichier, est-ce que c'est bon ?", attachments=attachments, **kw)



async def rows(db: Database, model: type, *where: Any) -> list[Any]:
    async with db.transaction() as s:
        return list((await s.scalars(select(model).where(*where).order_by(model.id))).all())  # type: ignore[attr-defined]


async def publish_faq(db: Database, clock: FixedClock, *ids: str) -> None:
    async with db.transaction() as s:
        for entry in ids:
            s.add(KbEntry(id=entry, title=entry, body="…", updated_at=clock.now()))


async def test_faulty_csv_gets_a_note_and_a_summary_through_the_bootstrap(db_url: str, clock: FixedClock) -> None:
    email = RecordingSender()
    services = build(Settings(database_url=db_url, smtp_enabled=False, public_url=PUBLIC), clock=clock,
                     senders={"email": email})
    try:
        db = services.db
        await publish_faq(db, clock, "csv-dates-format-iso-8601")
        csv = InboundAttachment("budget-2024.csv", "text/csv", sample("budget-faulty.csv"))
        photo = InboundAttachment("photo.jpg", "image/jpeg", b"\xff\xd8\xff")
        res = await services.intake.receive(mail("<b1@murat>", csv, photo))
        assert res.ticket_number is not None
        jobs = await rows(db, Outbox, Outbox.channel == FILECHECK)
        assert [j.payload["filename"] for j in jobs] == ["budget-2024.csv"]  # the photo is not checked
        assert jobs[0].payload["ticket_number"] == res.ticket_number

        started = time.monotonic()
        assert await services.outbox.run_once() == 1  # the check job
        elapsed = time.monotonic() - started
        notes = await rows(db, Message, Message.direction == "note")
        assert len(notes) == 1
        note = notes[0]
        assert note.visible_text.startswith("Vérification automatique de « budget-2024.csv »")
        assert note.meta["codes"] == ["separator", "siret-invalid", "whitespace", "decimal-comma", "mixed-types",
                                      "date-format", "empty-column", "schema-field-missing", "constraint-error",
                                      "constraint-error"]
        assert "ligne 2, colonne DATE_VOTE" in note.visible_text
        assert (await rows(db, Outbox, Outbox.channel == FILECHECK))[0].status == "sent"

        assert await services.outbox.run_once() == 1  # the summary email
        assert len(email.sent) == 1
        summary = email.sent[0]
        assert summary["to"] == "sylvie@mairie-murat.fr" and summary["in_reply_to"] == "<b1@murat>"
        assert summary["subject"] == f"[#{res.ticket_number}] Vérification de « budget-2024.csv »"
        assert "7 points à corriger :" in summary["text"]  # empty columns, spaces in values: remarks
        assert f"{PUBLIC}/faq/csv-dates-format-iso-8601" in summary["text"]
        assert "/faq/validata-erreurs-frequentes" not in summary["text"]  # not published in this database
        data = await services.tickets.get_json(res.ticket_number)
        assert [m["direction"] for m in data["messages"]] == ["inbound", "note", "outbound"]
        assert data["first_response_at"] is None  # an automatic summary is not a staff answer
        assert elapsed < 10
    finally:
        await services.db.dispose()


async def test_retried_job_does_not_write_twice_and_lost_blob_is_dead(db: Database, clock: FixedClock) -> None:
    intake = IntakeService(db, clock, [FileCheckHook()])
    res = await intake.receive(mail("<b2@murat>", InboundAttachment("fiche.xml", "text/xml",
                                                                    sample("metadata-incomplete.xml"))))
    job = (await rows(db, Outbox, Outbox.channel == FILECHECK))[0]
    sender = FileCheckSender(db, clock, public_url=PUBLIC)
    await sender.send(job.payload)
    await sender.send(job.payload)  # a second delivery after a lost lease
    notes = await rows(db, Message, Message.direction == "note")
    assert len(notes) == 1 and "inspire-theme-missing" in notes[0].meta["codes"]
    async with db.transaction() as s:
        summaries = await s.scalar(select(func.count(Outbox.id)).where(Outbox.channel == "email"))
    assert summaries == 1
    dispatcher = OutboxDispatcher(db, clock, {FILECHECK: sender})
    lost = dict(job.payload, sha256="0" * 64)
    async with db.transaction() as s:
        s.add(Outbox(channel=FILECHECK, payload=lost, idempotency_key="filecheck:lost", next_attempt_at=clock.now(),
                     created_at=clock.now()))
    await dispatcher.run_once()
    dead = await rows(db, Outbox, Outbox.idempotency_key == "filecheck:lost")
    assert dead[0].status == "dead" and "gone" in (dead[0].last_error or "")
    assert res.ticket_number is not None


async def test_automatic_mail_is_not_checked_and_telegram_gets_its_summary(db: Database, clock: FixedClock) -> None:
    intake = IntakeService(db, clock, [FileCheckHook()])
    csv = InboundAttachment("budget.csv", "text/csv", sample("budget-ok.csv"))
    await intake.receive(mail("<auto@x>", csv, automatic=True, automatic_reason="auto-submitted"))
    assert await rows(db, Outbox, Outbox.channel == FILECHECK) == []
    await intake.receive(InboundMessage(channel=Channel.TELEGRAM, external_id="upd-1", telegram_chat_id=4242,
                                        sender_name="Paul", visible_text="voici le fichier", attachments=(csv,)))
    job = (await rows(db, Outbox, Outbox.channel == FILECHECK))[0]
    await FileCheckSender(db, clock, public_url=PUBLIC).send(job.payload)
    telegram = await rows(db, Outbox, Outbox.channel == "telegram")
    assert len(telegram) == 1 and telegram[0].payload["chat_id"] == 4242
    assert "aucun point à corriger n'a été détecté" in telegram[0].payload["text"]


async def test_a_check_past_its_time_limit_leaves_a_note_saying_so(db: Database, clock: FixedClock) -> None:
    def slow(filename: str, data: bytes, limits: Limits | None = None) -> Any:
        time.sleep(0.5)
        return None  # the sender has stopped waiting by then

    intake = IntakeService(db, clock, [FileCheckHook()])
    await intake.receive(mail("<slow@x>", InboundAttachment("gros.csv", "text/csv", b"a,b\n1,2\n")))
    job = (await rows(db, Outbox, Outbox.channel == FILECHECK))[0]
    sender = FileCheckSender(db, clock, public_url=PUBLIC, limits=Limits(seconds=-4.9),
                             checker=slow)  # waits 0.1 s
    await sender.send(job.payload)
    notes = await rows(db, Message, Message.direction == "note")
    assert notes[0].meta["codes"] == ["timeout"]
