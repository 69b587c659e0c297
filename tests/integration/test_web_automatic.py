"""The « Courrier automatique » page: automatic mail kept without a ticket and bouncing addresses are visible."""

from __future__ import annotations

import email.policy
from email.message import EmailMessage

from sqlalchemy import func, select

from helpdesk.app.mail.acknowledge import ACK_SUPPRESSED, AcknowledgementHook
from helpdesk.app.mail.automatic_admin import AUTOMATIC_TICKETED, BOUNCING_CLEARED, AutomaticAdmin
from helpdesk.app.mail.bounces import AUTOMATIC_IGNORED
from helpdesk.bootstrap import build
from helpdesk.config import Settings
from helpdesk.db import store
from helpdesk.db.engine import Database
from helpdesk.db.tables import Contact, Event, Message, Outbox, Ticket
from helpdesk.domain.values import IntakeAction
from helpdesk.ports import FixedClock
from helpdesk.services import Services
from tests.support.mail import build_ingest
from tests.support.web import add_staff, login, web_client

ADDR = "assistance@craig.fr"


def mail(mid: str, *, sender: str = "Sylvie Martin <sylvie@mairie-murat.fr>", subject: str = "Budget primitif",
         body: str = "Bonjour,\nComment publier notre budget ?\n", **headers: str) -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"], m["Message-ID"] = sender, ADDR, subject, mid
    for k, v in headers.items():
        m[k.replace("_", "-")] = v
    m.set_content(body)
    return m.as_bytes(policy=email.policy.SMTP)


OOO = mail("<ooo-1@murat.fr>", subject="Réponse automatique : absente jusqu'au 9 mars",
           body="Je suis absente. Pour le budget, écrivez à compta@mairie-murat.fr.\n", Auto_Submitted="auto-replied")


async def kept_event_ids(db: Database) -> list[int]:
    async with db.transaction() as s:
        return [int(i) for i in (await s.scalars(
            select(Event.id).where(Event.kind == AUTOMATIC_IGNORED).order_by(Event.id))).all()]


async def test_out_of_office_is_listed_and_its_original_downloads(
        db: Database, clock: FixedClock, services: Services,
) -> None:
    await add_staff(services)
    result = await build_ingest(db, clock, services.intake).process(OOO)
    assert result.action is IntakeAction.IGNORED and result.ticket_number is None
    [event_id] = await kept_event_ids(db)
    async with web_client(services) as anon:  # nobody signed in: the page and the original stay closed
        page = await anon.get("/automatic", allow_redirects=False)
        assert page.status == 303 and page.headers["Location"].startswith("/login?next=")
        raw = await anon.get(f"/automatic/{event_id}/raw", allow_redirects=False)
        assert raw.status == 303 and raw.headers["Location"].startswith("/login")
        assert OOO not in await raw.read()
    async with web_client(services) as agent:
        await login(agent, "agent@craig.fr")
        queue = await (await agent.get("/queue")).text()
        assert 'href="/automatic"' in queue and "Courrier automatique" in queue
        resp = await agent.get("/automatic")
        assert resp.status == 200 and resp.headers["Cache-Control"] == "no-store"
        page_html = await resp.text()
        assert "sylvie@mairie-murat.fr" in page_html
        assert "Réponse automatique : absente jusqu&#39;au 9 mars" in page_html  # the subject, escaped
        assert "Auto-Submitted: auto-replied" in page_html and f"/automatic/{event_id}/raw" in page_html
        raw = await agent.get(f"/automatic/{event_id}/raw")
        assert raw.status == 200 and await raw.read() == OOO
        assert raw.headers["Content-Type"] == "application/octet-stream"
        assert raw.headers["Content-Disposition"] == f'attachment; filename="courrier-automatique-{event_id}.eml"'
        assert (await agent.get(f"/automatic/{event_id + 1000}/raw")).status == 404
        async with db.transaction() as s:  # an event of another kind is not an automatic mail
            other = await store.record_event(s, kind="note.added", now=clock.now(), ticket_id=None, raw_sha256="x")
            await s.flush()
            other_id = other.id
        assert (await agent.get(f"/automatic/{other_id}/raw")).status == 404
        assert (await agent.get("/automatic/99999999999/raw")).status == 404  # beyond a 32-bit id: not a 500


