"""The JSON API on both databases: per-user tokens, tickets, FAQ search, stats; OpenAPI matches the routes."""

from __future__ import annotations

import re

from sqlalchemy import select

from helpdesk.db.engine import Database
from helpdesk.db.tables import Outbox
from helpdesk.ports import FixedClock
from helpdesk.services import Services
from helpdesk.web import api_portal
from helpdesk.web.api import openapi_document
from tests.support.web import add_staff, csrf_of, login, mail, services_for, web_client


async def test_api_token_auth_and_ticket_operations(db: Database, clock: FixedClock) -> None:
    services = services_for(db.url, clock)
    admin, agent = await add_staff(services)
    n = (await services.intake.receive(mail("<api1@x>", subject="Schéma SCDL"))).ticket_number
    await services.intake.receive(mail("<api2@x>", sender_email="x@y.fr", subject="Autre sujet"))
    async with web_client(services) as client:
        token = await login(client, "agent@craig.fr")
        # A signed-in browser session is not an API credential (no cookie-driven API calls).
        assert (await client.get("/api/v1/tickets")).status == 401
        page = await client.post("/account/tokens", data={"csrf_token": token, "name": "script de suivi"})
        api_token = re.search(r'<code id="new-token">([^<]+)</code>', await page.text()).group(1)
        assert api_token.startswith("hdk_")
        bearer = {"Authorization": f"Bearer {api_token}"}
        assert (await client.get("/api/v1/tickets", headers={"Authorization": "Bearer hdk_faux"})).status == 401
        listing = await (await client.get("/api/v1/tickets?q=scdl", headers=bearer)).json()
        assert [t["number"] for t in listing["items"]] == [n] and listing["next_cursor"] is None
        one = await (await client.get(f"/api/v1/tickets/{n}", headers=bearer)).json()
        assert one["subject"] == "Schéma SCDL" and one["messages"][0]["direction"] == "inbound"
        resp = await client.post(f"/api/v1/tickets/{n}/reply", json={"text": "Voici le schéma."}, headers=bearer)
        assert resp.status == 201 and (await resp.json())["delivery_status"] == "queued"
        resp = await client.post(f"/api/v1/tickets/{n}/notes", json={"text": "Note API"}, headers=bearer)
        assert resp.status == 201
        resp = await client.patch(f"/api/v1/tickets/{n}", headers=bearer, json={
            "status": "pending", "priority": "high", "tags": ["scdl"], "assignee_id": agent})
        body = await resp.json()
        assert resp.status == 200 and (body["status"], body["priority"], body["tags"]) == ("pending", "high", ["scdl"])
        mine = await (await client.get("/api/v1/tickets?view=mine&status=all", headers=bearer)).json()
        assert [t["number"] for t in mine["items"]] == [n]
        bad = await client.patch(f"/api/v1/tickets/{n}", headers=bearer, json={"status": "nimporte"})
        assert bad.status == 400 and "error" in await bad.json()
        assert (await client.post(f"/api/v1/tickets/{n}/reply", data="pas du json", headers=bearer)).status == 400
        assert (await client.get("/api/v1/tickets/99999", headers=bearer)).status == 404
        assert (await client.get("/api/v1/tickets?limit=beaucoup", headers=bearer)).status == 400
        stats = await (await client.get("/api/v1/stats", headers=bearer)).json()
        assert stats["by_status"] == {"new": 1, "pending": 1} and "attention" in stats
        search = await client.get("/api/v1/kb/search?q=budget", headers=bearer)
        assert search.status == 200 and "results" in await search.json()
        # Revoking the token closes the door.
        account = await (await client.get("/account")).text()
        token_id = re.search(r"/account/tokens/(\d+)/revoke", account).group(1)
        await client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf_of(account)})
        assert (await client.get("/api/v1/tickets", headers=bearer)).status == 401
    async with db.transaction() as s:
        assert [r.channel for r in (await s.scalars(select(Outbox))).all()] == ["email"]
    assert admin != agent
    await services.db.dispose()


async def test_openapi_document_matches_the_routes(db: Database, clock: FixedClock) -> None:
    services = services_for(db.url, clock)
    async with web_client(services) as client:
        served = await (await client.get("/api/v1/openapi.json")).json()
        assert served == openapi_document(api_portal.API) and served["openapi"].startswith("3.")
        documented = {(method.upper(), path) for path, ops in served["paths"].items() for method in ops}
        routed = set()
        for route in client.app.router.routes():
            info = route.resource.get_info() if route.resource else {}
            path = info.get("path") or info.get("formatter") or ""
            if path.startswith("/api/") and route.method != "HEAD":
                routed.add((route.method, re.sub(r"\{(\w+):[^}]*\}", r"{\1}", path)))
        assert routed == documented
        assert len(routed) >= 8
        for path, ops in served["paths"].items():
            params = set(re.findall(r"\{(\w+)\}", path))
            for op in ops.values():
                assert params == {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
    await services.db.dispose()


async def test_patch_validates_every_field_before_writing_any(services: Services) -> None:
    _, agent = await add_staff(services)
    n = (await services.intake.receive(mail("<patch1@x>"))).ticket_number
    assert n is not None
    api_token = await services.auth.create_api_token(agent, "test")
    bearer = {"Authorization": f"Bearer {api_token}"}
    before = await services.tickets.events(n)
    async with web_client(services) as client:
        bad_team = await client.patch(f"/api/v1/tickets/{n}", headers=bearer,
                                      json={"priority": "urgent", "team_id": 424242})
        assert bad_team.status == 400 and "introuvable" in (await bad_team.json())["error"]
        text_assignee = await client.patch(f"/api/v1/tickets/{n}", headers=bearer,
                                           json={"priority": "urgent", "assignee_id": "abc"})
        assert text_assignee.status == 400
        closing = await client.patch(f"/api/v1/tickets/{n}", headers=bearer,
                                        json={"priority": "urgent", "status": "closed", "tags": ["x"]})
        assert closing.status == 200  # the control case: every field good
    after = await services.tickets.get_json(n)
    assert after["priority"] == "urgent" and after["status"] == "closed" and after["tags"] == ["x"]
    kinds = [e["kind"] for e in await services.tickets.events(n)][len(before):]
    assert kinds == ["ticket.priority_changed", "ticket.tags_changed", "status.changed"]  # only the good PATCH
