"""The email ingest path on both databases: attachments, automatic mail, bounces, quarantine, acknowledgements."""

from __future__ import annotations

import email.policy
import functools
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import func, select

from channels.email.ingest import reprocessor
from helpdesk.app.faq.index import FaqHit
from helpdesk.app.intake.service import IntakeContext, IntakeService
from helpdesk.app.mail.acknowledge import AcknowledgementHook, AckPolicy
from helpdesk.app.mail.bounces import AUTOMATIC_IGNORED, ClearBouncingHook
from helpdesk.app.quarantine.service import HELD, REPROCESSED, QuarantineService
from helpdesk.app.tickets.service import TicketService
from helpdesk.db.engine import Database
from helpdesk.db.tables import Attachment, Blob, Contact, Event, Outbox, Quarantine, Ticket
from helpdesk.domain.errors import ValidationError
from helpdesk.domain.values import IntakeAction
from helpdesk.ports import FixedClock
from tests.support.fakes import CannedFaq
from tests.support.mail import build_ingest

ADDR = "assistance@craig.fr"


def mail(mid: str, *, sender: str = "Sylvie Martin <sylvie@mairie-exemple.fr>", subject: str = "Budget primitif",
         body: str = "Bonjour,\nComment publier notre budget ?\n", **headers: str) -> EmailMessage:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"], m["Message-ID"] = sender, ADDR, subject, mid
    for k, v in headers.items():
        m[k.replace("_", "-")] = v
    m.set_content(body)
    return m


def raw(m: EmailMessage) -> bytes:
    return m.as_bytes(policy=email.policy.SMTP)


async def count(db: Database, model: Any, *where: Any) -> int:
    async with db.transaction() as s:
        return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def test_attachments_and_inline_images_are_stored_with_safe_names(db: Database, clock: FixedClock) -> None:
    m = mail("<att@x>", body="Bonjour,\nvoici le fichier.\n\n"
                              "Le 2 mars 2026 à 09:00, CRAIG <assistance@craig.fr> a écrit :\n"
                              "> Pouvez-vous envoyer le fichier ?\n")
    m.add_alternative("<p>Bonjour,</p><p>voici le fichier.<img src='cid:logo@x'></p>", subtype="html")
    m.get_payload()[1].add_related(b"\x89PNG fake", maintype="image", subtype="png", cid="<logo@x>")  # type: ignore[index]
    m.add_attachment(b"%PDF-1.4 budget", maintype="application", subtype="pdf", filename="../../etc/passwd")
    m.add_attachment(b"a;b\n1;2\n", maintype="text", subtype="csv", filename="budget 2026 àéè.csv")
    result = await build_ingest(db, clock, IntakeService(db, clock)).process(raw(m))
    assert result.action is IntakeAction.CREATED
    async with db.transaction() as s:
        atts = (await s.scalars(select(Attachment).order_by(Attachment.id))).all()
        names = [(a.filename, a.inline, a.content_id) for a in atts]
        assert names == [("piece-jointe-1.png", True, "logo@x"), ("passwd", False, None),
                         ("budget 2026 àéè.csv", False, None)]
        for a in atts:
            assert await s.get(Blob, a.sha256) is not None
    data = await TicketService(db, clock).get_json(result.ticket_number or 0)
    assert data["messages"][0]["text"] == "Bonjour,\nvoici le fichier."


async def test_out_of_office_without_reference_makes_no_ticket_but_keeps_raw(db: Database, clock: FixedClock) -> None:
    ingest = build_ingest(db, clock, IntakeService(db, clock))
    ooo = mail("<ooo@x>", subject="Réponse automatique : absence du bureau", Auto_Submitted="auto-replied")
    result = await ingest.process(raw(ooo))
    assert result.action is IntakeAction.IGNORED and result.ticket_number is None
    assert await count(db, Ticket) == 0 and await count(db, Blob) == 1
    async with db.transaction() as s:
        ev = (await s.scalars(select(Event).where(Event.kind == AUTOMATIC_IGNORED))).one()
        assert ev.data["reason"] == "Auto-Submitted: auto-replied"


