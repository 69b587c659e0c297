"""The requester portal /espace and its API on both databases: sign-in links, sessions, tickets, actions."""

from __future__ import annotations

import base64
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from helpdesk.app.intake.messages import InboundAttachment, OrganizationHint
from helpdesk.app.portal.signin import PortalLinkSender, digest
from helpdesk.db.tables import Attachment, Contact, KbEntry, Message, Outbox, Rating, Ticket
from helpdesk.db.tables_portal import PortalToken
from helpdesk.domain.values import Channel, Direction, OrgKind, TicketStatus
from helpdesk.ports import FixedClock
from helpdesk.services import Services
from tests.integration.test_cli import cli_env, run
from tests.support.fakes import RecordingSender
from tests.support.web import active_content, add_staff, another_client, csrf_of, login, mail, web_client

SYLVIE = "sylvie@mairie-murat.fr"
LINK = re.compile(r"http://127\.0\.0\.1(/espace/lien/([A-Za-z0-9_-]+)(?:\?demande=(\d+))?)")
CSV = b"code_insee;nom;budget\n15138;Murat;1200000\n15139;Neussargues;800000\n"


def mailbox(services: Services) -> RecordingSender:
    """Captures the mails the Outbox sends, through the portal's link minting (as the relay would get them)."""
    inner = RecordingSender()
    services.outbox.senders["email"] = PortalLinkSender(inner, services.portal_auth)
    return inner


def links_to(box: RecordingSender, to: str) -> list[tuple[str, str, str | None]]:
    return [(m[1], m[2], m[3]) for p in box.sent if p["to"] == to for m in LINK.finditer(str(p["text"]))]


async def ticket_for(services: Services, ext: str = "<m1@murat>", sender: str = SYLVIE, **kw: Any) -> int:
    result = await services.intake.receive(mail(ext, sender=sender, **kw))
    assert result.ticket_number is not None
    return result.ticket_number


async def ask_link(client: TestClient[Any, Any], email: str) -> tuple[int, str]:
    page = await client.get("/espace/connexion")
    resp = await client.post("/espace/connexion", data={"email": email, "csrf_token": csrf_of(await page.text())})
    return resp.status, await resp.text()


