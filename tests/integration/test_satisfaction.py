"""Satisfaction by email: the rating mail after resolution, the public one-click page, the stored rating."""

from __future__ import annotations

import re

from sqlalchemy import select

from helpdesk.bootstrap import build
from helpdesk.config import Settings
from helpdesk.db.engine import Database
from helpdesk.db.tables import Outbox, Rating, Ticket
from helpdesk.domain.values import Priority, StaffRole, TicketStatus
from helpdesk.ports import FixedClock
from tests.support.web import PASSWORD, csrf_of, mail, web_client


async def test_rating_mail_then_one_click_page_records_the_score(db: Database, clock: FixedClock) -> None:
    settings = Settings(database_url=db.url, public_url="http://assistance.craig.fr", smtp_relay_host="127.0.0.1",
                        smtp_enabled=False)
    services = build(settings, clock=clock)
    try:
        staff = await services.users.add("agent@craig.fr", StaffRole.AGENT, PASSWORD)
        n = (await services.intake.receive(mail("<r1@x>"))).ticket_number
        other = (await services.intake.receive(mail("<r2@x>", sender_email="autre@x.fr"))).ticket_number
        assert n is not None and other is not None
        await services.tickets.reply(n, staff, "Voici la marche à suivre.")
        await services.tickets.set_status(n, TicketStatus.RESOLVED, staff)
        await services.tickets.set_priority(n, Priority.HIGH, staff)  # another change: no second request
        async with db.transaction() as s:
            rows = (await s.scalars(select(Outbox).where(Outbox.idempotency_key.like("rating-ask:%")))).all()
            ref = (await s.scalars(select(Ticket.public_ref).where(Ticket.number == n))).one()
            other_ref = (await s.scalars(select(Ticket.public_ref).where(Ticket.number == other))).one()
        assert len(rows) == 1
        payload = rows[0].payload
        assert payload["to"] == "sylvie@mairie-murat.fr" and payload["subject"].startswith(f"[#{n}] Votre avis")
        links = re.findall(r"http://assistance\.craig\.fr/satisfaction/\S+", payload["text"])
        assert links == [f"http://assistance.craig.fr/satisfaction/{ref}?note={i}" for i in range(1, 6)]

        async with web_client(services) as client:
            page = await client.get(f"/satisfaction/{ref}?note=4")
            html = await page.text()
            assert page.status == 200 and 'value="4" checked' in html
            async with db.transaction() as s:
                assert (await s.scalars(select(Rating))).first() is None  # opening a link records nothing
            done = await client.post(f"/satisfaction/{ref}", data={"csrf_token": csrf_of(html), "note": "4",
                                                                   "comment": "Très clair, merci"})
            assert done.status == 200 and "Votre note (4 sur 5) est enregistrée" in await done.text()
            refused = await client.post(f"/satisfaction/{other_ref}", data={"csrf_token": csrf_of(html),
                                                                            "note": "5"})
            assert refused.status == 400 and "seule une demande résolue" in await refused.text()
            forged = await client.post(f"/satisfaction/{ref}", data={"note": "1"})
            assert forged.status == 403
            assert (await client.get("/satisfaction/inconnue-0123456789")).status == 200  # the form only
            unknown = await client.post("/satisfaction/inconnue-0123456789", data={"csrf_token": csrf_of(html),
                                                                                    "note": "3"})
            assert unknown.status == 404
        async with db.transaction() as s:
            rating = (await s.scalars(select(Rating))).one()
        assert (rating.score, rating.comment, rating.channel) == (4, "Très clair, merci", "email")
    finally:
        await services.db.dispose()


async def test_rating_requests_pass_the_automatic_mail_guard(db: Database, clock: FixedClock) -> None:
    """Ten tickets of one requester resolved in an hour: at most the guard's per-address count of mails
    (acknowledgements included) goes to that address; the others are suppressed with a reason."""
    settings = Settings(database_url=db.url, public_url="http://assistance.craig.fr", smtp_relay_host="127.0.0.1",
                        smtp_enabled=False)
    services = build(settings, clock=clock)
    try:
        staff = await services.users.add("agent@craig.fr", StaffRole.AGENT, PASSWORD)
        numbers = [(await services.intake.receive(mail(f"<g{i}@x>", subject=f"Question {i} www.evil.example")))
                   .ticket_number for i in range(10)]
        clock.advance(minutes=20)  # out of the loop window: the rate limit is what holds now
        for n in numbers:
            assert n is not None
            await services.tickets.set_status(n, TicketStatus.RESOLVED, staff)
        async with db.transaction() as s:
            asks = (await s.scalars(select(Outbox).where(Outbox.idempotency_key.like("rating-ask:%")))).all()
            from helpdesk.db.tables import Event

            suppressed = (await s.scalars(select(Event).where(Event.kind == "mail.automatic_suppressed"))).all()
        assert 1 <= len(asks) <= 6 and len(asks) + len(suppressed) == 10
        assert all(e.data["mail"] == "rating-ask" and "rate limit" in e.data["reason"] for e in suppressed)
        assert all("www[.]evil[.]example" in a.payload["text"] for a in asks)  # the subject is quoted inert
    finally:
        await services.db.dispose()