async def test_automatic_reply_on_a_ticket_is_stored_without_status_change(db: Database, clock: FixedClock) -> None:
    ingest = build_ingest(db, clock, IntakeService(db, clock))
    first = await ingest.process(raw(mail("<q@x>")))
    n = first.ticket_number or 0
    from helpdesk.domain.values import TicketStatus

    await TicketService(db, clock).set_status(n, TicketStatus.RESOLVED, None)
    ooo = mail("<ooo2@x>", subject="Absence du bureau", In_Reply_To="<q@x>", X_Autoreply="yes")
    result = await ingest.process(raw(ooo))
    assert result.action is IntakeAction.APPENDED and result.ticket_number == n
    data = await TicketService(db, clock).get_json(n)
    assert data["status"] == "resolved" and data["messages"][-1]["automatic"]


async def test_a_bounce_about_no_message_of_ours_marks_nobody(db: Database, clock: FixedClock) -> None:
    ingest = build_ingest(db, clock, IntakeService(db, clock, [ClearBouncingHook()]))
    await ingest.process(raw(mail("<s1@x>")))
    dsn = mail("<dsn@x>", sender="MAILER-DAEMON@mx.example", subject="Mail delivery failed",
               X_Failed_Recipients="sylvie@mairie-exemple.fr")
    result = await ingest.process(raw(dsn), envelope_sender="")  # forged: it names none of our messages
    assert result.action is IntakeAction.IGNORED and "marked as bouncing" not in result.reason
    assert await count(db, Contact, Contact.bouncing.is_(True)) == 0  # type: ignore[attr-defined]


async def test_a_bounce_of_our_acknowledgement_marks_the_contact_and_human_mail_clears_it(
        db: Database, clock: FixedClock) -> None:
    ingest = build_ingest(db, clock, IntakeService(db, clock, [ClearBouncingHook(), ack_hook()]))
    await ingest.process(raw(mail("<s1@x>")))
    [ack] = await acks(db)
    dsn = mail("<dsn@x>", sender="MAILER-DAEMON@mx.example", subject="Mail delivery failed",
               X_Failed_Recipients="sylvie@mairie-exemple.fr", References=ack["message_id"])
    result = await ingest.process(raw(dsn), envelope_sender="")
    assert result.action is IntakeAction.APPENDED and "marked as bouncing" in result.reason
    assert await count(db, Contact, Contact.bouncing.is_(True)) == 1  # type: ignore[attr-defined]
    await ingest.process(raw(mail("<s2@x>", subject="Autre question")))
    assert await count(db, Contact, Contact.bouncing.is_(True)) == 0  # type: ignore[attr-defined]


class Boom:
    async def after_intake(self, ctx: IntakeContext) -> None:
        raise RuntimeError("bug in a hook")


async def test_quarantine_holds_failures_and_reprocess_stores_them(db: Database, clock: FixedClock) -> None:
    broken = build_ingest(db, clock, IntakeService(db, clock, [Boom()]))
    held = await broken.process(raw(mail("<bug@x>")))
    assert held.action is IntakeAction.IGNORED and "quarantined (#1)" in held.reason
    nosender = await broken.process(b"Subject: sans expediteur\r\n\r\ntexte\r\n")
    assert "aucune adresse d'expéditeur" in nosender.reason
    service = QuarantineService(db, clock)
    items = await service.list()
    assert [(i.id, i.status, i.sender) for i in items] == [(1, HELD, "sylvie@mairie-exemple.fr"), (2, HELD, None)]
    assert await service.count_held() == 2
    fixed = QuarantineService(db, clock)
    intake = IntakeService(db, clock)
    fixed.add_reprocessor("email", reprocessor(build_ingest(db, clock, intake)))
    result = await fixed.reprocess(1)
    assert result.action is IntakeAction.CREATED
    with pytest.raises(ValidationError, match="still fails"):
        await fixed.reprocess(2)
    with pytest.raises(ValidationError, match="already reprocessed"):
        await fixed.reprocess(1)
    statuses = {i.id: (i.status, i.ticket_number) for i in await fixed.list(None)}
    assert statuses == {1: (REPROCESSED, result.ticket_number), 2: (HELD, None)}
    assert await count(db, Quarantine) == 2


def ack_hook(**policy: Any) -> AcknowledgementHook:
    return AcknowledgementHook(own_addresses=[ADDR], public_url="https://assistance.craig.fr/",
                               mail_domain="craig.fr", policy=AckPolicy(**policy))


async def acks(db: Database) -> list[dict[str, Any]]:
    async with db.transaction() as s:
        return [dict(o.payload) for o in (await s.scalars(select(Outbox).order_by(Outbox.id))).all()]