async def test_bouncing_address_is_listed_and_cleared_with_an_audit_event(
        db: Database, clock: FixedClock, services: Services,
) -> None:
    _, agent_id = await add_staff(services)
    ingest = build_ingest(db, clock, services.intake)
    first = await ingest.process(mail("<q-1@murat.fr>"))  # the contact exists, then our reply to it bounces
    async with db.transaction() as s:
        ticket = (await s.scalars(select(Ticket))).one()
        s.add(Message(ticket_id=ticket.id, direction="outbound", channel="email", visible_text="Réponse",
                      full_text="Réponse", external_id="<reply.1@craig.fr>", created_at=clock.now(), meta={}))
    dsn = mail("<dsn-1@mx.example>", sender="MAILER-DAEMON@mx.example", subject="Mail delivery failed",
               body="550 5.1.1 user unknown\n", X_Failed_Recipients="sylvie@mairie-murat.fr",
               References="<reply.1@craig.fr>")
    result = await ingest.process(dsn, envelope_sender="")
    assert "marked as bouncing" in result.reason and result.ticket_number == first.ticket_number
    async with db.transaction() as s:
        contact = (await s.scalars(select(Contact).where(Contact.email == "sylvie@mairie-murat.fr"))).one()
        assert contact.bouncing and contact.id is not None
        cid = contact.id
    async with web_client(services) as anon:
        refused = await anon.post(f"/automatic/bouncing/{cid}/clear", data={}, allow_redirects=False)
        assert refused.status == 303 and refused.headers["Location"] == "/login"
    async with web_client(services) as agent:
        token = await login(agent, "agent@craig.fr")
        page = await (await agent.get("/automatic")).text()
        bouncing_table = page.split('id="bouncing"', 1)[1].split("</table>", 1)[0]
        assert "sylvie@mairie-murat.fr" in bouncing_table and f"/automatic/bouncing/{cid}/clear" in bouncing_table
        assert "X-Failed-Recipients header" in bouncing_table and "02/03/2026 10:30" in bouncing_table  # why, since
        no_csrf = await agent.post(f"/automatic/bouncing/{cid}/clear", data={}, allow_redirects=False)
        assert no_csrf.status == 403
        forged = await agent.post(f"/automatic/bouncing/{cid}/clear", data={"csrf_token": "forged"},
                                  allow_redirects=False)
        assert forged.status == 403
        async with db.transaction() as s:
            assert (await s.get(Contact, cid)).bouncing  # type: ignore[union-attr]
        resp = await agent.post(f"/automatic/bouncing/{cid}/clear", data={"csrf_token": token}, allow_redirects=False)
        assert resp.status == 303 and resp.headers["Location"] == "/automatic"
        again = await agent.post(f"/automatic/bouncing/{cid}/clear", data={"csrf_token": token},
                                 allow_redirects=False)
        assert again.status == 303  # already cleared: said so, nothing recorded twice
        page = await (await agent.get("/automatic")).text()
        assert "sylvie@mairie-murat.fr" not in page.split('id="bouncing"', 1)[1].split("</table>", 1)[0]
        assert "Aucune adresse n'est marquée" in page
    async with db.transaction() as s:
        contact = await s.get(Contact, cid)
        assert contact is not None and not contact.bouncing and contact.bounce_reason is None
        [ev] = (await s.scalars(select(Event).where(Event.kind == BOUNCING_CLEARED))).all()
        assert (ev.actor_kind, ev.actor_id, ev.ticket_id) == ("staff", agent_id, None)
        assert ev.data["contact_id"] == cid and ev.data["email"] == "sylvie@mairie-murat.fr"
        assert ev.data["reason"] == "X-Failed-Recipients header"  # the bounce reason it had, kept in the journal


