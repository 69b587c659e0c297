"""The ticket page on both databases: reply through the Outbox, stale-page warning, actions, phone tickets."""

from __future__ import annotations

import re

from sqlalchemy import select

from helpdesk.app.faq.sync import bundled_kb_dir
from helpdesk.db.engine import Database
from helpdesk.db.tables import KbEntry, Outbox, Team, Ticket, TicketLink
from helpdesk.ports import FixedClock
from tests.support.web import add_staff, another_client, csrf_of, login, mail, services_for, web_client


async def test_reply_is_queued_for_the_channel_and_shown_in_the_thread(db: Database, clock: FixedClock) -> None:
    services = services_for(db.url, clock)
    await add_staff(services)
    await services.kb_store.import_dir(bundled_kb_dir())
    res = await services.intake.receive(mail("<r1@x>", text="Comment publier le budget primitif en open data ?"))
    n = res.ticket_number
    async with web_client(services) as client:
        await login(client, "agent@craig.fr")
        page = await (await client.get(f"/tickets/{n}")).text()
        # FAQ suggestions for the latest inbound message, each with its answer ready to insert.
        assert "Réponses suggérées par la FAQ" in page
        assert re.search(r'<template id="sugg-1">[^<]{40,}</template>', page)
        assert 'data-insert="sugg-1"' in page
        seen = re.search(r'name="seen_message_id" value="(\d+)"', page).group(1)
        resp = await client.post(f"/tickets/{n}/reply", data={"csrf_token": csrf_of(page), "text": "Voici la marche.",
                                                             "seen_message_id": seen, "kind": "reply"})
        assert resp.status == 200 and "Réponse mise en file d&#39;envoi." in await resp.text()
        assert "en file d&#39;envoi" in await resp.text()
    async with db.transaction() as s:
        row = (await s.scalars(select(Outbox))).one()
    assert row.channel == "email" and row.payload["to"] == "sylvie@mairie-murat.fr"
    assert row.payload["text"] == "Voici la marche." and row.payload["subject"].startswith(f"[#{n}]")
    await services.db.dispose()


async def test_warning_when_someone_else_replied_since_the_page_loaded(db: Database, clock: FixedClock) -> None:
    services = services_for(db.url, clock)
    admin, _ = await add_staff(services)
    n = (await services.intake.receive(mail("<w1@x>"))).ticket_number or 0
    async with web_client(services) as client:
        await login(client, "agent@craig.fr")
        page = await (await client.get(f"/tickets/{n}")).text()
        seen = re.search(r'name="seen_message_id" value="(\d+)"', page).group(1)
        await services.tickets.reply(n, admin, "Réponse d'Alice entre-temps.")
        activity = await (await client.get(f"/tickets/{n}/activity?after={seen}")).json()
        assert [m["author"] for m in activity["messages"]] == ["Alice Admin"]
        form = {"csrf_token": csrf_of(page), "text": "Mon brouillon", "seen_message_id": seen, "kind": "reply"}
        resp = await client.post(f"/tickets/{n}/reply", data=form)
        html = await resp.text()
        assert resp.status == 409 and "Alice Admin a ajouté une réponse" in html
        assert ">Mon brouillon</textarea>" in html and 'name="confirm" value="1"' in html
        assert len((await services.tickets.get_json(n))["messages"]) == 2  # nothing sent yet
        resp = await client.post(f"/tickets/{n}/reply", data={**form, "confirm": "1"}, allow_redirects=False)
        assert resp.status == 303
        assert [m["text"] for m in (await services.tickets.get_json(n))["messages"]][-1] == "Mon brouillon"
    await services.db.dispose()