async def test_acknowledgement_text_suggestions_and_headers(db: Database, clock: FixedClock) -> None:
    faq = CannedFaq([FaqHit(id="budget-format-publication-open-data", title="Publier un budget", score=0.9,
                            label="probable", snippet="", body="", tags=())])
    ingest = build_ingest(db, clock, IntakeService(db, clock, [ack_hook()]), suggest=faq.search)
    await ingest.process(raw(mail("<n1@x>")))
    await ingest.process(raw(mail("<n2@x>", In_Reply_To="<n1@x>")))  # a reply: no second acknowledgement
    assert len(faq.queries) == 1 and "budget" in faq.queries[0].lower()  # only the new ticket searched
    [ack] = await acks(db)
    assert ack["to"] == "sylvie@mairie-exemple.fr" and ack["auto_submitted"] == "auto-replied"
    assert ack["subject"] == "[#1000] Accusé de réception : Budget primitif"
    assert ack["in_reply_to"] == "<n1@x>" and ack["message_id"].endswith("@craig.fr>")
    assert "[#1000]" in ack["text"]
    assert "- Publier un budget : https://assistance.craig.fr/faq/budget-format-publication-open-data" in ack["text"]


async def test_no_suggestions_when_the_faq_engine_fails_or_abstains(db: Database, clock: FixedClock) -> None:
    async def broken(text: str) -> list[FaqHit]:
        raise RuntimeError("index not built")

    ingest = build_ingest(db, clock, IntakeService(db, clock, [ack_hook()]), suggest=broken)
    await ingest.process(raw(mail("<f1@x>")))
    [ack] = await acks(db)
    assert "FAQ" not in ack["text"] and "[#1000]" in ack["text"]


async def test_acknowledgements_are_rate_limited_and_never_answer_machines(db: Database, clock: FixedClock) -> None:
    ingest = build_ingest(db, clock, IntakeService(db, clock, [ack_hook(per_sender=2, loop_messages=50)]))
    for i in range(4):
        await ingest.process(raw(mail(f"<r{i}@x>", subject=f"Question {i}")))
    assert len(await acks(db)) == 2
    await ingest.process(raw(mail("<bulk@x>", sender="news@lettre.example", Precedence="bulk", subject="Lettre",
                                  In_Reply_To="<r0@x>")))
    await ingest.process(raw(mail("<self@x>", sender=ADDR, subject="Envoyé par nous-mêmes")))
    assert len(await acks(db)) == 2
    async with db.transaction() as s:
        reasons = (await s.scalars(select(Event.data).where(Event.kind == "ack.suppressed"))).all()
    assert len(reasons) == 2 and all("rate limit" in r["reason"] for r in reasons)


async def test_one_batch_counts_its_own_acknowledgements_and_messages(db: Database, clock: FixedClock) -> None:
    """Concurrent deliveries share one intake batch: the guards still see each other's rows."""
    from channels.email.ingest import to_inbound
    from channels.email.parse import parse_message

    def inbound(mid: str, sender: str, subject: str) -> Any:
        data = raw(mail(mid, sender=sender, subject=subject))
        return to_inbound(parse_message(data), data)

    intake = IntakeService(db, clock, [ack_hook(per_sender=2, loop_messages=4)])
    outcomes = await intake.receive_batch(
        [inbound(f"<b{i}@x>", "Paul <paul@mairie.fr>", f"Question {i}") for i in range(3)]
        + [inbound(f"<robot{i}@x>", "robot@outil.example", f"Alerte {i}") for i in range(4)]
    )
    assert all(getattr(o, "action", None) is IntakeAction.CREATED for o in outcomes)
    sent = [a["to"] for a in await acks(db)]
    assert sent.count("paul@mairie.fr") == 2  # the third is over the per-sender limit
    assert "robot@outil.example" not in sent  # 4 messages from it in the window: the loop guard holds them all
    async with db.transaction() as s:
        reasons = [d["reason"] for d in (await s.scalars(select(Event.data).where(Event.kind == "ack.suppressed")))]
    assert sum("rate limit" in r for r in reasons) == 1 and sum("loop guard" in r for r in reasons) == 4


async def test_loop_guard_stops_automatic_messages_to_a_chatty_robot(db: Database, clock: FixedClock) -> None:
    ingest = build_ingest(db, clock, IntakeService(db, clock, [ack_hook(per_sender=100, loop_messages=3)]))
    for i in range(5):  # a misconfigured robot writing new mail every few seconds
        await ingest.process(raw(mail(f"<robot{i}@x>", sender="robot@outil.example", subject=f"Alerte {i}")))
        clock.advance(seconds=5)
    assert len(await acks(db)) == 2
    clock.advance(hours=1)
    await ingest.process(raw(mail("<robot-late@x>", sender="robot@outil.example", subject="Alerte tardive")))
    assert len(await acks(db)) == 3