async def test_create_ticket_from_kept_mail_is_audited_and_not_acknowledged(db: Database, clock: FixedClock) -> None:
    settings = Settings(database_url=db.url, public_url="http://127.0.0.1", smtp_enabled=False)
    ack = AcknowledgementHook(own_addresses=[ADDR], public_url="http://127.0.0.1", mail_domain="craig.fr")
    services = build(settings, clock=clock, hooks=[ack])
    _, agent_id = await add_staff(services)
    await build_ingest(db, clock, services.intake).process(OOO)
    [event_id] = await kept_event_ids(db)
    async with web_client(services) as agent:
        token = await login(agent, "agent@craig.fr")
        assert f"/automatic/{event_id}/ticket" in await (await agent.get("/automatic")).text()
        no_csrf = await agent.post(f"/automatic/{event_id}/ticket", data={}, allow_redirects=False)
        assert no_csrf.status == 403
        async with db.transaction() as s:
            assert int(await s.scalar(select(func.count(Ticket.id))) or 0) == 0
        resp = await agent.post(f"/automatic/{event_id}/ticket", data={"csrf_token": token}, allow_redirects=False)
        assert resp.status == 303
        async with db.transaction() as s:
            ticket = (await s.scalars(select(Ticket))).one()
            assert resp.headers["Location"] == f"/tickets/{ticket.number}"
            message = (await s.scalars(select(Message).where(Message.ticket_id == ticket.id))).one()
            assert not message.automatic and message.external_id == "<ooo-1@murat.fr>"
            assert message.meta["taken_by_staff_id"] == agent_id and message.meta["from_automatic_event"] == event_id
            [audit] = (await s.scalars(select(Event).where(Event.kind == AUTOMATIC_TICKETED))).all()
            assert (audit.actor_kind, audit.actor_id, audit.ticket_id) == ("staff", agent_id, ticket.id)
            assert audit.data["event_id"] == event_id
            # The requester wrote no request: no acknowledgement goes to the out-of-office address.
            assert (await s.scalars(select(Outbox))).all() == []
            assert (await s.scalars(select(Event).where(Event.kind == ACK_SUPPRESSED))).one().ticket_id == ticket.id
        page = await (await agent.get("/automatic")).text()
        assert f'href="/tickets/{ticket.number}"' in page and f"/automatic/{event_id}/ticket" not in page
        twice = await agent.post(f"/automatic/{event_id}/ticket", data={"csrf_token": token}, allow_redirects=False)
        assert twice.status == 303 and twice.headers["Location"] == f"/tickets/{ticket.number}"
    async with db.transaction() as s:
        assert int(await s.scalar(select(func.count(Ticket.id))) or 0) == 1
        assert int(await s.scalar(select(func.count(Event.id)).where(Event.kind == AUTOMATIC_TICKETED)) or 0) == 1
    await services.db.dispose()


async def test_pages_newest_first_and_older_events_without_subject(
        db: Database, clock: FixedClock, services: Services,
) -> None:
    await add_staff(services)
    async with db.transaction() as s:  # recorded before subjects were kept
        await store.record_event(s, kind=AUTOMATIC_IGNORED, now=clock.now(), ticket_id=None, channel="email",
                                 external_id="<old@x>", sender="ancien@exemple.fr", raw_sha256=None,
                                 reason="Auto-Submitted: auto-replied")
    ingest = build_ingest(db, clock, services.intake)
    for n in range(3):
        await ingest.process(mail(f"<bulk-{n}@lettre.example>", sender=f"lettre{n}@lettre.example",
                                  subject=f"Lettre d'information n° {n}", Precedence="bulk"))
    ids = await kept_event_ids(db)
    assert len(ids) == 4
    admin = AutomaticAdmin(db, clock)
    first = await admin.page(limit=2)
    assert [i.event_id for i in first.items] == [ids[3], ids[2]] and first.next_before == ids[2]
    assert first.items[0].subject == "Lettre d'information n° 2" and first.items[0].kind == "bulk"
    last = await admin.page(first.next_before, limit=2)
    assert [i.event_id for i in last.items] == [ids[1], ids[0]] and last.next_before is None
    old = last.items[1]
    assert (old.sender, old.subject, old.kind, old.size) == ("ancien@exemple.fr", None, None, None)
    assert await admin.count() == 4
    async with web_client(services) as agent:
        await login(agent, "agent@craig.fr")
        older = await (await agent.get(f"/automatic?before={ids[1]}")).text()
        rows = older.split('id="kept"', 1)[1].split("</table>", 1)[0]
        assert "ancien@exemple.fr" in rows and "lettre2@lettre.example" not in rows
        assert f"/automatic/{ids[0]}/raw" not in rows and f"/automatic/{ids[0]}/ticket" not in rows  # nothing kept
        assert "<td>—</td>" in rows  # no subject recorded
        assert (await agent.get("/automatic?before=abc")).status == 200  # a bad cursor shows the first page
