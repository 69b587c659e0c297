"""Public FAQ and FAQ management on both databases: search, entry pages, the ask form, edits followed live."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from helpdesk.app.faq.sync import bundled_kb_dir
from helpdesk.db.engine import Database
from helpdesk.db.tables import KbEntry, Ticket
from helpdesk.ports import FixedClock
from helpdesk.web import views_faq
from helpdesk.web.faq_sources import Provenance
from knowledge_base.loader import load_entries
from tests.support.web import active_content, add_staff, csrf_of, login, services_for, web_client


async def _tickets(db: Database) -> int:
    async with db.transaction() as s:
        return int(await s.scalar(select(func.count()).select_from(Ticket)) or 0)


async def test_public_faq_search_and_entry_pages(db: Database, clock: FixedClock) -> None:
    services = services_for(db.url, clock)
    await services.kb_store.import_dir(bundled_kb_dir())
    async with web_client(services) as client:
        home = await client.get("/faq")
        assert home.status == 200 and "Toutes les questions" in await home.text()
        results = await (await client.get("/faq/search.json?q=publier+le+budget+en+open+data")).json()
        assert results["results"], results
        first = results["results"][0]
        page = await client.get("/faq?q=publier+le+budget+en+open+data")
        assert f'href="/faq/{first["id"]}"' in await page.text()
        entry = await client.get(f"/faq/{first['id']}")
        html = await entry.text()
        assert entry.status == 200 and first["title"] in html and "<p>" in html
        assert active_content(html) == [active_content(html)[0]] and "app.js" in active_content(html)[0]
        assert (await client.get("/faq/pas-une-entree")).status == 404
        assert (await (await client.get("/faq/search.json?q=")).json()) == {"results": []}
    await services.db.dispose()


async def test_admin_edits_are_searchable_at_once_and_markdown_is_sanitised(db: Database, clock: FixedClock) -> None:
    services = services_for(db.url, clock)
    await add_staff(services)
    await services.kb_store.import_dir(bundled_kb_dir())
    async with web_client(services) as client:
        token = await login(client, "admin@craig.fr")
        query = "/faq/search.json?q=vectoriser+les+cadastres+napoléoniens"
        before = (await (await client.get(query)).json())["results"]  # warms the cached index
        assert "comment-vectoriser-les-cadastres-napoleoniens" not in {r["id"] for r in before}
        resp = await client.post("/admin/faq/new", data={
            "csrf_token": token, "title": "Comment vectoriser les cadastres napoléoniens ?",
            "questions": "vectoriser un cadastre napoléonien\nnumériser les plans anciens", "tags": "cadastre",
            "body": "Utilisez **QGIS** <script>alert(1)</script> <img src=x onerror=alert(2)> et géoréférencez.",
            "status": "published"}, allow_redirects=False)
        assert resp.status == 303
        found = (await (await client.get(query)).json())["results"]
        assert found and found[0]["id"] == "comment-vectoriser-les-cadastres-napoleoniens"
        page = await (await client.get(f"/faq/{found[0]['id']}")).text()
        assert "<strong>QGIS</strong>" in page and "&lt;script&gt;alert(1)" in page  # shown as text
        assert len(active_content(page)) == 1  # only our own script file
        form = await (await client.get(f"/admin/faq/{found[0]['id']}")).text()  # the edit form, filled in
        assert "numériser les plans anciens" in form and 'value="cadastre"' in form
        edit = await client.post(f"/admin/faq/{found[0]['id']}", data={
            "csrf_token": token, "title": "Vectoriser un cadastre ancien", "questions": "", "tags": "",
            "body": "Nouvelle réponse.", "status": "published"}, allow_redirects=False)
        assert edit.status == 303
        assert "Vectoriser un cadastre ancien" in await (await client.get(f"/faq/{found[0]['id']}")).text()
        retire = await client.post(f"/admin/faq/{found[0]['id']}/status",
                                   data={"csrf_token": token, "status": "retired"}, allow_redirects=False)
        assert retire.status == 303
        assert (await client.get(f"/faq/{found[0]['id']}")).status == 404
        after = (await (await client.get(query)).json())["results"]
        assert found[0]["id"] not in {r["id"] for r in after}  # a retired entry leaves the index at once
        listing = await (await client.get("/admin/faq")).text()
        assert "Retirée" in listing
        bad = await client.post("/admin/faq/new", data={"csrf_token": token, "title": "", "body": "",
                                                        "status": "published"})
        assert bad.status == 400
    async with db.transaction() as s:
        row = await s.get(KbEntry, "comment-vectoriser-les-cadastres-napoleoniens")
    assert row is not None and row.edited_by_staff and row.source == "staff"
    await services.db.dispose()


async def test_ask_form_opens_a_ticket_with_honeypot_and_rate_limit(db: Database, clock: FixedClock) -> None:
    services = services_for(db.url, clock)
    async with web_client(services) as client:
        form_page = await client.get("/faq/ask?q=Cadastre")
        token = csrf_of(await form_page.text())
        base = {"csrf_token": token, "email": "maire@commune-exemple.fr", "name": "Le maire",
                "org_name": "Commune d'Exemple", "subject": "Cadastre", "text": "Où trouver le cadastre ?"}
        assert (await client.post("/faq/ask", data={**base, "csrf_token": "x"})).status == 403
        robot = await client.post("/faq/ask", data={**base, "website": "http://spam.example"})
        assert robot.status == 200 and "Merci" in await robot.text()
        assert await _tickets(db) == 0
        for _ in range(3):
            ok = await client.post("/faq/ask", data=base)
            assert ok.status == 200 and "Merci" in await ok.text()
        assert await _tickets(db) == 3
        limited = await client.post("/faq/ask", data=base)
        assert limited.status == 429 and "patienter" in await limited.text()
        other = await client.post("/faq/ask", data={**base, "email": "autre@commune-exemple.fr"})
        assert other.status == 200
        invalid = await client.post("/faq/ask", data={**base, "email": "pas-une-adresse"})
        assert invalid.status == 400 and "Adresse électronique invalide" in await invalid.text()
        clock.advance(hours=1, minutes=1)
        assert (await client.post("/faq/ask", data=base)).status == 200
    data = await services.tickets.get_json(1000)
    assert data["channel"] == "web" and data["requester"]["email"] == "maire@commune-exemple.fr"
    assert re.search("Cadastre", data["subject"])
    await services.db.dispose()


async def test_entry_page_shows_its_sources_and_clickable_links(db: Database, clock: FixedClock) -> None:
    services = services_for(db.url, clock)
    await services.kb_store.import_dir(bundled_kb_dir())
    entry_id = "couche-decalee-ou-dans-ocean"
    sources = load_entries(bundled_kb_dir())[0]
    expected = next(e for e in sources if e.id == entry_id).sources
    assert expected  # the bundled entry cites its sources
    async with web_client(services) as client:
        html = await (await client.get(f"/faq/{entry_id}")).text()
        section = html.split('<section class="sources">', 1)[1].split("</section>", 1)[0]
        assert "<h2>Sources</h2>" in section
        assert re.findall(r'<a href="([^"]+)" rel="noopener noreferrer">', section) == list(expected)
        assert "Réponse vérifiée le " in section
        # a bare URL written in an answer is a link too
        body = (await (await client.get("/faq/budget-format-publication-open-data")).text())
        answer = body.split('<div class="answer">', 1)[1].split("</div>", 1)[0]
        assert '<a href="https://schema.data.gouv.fr' in answer
    await services.db.dispose()


async def test_a_merged_entry_id_redirects_to_the_entry_that_absorbed_it(
        db: Database, clock: FixedClock, monkeypatch: pytest.MonkeyPatch) -> None:
    services = services_for(db.url, clock)
    await services.kb_store.import_dir(bundled_kb_dir())
    known = Provenance(aliases={"ancienne-question-fusionnee": "couche-decalee-ou-dans-ocean"})
    monkeypatch.setattr(views_faq, "provenance", lambda: known)
    async with web_client(services) as client:
        moved = await client.get("/faq/ancienne-question-fusionnee", allow_redirects=False)
        assert moved.status == 301 and moved.headers["Location"] == "/faq/couche-decalee-ou-dans-ocean"
        assert (await client.get("/faq/autre-question-inconnue", allow_redirects=False)).status == 404
    await services.db.dispose()


async def test_ask_form_caps_its_body_and_cleans_names_without_overwriting_them(db: Database,
                                                                               clock: FixedClock) -> None:
    from helpdesk.db.tables import Contact, Organization

    services = services_for(db.url, clock)
    async with web_client(services) as client:
        token = csrf_of(await (await client.get("/faq/ask")).text())
        base = {"csrf_token": token, "email": "maire@commune-exemple.fr", "subject": "Cadastre",
                "name": "Le maire\r\nBcc: victime@example.org", "org_name": "Commune\nd'Exemple\x00",
                "text": "Où trouver le cadastre ?"}
        huge = await client.post("/faq/ask", data={**base, "text": "x" * (200 * 1024)})
        assert huge.status == 413 and "64 Ko" in await huge.text()

        async def chunks() -> object:  # no Content-Length: the cap still holds
            yield b"csrf_token=" + token.encode() + b"&email=a%40b.fr&subject=s&text="
            for _ in range(100):
                yield b"x" * 4096

        chunked = await client.post("/faq/ask", data=chunks(),
                                    headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert chunked.status == 413
        assert await _tickets(db) == 0
        assert (await client.post("/faq/ask", data=base)).status == 200
        # Someone else uses the same address later with another name and organisation: nothing is overwritten.
        assert (await client.post("/faq/ask", data={**base, "name": "Usurpateur", "org_name": "Autre"})).status == 200
    async with db.transaction() as s:
        contact = (await s.scalars(select(Contact))).one()
        org = await s.get(Organization, contact.organization_id)
    assert contact.name == "Le maire Bcc: victime@example.org"  # one line: no header can be injected
    assert org is not None and org.name == "Commune d'Exemple"
    await services.db.dispose()