async def test_sidebar_actions_note_link_merge_and_presence(db: Database, clock: FixedClock) -> None:
    services = services_for(db.url, clock)
    admin, agent = await add_staff(services)
    async with db.transaction() as s:
        team = Team(name="Données budgétaires")
        s.add(team)
        await s.flush()
        team_id = team.id
    a = (await services.intake.receive(mail("<s1@x>"))).ticket_number or 0
    b = (await services.intake.receive(mail("<s2@x>", subject="Autre"))).ticket_number or 0
    c = (await services.intake.receive(mail("<s3@x>", subject="Doublon"))).ticket_number or 0
    async with web_client(services) as client, another_client(client) as other:
        await login(other, "admin@craig.fr")
        await other.get(f"/tickets/{a}")
        token = await login(client, "agent@craig.fr")
        page = await (await client.get(f"/tickets/{a}")).text()
        assert "Alice Admin consulte ce ticket." in page  # presence (helpdesk/app/live)
        assert f'href="/tickets/{b}"' in page  # the requester's other tickets
        resp = await client.post(f"/tickets/{a}/update", data={
            "csrf_token": token, "status": "pending", "priority": "urgent", "assignee": str(agent),
            "team": str(team_id), "tags": "budget, SCDL"}, allow_redirects=False)
        assert resp.status == 303
        data = await services.tickets.get_json(a)
        assert (data["status"], data["priority"], data["tags"]) == ("pending", "urgent", ["budget", "scdl"])
        assert (await client.post(f"/tickets/{a}/reply", data={"csrf_token": token, "text": "Rappel prévu lundi",
                                                              "kind": "note", "seen_message_id": "999"},
                                  allow_redirects=False)).status == 303
        assert (await client.post(f"/tickets/{a}/link", data={"csrf_token": token, "other": f"#{b}"},
                                  allow_redirects=False)).status == 303
        assert (await client.post(f"/tickets/{c}/merge", data={"csrf_token": token, "target": str(a)},
                                  allow_redirects=False)).status == 303
        assert (await client.post(f"/tickets/{c}/merge", data={"csrf_token": token, "target": str(b)})).status == 400
        page = await (await client.get(f"/tickets/{a}")).text()
        assert "Rappel prévu lundi" in page and f"Le ticket #{c}" in page and f'href="/tickets/{b}"' in page
        bad = await client.post(f"/tickets/{a}/update", data={"csrf_token": token, "status": "new"})
        assert bad.status == 400 and "Action impossible sur un ticket « En attente »" in await bad.text()
        # One bad field refuses the whole form: the good priority is not written, the assignee stays.
        typo = await client.post(f"/tickets/{a}/update", data={"csrf_token": token, "priority": "low",
                                                              "assignee": "bruno"})
        assert typo.status == 400
        after = await services.page.page(a)
        assert after.priority == "urgent" and after.assignee_id == agent
        # An empty choice clears the field (the select's « personne »).
        cleared = await client.post(f"/tickets/{a}/update", data={"csrf_token": token, "assignee": ""},
                                    allow_redirects=False)
        assert cleared.status == 303 and (await services.page.page(a)).assignee_id is None
    async with db.transaction() as s:
        merged = (await s.scalars(select(Ticket).where(Ticket.number == c))).one()
        kinds = sorted(k for k in (await s.scalars(select(TicketLink.kind))).all())
    assert merged.status == "closed" and merged.merged_into_id is not None
    # Merge closes through the one status path: timestamps and the audit event agree.
    assert merged.closed_at is not None and merged.resolved_at is not None
    closing = [e for e in await services.tickets.events(c) if e["kind"] == "status.changed"]
    assert [(e["data"]["old"], e["data"]["new"], e["data"]["reason"]) for e in closing] == [("new", "closed", "merged")]
    assert kinds == ["merged", "related"]
    assert data["messages"][0]["direction"] == "inbound"
    await services.db.dispose()


async def test_phone_ticket_opened_on_behalf_of_a_caller(db: Database, clock: FixedClock) -> None:
    services = services_for(db.url, clock)
    await add_staff(services)
    async with web_client(services) as client:
        token = await login(client, "agent@craig.fr")
        resp = await client.post("/phone", data={
            "csrf_token": token, "caller_name": "Jean Dupont", "caller_email": "j.dupont@mairie-riom.fr",
            "org_name": "Commune de Riom", "org_kind": "commune", "pays": "Pays de Riom", "subject": "Budget",
            "request": "Veut publier son budget primitif.", "note": "Rappeler avant jeudi"}, allow_redirects=False)
        assert resp.status == 303
        n = int(resp.headers["Location"].rsplit("/", 1)[1])
        page = await (await client.get(f"/tickets/{n}")).text()
        assert "Commune de Riom" in page and "Pays de Riom" in page and "Rappeler avant jeudi" in page
        assert "Téléphone" in page
        # Later replies go out by e-mail since the caller gave an address.
        await client.post(f"/tickets/{n}/reply", data={"csrf_token": token, "text": "Voici le guide.",
                                                       "seen_message_id": "999"})
        missing = await client.post("/phone", data={"csrf_token": token, "subject": "x", "request": "y"})
        assert missing.status == 400 and "nom ou l&#39;adresse" in await missing.text()
        nomail = await client.post("/phone", data={"csrf_token": token, "caller_name": "Sans Adresse",
                                                   "subject": "Cadastre", "request": "Question"},
                                   allow_redirects=False)
        m = int(nomail.headers["Location"].rsplit("/", 1)[1])
        resp = await client.post(f"/tickets/{m}/reply", data={"csrf_token": token, "text": "Réponse",
                                                             "seen_message_id": "999"})
        assert resp.status == 400 and "rappelez-le par téléphone" in await resp.text()
    data = await services.tickets.get_json(n)
    assert data["channel"] == "phone" and data["requester"]["organization"] == "Commune de Riom"
    async with db.transaction() as s:
        assert [o.channel for o in (await s.scalars(select(Outbox))).all()] == ["email"]
    await services.db.dispose()


async def test_faq_draft_from_a_ticket_waits_for_an_admin(db: Database, clock: FixedClock) -> None:
    services = services_for(db.url, clock)
    _, agent = await add_staff(services)
    n = (await services.intake.receive(mail("<d1@x>", subject="Seuil des 3 500 habitants"))).ticket_number or 0
    await services.tickets.reply(n, agent, "Les communes de plus de 3 500 habitants et 50 agents doivent publier.")
    async with web_client(services) as client:
        token = await login(client, "agent@craig.fr")
        resp = await client.post(f"/tickets/{n}/faq-draft", data={"csrf_token": token})
        assert "Brouillon d&#39;entrée de FAQ" in await resp.text()
    async with db.transaction() as s:
        entry = (await s.scalars(select(KbEntry))).one()
    assert entry.status == "draft" and entry.title == "Seuil des 3 500 habitants"
    assert entry.body.startswith("Les communes de plus") and entry.questions == [
        "Bonjour, comment publier notre budget en open data ?"]
    await services.db.dispose()