async def test_acknowledgement_uses_the_real_faq_engine_when_confident(db: Database, clock: FixedClock) -> None:
    from helpdesk.app.faq.sync import bundled_kb_dir
    from helpdesk.bootstrap import build
    from helpdesk.config import Settings

    services = build(Settings(database_url=db.url, smtp_enabled=False), clock=clock)
    try:
        await services.kb_store.import_dir(bundled_kb_dir())
        # the acknowledgement's purpose, as bootstrap wires it: nearly certain or nothing
        mail_search = functools.partial(services.faq.search, purpose="mail")
        ingest = build_ingest(db, clock, IntakeService(db, clock, [ack_hook()]), suggest=mail_search)
        await ingest.process(raw(mail("<faq1@x>", subject="Séparateur CSV",
                                      body="Quel séparateur utiliser dans un fichier CSV, virgule ou point-virgule ?")))
        await ingest.process(raw(mail("<faq2@x>", sender="autre@mairie.fr", subject="Panne",
                                      body="Bonjour, la photocopieuse de la mairie est en panne.")))
        first, second = await acks(db)
        assert "https://assistance.craig.fr/faq/csv-separateur-virgule-point-virgule" in first["text"]
        assert "/faq/" not in second["text"]  # the engine abstains: no suggestion rather than a wrong one
    finally:
        await services.db.dispose()


async def test_a_parser_bug_quarantines_instead_of_looping(db: Database, clock: FixedClock) -> None:
    async def broken(raw: bytes, envelope_sender: str | None) -> Any:
        raise RuntimeError("parser bug")

    result = await build_ingest(db, clock, IntakeService(db, clock), parse=broken).process(raw(mail("<pb@x>")))
    assert result.action is IntakeAction.IGNORED and "échec de l'analyseur : RuntimeError: parser bug" in result.reason
    assert await count(db, Quarantine) == 1


async def test_without_a_faq_rule_the_acknowledgement_gets_its_suggestions_when_sent(db: Database,
                                                                                     clock: FixedClock) -> None:
    """The FAQ search leaves the SMTP path unless routing needs it; the Outbox sender completes the text."""
    from helpdesk.app.faq.sync import bundled_kb_dir
    from helpdesk.app.mail.acknowledge import AckFinisher
    from helpdesk.bootstrap import build, smtp_suggester
    from helpdesk.config import Settings
    from helpdesk.db.tables import Message

    services = build(Settings(database_url=db.url, smtp_enabled=False), clock=clock)
    try:
        await services.kb_store.import_dir(bundled_kb_dir())
        suggest = smtp_suggester(services)
        assert await suggest("Quel séparateur utiliser dans un fichier CSV ?") is None  # no rule uses FAQ tags
        ingest = build_ingest(db, clock, IntakeService(db, clock, [ack_hook()]), suggest=suggest)
        await ingest.process(raw(mail("<d1@x>", subject="Séparateur CSV",
                                      body="Quel séparateur utiliser dans un fichier CSV, virgule ou point-virgule ?")))
        [queued] = await acks(db)
        assert "/faq/" not in queued["text"] and queued["faq_query"].startswith("Séparateur CSV")
        finisher = AckFinisher(db, services.faq.search, "https://assistance.craig.fr")
        sent = await finisher.finish(queued)
        assert "https://assistance.craig.fr/faq/csv-separateur-virgule-point-virgule" in sent["text"]
        assert "faq_query" not in sent and "ticket_subject" not in sent
        assert sent["message_id"] == queued["message_id"]  # the same message, only completed
        async with db.transaction() as s:
            stored = await s.get(Message, queued["db_message_id"])
            assert stored is not None and stored.visible_text == sent["text"]
            assert stored.meta["faq_suggestions"][0]["id"] == "csv-separateur-virgule-point-virgule"
        assert await finisher.finish({"to": "x@y.fr", "text": "Bonjour"}) == {"to": "x@y.fr", "text": "Bonjour"}
        # Once a rule routes by FAQ tags, intake searches again (the tags decide the team).
        await services.routing_rules.add("CSV", faq_tags=["csv"], tags=["csv"])
        found = await suggest("Quel séparateur utiliser dans un fichier CSV ?")
        assert found and found[0].id == "csv-separateur-virgule-point-virgule"
    finally:
        await services.db.dispose()
