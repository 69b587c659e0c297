"""RGPD: export, erase and retention keep counts and remove personal data, on both backends."""

from __future__ import annotations

from sqlalchemy import func, select

from helpdesk.app.intake.messages import InboundAttachment, InboundMessage
from helpdesk.app.intake.service import IntakeService
from helpdesk.app.privacy.gdpr import ERASED, GdprService
from helpdesk.app.tickets.service import TicketService
from helpdesk.db.engine import Database
from helpdesk.db.tables import Attachment, Blob, Ticket
from helpdesk.domain.values import Channel, TicketStatus
from helpdesk.ports import FixedClock


def msg(ext: str, sender: str, text: str) -> InboundMessage:
    return InboundMessage(
        channel=Channel.EMAIL, external_id=ext, sender_email=sender, sender_name="Jeanne Dupont",
        subject="Budget de Saint-Flour", visible_text=text, full_text=text, raw=text.encode(),
        attachments=(InboundAttachment("budget.csv", "text/csv", b"secret;data\n"),),
    )


async def test_export_then_erase(db: Database, clock: FixedClock) -> None:
    intake = IntakeService(db, clock)
    await intake.receive(msg("<1@x>", "jeanne@mairie.fr", "Mon numéro : 06 12 34 56 78"))
    await intake.receive(msg("<2@x>", "autre@mairie.fr", "Autre demande"))
    gdpr = GdprService(db, clock)
    data = await gdpr.export("Jeanne@Mairie.fr")
    assert data["contact"]["name"] == "Jeanne Dupont"
    assert [m["text"] for m in data["messages"]] == ["Mon numéro : 06 12 34 56 78"]
    assert data["messages"][0]["attachments"][0]["filename"] == "budget.csv"

    await gdpr.erase("jeanne@mairie.fr")
    t = await TicketService(db, clock).get_json(1000)
    assert t["subject"] == ERASED and t["requester"]["email"] != "jeanne@mairie.fr"
    assert t["requester"]["name"] is None
    assert [m["text"] for m in t["messages"]] == [ERASED] and t["messages"][0]["attachments"] == []
    other = await TicketService(db, clock).get_json(1001)
    assert other["messages"][0]["text"] == "Autre demande" and other["messages"][0]["attachments"]
    async with db.transaction() as s:
        assert await s.scalar(select(func.count()).select_from(Ticket)) == 2  # counts for reports stay
        assert await s.scalar(select(func.count()).select_from(Attachment)) == 1
        # the other ticket's raw original and attachment remain; the erased ones are gone
        assert await s.scalar(select(func.count()).select_from(Blob)) == 2


async def test_retention_scrubs_only_old_closed_tickets(db: Database, clock: FixedClock) -> None:
    intake, tickets = IntakeService(db, clock), TicketService(db, clock)
    await intake.receive(msg("<a@x>", "a@mairie.fr", "ancienne demande"))
    await intake.receive(msg("<b@x>", "b@mairie.fr", "demande récente"))
    await tickets.set_status(1000, TicketStatus.CLOSED, None)
    clock.advance(days=400)
    await tickets.set_status(1001, TicketStatus.CLOSED, None)
    gdpr = GdprService(db, clock)
    assert await gdpr.apply_retention(12, dry_run=True) == 1
    assert await gdpr.apply_retention(12) == 1
    assert (await tickets.get_json(1000))["messages"][0]["text"] == ERASED
    assert (await tickets.get_json(1001))["messages"][0]["text"] == "demande récente"
    assert await gdpr.apply_retention(12) == 0