async def sign_in(client: TestClient[Any, Any], services: Services, box: RecordingSender,
                  email: str = SYLVIE) -> str:
    """Ask for a link, take it from the mail, open it, press the button; returns the session's CSRF token."""
    status, _ = await ask_link(client, email)
    assert status == 200
    await services.outbox.run_once()
    path, _, _ = links_to(box, email)[-1]
    page = await client.get(path)
    resp = await client.post(path, data={"csrf_token": csrf_of(await page.text())}, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    home = await client.get("/espace")
    assert home.status == 200
    return csrf_of(await home.text())


async def test_sign_in_link_is_single_use_hashed_and_the_same_answer_for_unknown_addresses(
        services: Services, clock: FixedClock) -> None:
    box = mailbox(services)
    number = await ticket_for(services)
    async with web_client(services) as client:
        assert (await client.get("/espace", allow_redirects=False)).headers["Location"].startswith(
            "/espace/connexion")
        known = await ask_link(client, SYLVIE)
        unknown = await ask_link(client, "personne@ailleurs.fr")
        assert known == unknown and known[0] == 200 and "lien de connexion vient de lui être envoyé" in known[1]
        assert (await ask_link(client, "pas-une-adresse"))[0] == 400
        await services.outbox.run_once()
        assert [p["to"] for p in box.sent] == [SYLVIE]  # nothing is sent to an unknown address
        [(path, token, _)] = links_to(box, SYLVIE)
        async with services.db.transaction() as s:
            rows = (await s.scalars(select(PortalToken))).all()
            queued = [o.payload for o in (await s.scalars(select(Outbox))).all()]
        assert [r.token_hash for r in rows] == [digest(token)] and rows[0].email == SYLVIE
        assert token not in str(queued)  # the token is minted when sending: never at rest in clear
        # A scanner opening the link (GET, twice) does not burn it; the button's POST does, once.
        for _ in range(2):
            page = await client.get(path)
            assert page.status == 200 and "Me connecter" in await page.text()
        csrf = csrf_of(await page.text())
        resp = await client.post(path, data={"csrf_token": csrf}, allow_redirects=False)
        assert resp.status == 303 and resp.headers["Location"] == "/espace"
        home = await (await client.get("/espace")).text()
        assert f"n° {number}" in home and "Publication du budget" in home
        assert active_content(home) == [active_content(home)[0]]  # only the site's own script
        # The portal session is not a staff session.
        assert (await client.get("/queue", allow_redirects=False)).headers["Location"].startswith("/login")
        async with another_client(client) as other:
            page = await other.get(path)
            again = await other.post(path, data={"csrf_token": csrf_of(await page.text())})
            assert again.status == 400 and "plus valable" in await again.text()
            assert (await other.post(path, data={})).status == 403  # no CSRF token, no sign-in
        # Signing out ends the session.
        resp = await client.post("/espace/deconnexion", data={"csrf_token": csrf_of(home)}, allow_redirects=False)
        assert resp.status == 303
        assert (await client.get("/espace", allow_redirects=False)).status == 303


async def test_link_expires_and_requests_are_rate_limited(services: Services, clock: FixedClock) -> None:
    box = mailbox(services)
    await ticket_for(services)
    async with web_client(services) as client:
        await ask_link(client, SYLVIE)
        await services.outbox.run_once()
        [(path, _, _)] = links_to(box, SYLVIE)
        clock.advance(minutes=21)
        page = await client.get(path)
        assert (await client.post(path, data={"csrf_token": csrf_of(await page.text())})).status == 400
        statuses = [(await ask_link(client, SYLVIE))[0] for _ in range(5)]
        assert statuses == [200] * 4 + [429]  # five per hour and address (one asked above)
        statuses = [(await ask_link(client, f"inconnu{i}@ailleurs.fr"))[0] for i in range(20)]
        assert statuses == [200] * 15 + [429] * 5  # twenty per hour and client (five counted above), known or not


async def test_ticket_page_hides_notes_shows_file_reports_and_faq(services: Services, clock: FixedClock) -> None:
    box = mailbox(services)
    _, agent = await add_staff(services)
    number = await ticket_for(services, attachments=(InboundAttachment("budget.csv", "text/csv", CSV),))
    await services.outbox.run_once()  # the file check runs: its report is an internal note
    await services.tickets.add_note(number, agent, "Note interne : rappeler la DGFiP")
    await services.tickets.reply(number, agent, "Bonjour, voici la marche à suivre.")
    async with services.db.transaction() as s:
        t = (await s.scalars(select(Ticket).where(Ticket.number == number))).one()
        s.add(KbEntry(id="publier-budget", title="Publier son budget", body="…", updated_at=clock.now()))
        s.add(Message(ticket_id=t.id or 0, direction=Direction.OUTBOUND.value, channel="email", visible_text="Accusé",
                      automatic=True, meta={"kind": "acknowledgement",
                                            "faq_suggestions": [{"id": "publier-budget", "title": "x"}]},
                      created_at=clock.now()))
    async with web_client(services) as client:
        await sign_in(client, services, box)
        html = await (await client.get(f"/espace/demandes/{number}")).text()
        assert "voici la marche à suivre" in html and "rappeler la DGFiP" not in html
        assert "Rapport de vérification du fichier" in html and "budget.csv" in html
        assert 'href="/faq/publier-budget"' in html and "Publier son budget" in html
        att = re.search(rf'/espace/demandes/{number}/pieces/(\d+)', html)
        assert att is not None
        download = await client.get(att.group(0))
        assert download.status == 200 and await download.read() == CSV
        assert download.headers["Content-Type"] == "application/octet-stream"
        assert (await client.get(f"/espace/demandes/{number}/pieces/999999")).status == 404


async def test_reply_with_attachment_goes_through_intake(services: Services, clock: FixedClock) -> None:
    box = mailbox(services)
    _, agent = await add_staff(services)
    number = await ticket_for(services)
    await services.tickets.set_status(number, TicketStatus.PENDING, agent)
    async with web_client(services) as client:
        csrf = await sign_in(client, services, box)
        form = FormData()
        form.add_field("csrf_token", csrf)
        form.add_field("texte", "Voici le fichier corrigé.")
        form.add_field("fichiers", CSV, filename="budget-corrige.csv", content_type="text/csv")
        resp = await client.post(f"/espace/demandes/{number}/repondre", data=form, allow_redirects=False)
        assert resp.status == 303, await resp.text()
        page = await (await client.get(resp.headers["Location"])).text()
        assert "Votre message a bien été envoyé" in page and "budget-corrige.csv" in page
        empty = await client.post(f"/espace/demandes/{number}/repondre", data={"csrf_token": csrf, "texte": " "})
        assert empty.status == 400 and "Écrivez un message ou joignez un fichier." in await empty.text()
        forged = await client.post(f"/espace/demandes/{number}/repondre", data={"texte": "x"})
        assert forged.status == 403
    async with services.db.transaction() as s:
        t = (await s.scalars(select(Ticket).where(Ticket.number == number))).one()
        msg = (await s.scalars(select(Message).where(Message.ticket_id == t.id, Message.channel == "portal"))).one()
        atts = (await s.scalars(select(Attachment).where(Attachment.message_id == msg.id))).all()
        jobs = [o.payload.get("filename") for o in (await s.scalars(select(Outbox))).all() if o.channel == "filecheck"]
    assert t.status == TicketStatus.OPEN.value  # pending → open, as a mail would
    assert msg.direction == Direction.INBOUND.value and msg.visible_text == "Voici le fichier corrigé."
    assert [a.filename for a in atts] == ["budget-corrige.csv"] and jobs == ["budget-corrige.csv"]


async def test_close_reopen_within_the_window_and_rate(services: Services, clock: FixedClock) -> None:
    box = mailbox(services)
    _, agent = await add_staff(services)
    number = await ticket_for(services)
    await services.tickets.set_status(number, TicketStatus.RESOLVED, agent)
    base = f"/espace/demandes/{number}"

    async def status() -> str:
        async with services.db.transaction() as s:
            return (await s.scalars(select(Ticket.status).where(Ticket.number == number))).one()

    async with web_client(services) as client:
        csrf = await sign_in(client, services, box)
        assert (await client.post(f"{base}/rouvrir", data={"csrf_token": csrf})).status == 200
        assert await status() == "open"
        await services.tickets.set_status(number, TicketStatus.RESOLVED, agent)
        clock.advance(days=8)
        assert (await client.get("/espace", allow_redirects=False)).status == 303  # the session expired too
        csrf = await sign_in(client, services, box)
        late = await client.post(f"{base}/rouvrir", data={"csrf_token": csrf})
        assert late.status == 400 and "rouverte" in await late.text() and await status() == "resolved"
        assert (await client.post(f"{base}/noter", data={"csrf_token": csrf, "note": "9"})).status == 400
        rated = await client.post(f"{base}/noter", data={"csrf_token": csrf, "note": "4", "commentaire": "Merci"})
        assert rated.status == 200 and "Merci pour votre avis" in await rated.text()
        closed = await client.post(f"{base}/fermer", data={"csrf_token": csrf})
        assert closed.status == 200 and await status() == "closed"
        assert (await client.post(f"{base}/fermer", data={"csrf_token": csrf})).status == 400
    async with services.db.transaction() as s:
        rating = (await s.scalars(select(Rating))).one()
    assert (rating.score, rating.channel, rating.comment) == (4, "portal", "Merci")


async def test_organisation_tickets_only_when_staff_share_them(services: Services, clock: FixedClock) -> None:
    box = mailbox(services)
    await add_staff(services)
    org = OrganizationHint(name="Mairie de Murat", kind=OrgKind.COMMUNE)
    theirs = await ticket_for(services, "<a@murat>", organization=org)
    await ticket_for(services, "<b@murat>", sender="paul@mairie-murat.fr", subject="Cadastre", organization=org)
    async with services.db.transaction() as s:
        org_id = (await s.scalars(select(Contact.organization_id).where(Contact.email == SYLVIE))).one()
    async with web_client(services) as client:
        csrf = await sign_in(client, services, box, "paul@mairie-murat.fr")
        assert "Publication du budget" not in await (await client.get("/espace")).text()
        assert (await client.get(f"/espace/demandes/{theirs}")).status == 404
        async with another_client(client) as staff:
            staff_csrf = await login(staff, "admin@craig.fr")
            assert "Mairie de Murat" in await (await staff.get("/admin/organisations")).text()
            resp = await staff.post(f"/admin/organisations/{org_id}/espace",
                                    data={"csrf_token": staff_csrf, "partage": "oui"})
            assert resp.status == 200
        assert "Publication du budget" in await (await client.get("/espace")).text()
        page = await client.get(f"/espace/demandes/{theirs}")
        assert page.status == 200 and "lecture seule" in await page.text()
        refused = await client.post(f"/espace/demandes/{theirs}/repondre", data={"csrf_token": csrf, "texte": "x"})
        assert refused.status == 400
        # A requester's cookie never opens the staff admin.
        assert (await client.get("/admin/organisations", allow_redirects=False)).status == 303


async def test_staff_reply_mail_carries_a_link_to_the_ticket(services: Services, clock: FixedClock) -> None:
    box = mailbox(services)
    _, agent = await add_staff(services)
    number = await ticket_for(services)
    await services.tickets.reply(number, agent, "Voici notre réponse.")
    await services.outbox.run_once()
    [(path, _, ticket)] = links_to(box, SYLVIE)
    assert ticket == str(number)
    async with services.db.transaction() as s:
        stored = (await s.scalars(select(Message.visible_text).where(Message.direction == "outbound"))).all()
    assert all("/espace/lien/" not in text for text in stored)  # only the mail holds the token
    async with web_client(services) as client:
        page = await client.get(path)
        resp = await client.post(path, data={"csrf_token": csrf_of(await page.text())}, allow_redirects=False)
        assert resp.headers["Location"] == f"/espace/demandes/{number}"


async def test_portal_api_for_a_requester_token(services: Services, clock: FixedClock) -> None:
    box = mailbox(services)
    _, agent = await add_staff(services)
    number = await ticket_for(services)
    staff_token = await services.auth.create_api_token(agent, "test")
    async with web_client(services) as client:
        for email in (SYLVIE, "inconnu@ailleurs.fr"):
            resp = await client.post("/api/v1/portal/signin", json={"email": email})
            assert resp.status == 202
        await services.outbox.run_once()
        [(_, token, _)] = links_to(box, SYLVIE)
        assert (await client.post("/api/v1/portal/session", json={"token": "x" * 30})).status == 400
        session = await (await client.post("/api/v1/portal/session", json={"token": token})).json()
        auth = {"Authorization": f"Bearer {session['token']}"}
        assert session["token"].startswith("hdr_")
        assert (await client.get("/api/v1/portal/tickets")).status == 401
        assert (await client.get("/api/v1/portal/tickets",
                                 headers={"Authorization": f"Bearer {staff_token}"})).status == 401
        assert (await client.get("/api/v1/tickets", headers=auth)).status == 401  # not a staff token
        listed = await (await client.get("/api/v1/portal/tickets", headers=auth)).json()
        assert [t["number"] for t in listed["tickets"]] == [number]
        assert list(listed["tickets"][0]) == [  # the API's contract: the read model's fields, in this order
            "number", "subject", "status", "created_at", "updated_at", "mine", "requester"]
        reply = await client.post(f"/api/v1/portal/tickets/{number}/reply", headers=auth, json={
            "text": "Par l'API", "attachments": [{"filename": "b.csv", "content_type": "text/csv",
                                                  "data_base64": base64.b64encode(CSV).decode()}]})
        assert reply.status == 201, await reply.text()
        bad = await client.post(f"/api/v1/portal/tickets/{number}/reply", headers=auth,
                                json={"text": "x", "attachments": [{"filename": "b", "data_base64": "%%%"}]})
        assert bad.status == 400
        ticket = await (await client.get(f"/api/v1/portal/tickets/{number}", headers=auth)).json()
        assert ticket["messages"][-1]["text"] == "Par l'API" and ticket["messages"][-1]["attachments"]
        assert list(ticket) == ["number", "subject", "status", "created_at", "updated_at", "mine", "requester",
                                "messages", "faq", "rating", "can_reply", "can_close", "can_reopen", "can_rate"]
        assert list(ticket["messages"][-1]) == ["id", "direction", "mine", "author", "created_at", "text",
                                                "automatic", "attachments"]
        assert list(ticket["messages"][-1]["attachments"][0]) == ["id", "filename", "size", "report"]
        assert datetime.fromisoformat(ticket["created_at"]).tzinfo is not None  # ISO 8601, as before
        assert (await client.get("/api/v1/portal/tickets/999999", headers=auth)).status == 404
        await services.tickets.set_status(number, TicketStatus.RESOLVED, agent)
        rated = await client.post(f"/api/v1/portal/tickets/{number}/rating", headers=auth, json={"score": 5})
        assert rated.status == 200 and (await rated.json())["rating"] == {"score": 5, "comment": None}
        closed = await client.post(f"/api/v1/portal/tickets/{number}/close", headers=auth)
        assert (await closed.json())["status"] == "closed"
        assert (await client.delete("/api/v1/portal/session", headers=auth)).status == 200
        assert (await client.get("/api/v1/portal/tickets", headers=auth)).status == 401
    async with services.db.transaction() as s:
        channels = (await s.scalars(select(Message.channel).where(Message.direction == "inbound"))).all()
    assert Channel.PORTAL.value in channels


async def test_erasure_ends_the_requesters_sessions(services: Services, clock: FixedClock) -> None:
    box = mailbox(services)
    await ticket_for(services)
    async with web_client(services) as client:
        await sign_in(client, services, box)
        await services.gdpr.erase(SYLVIE)
        assert (await client.get("/espace", allow_redirects=False)).status == 303


async def test_command_line_shares_an_organisation_and_revokes_sessions(services: Services, clock: FixedClock,
                                                                         tmp_path: Path) -> None:
    box = mailbox(services)
    await ticket_for(services, organization=OrganizationHint(name="Mairie de Murat", kind=OrgKind.COMMUNE))
    env = cli_env(services.db.url, tmp_path)
    listed = run(["portal", "orgs"], env)
    assert listed.returncode == 0 and "Mairie de Murat" in listed.stdout and "privées" in listed.stdout
    org_id = listed.stdout.split()[0]
    assert run(["portal", "share", org_id, "on"], env).returncode == 0
    assert "partagées" in run(["portal", "orgs", "--q", "murat"], env).stdout
    assert run(["portal", "share", "999999", "on"], env).returncode != 0
    async with web_client(services) as client:
        await sign_in(client, services, box)
        out = run(["portal", "revoke", SYLVIE], env)
        assert out.returncode == 0 and "1 session(s)" in out.stdout, out.stderr
        assert (await client.get("/espace", allow_redirects=False)).status == 303
