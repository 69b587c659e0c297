"""Hostile input at the web edge and the API, on both databases: a 4xx with a French message, never a 500."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from helpdesk.db.engine import Database
from helpdesk.db.tables import Message, Ticket
from helpdesk.services import Services
from helpdesk.web.validation import API_BODY_MAX, FORM_BODY_MAX, TEXT_MAX
from tests.support.web import add_staff, login, mail, web_client

HUGE = str(2**63)
DIGITS_5000 = "1" * 5000


async def _bearer(services: Any, staff_id: int) -> dict[str, str]:
    from helpdesk.app.staff.sessions import AuthService

    token = await AuthService(services.db, services.clock, services.users).create_api_token(staff_id, "t")
    return {"Authorization": f"Bearer {token}"}


async def _refused(resp: Any, status: int = 400) -> str:
    assert resp.status == status, (resp.status, await resp.text())
    body = await resp.json()
    assert set(body) == {"error"} and body["error"], body
    return str(body["error"])


async def test_api_refuses_hostile_input_in_french(db: Database, services: Services) -> None:
    _, agent = await add_staff(services)
    n = (await services.intake.receive(mail("<v1@x>"))).ticket_number
    async with web_client(services) as client:
        bearer = await _bearer(services, agent)
        # Ids beyond the database's integer range: 404, in the path; 400 in query filters.
        await _refused(await client.get(f"/api/v1/tickets/{HUGE}", headers=bearer), 404)
        await _refused(await client.patch(f"/api/v1/tickets/{DIGITS_5000}", json={}, headers=bearer), 404)
        for query in (f"team={HUGE}", f"org={DIGITS_5000}", "limit=²", f"limit={DIGITS_5000}", "limit=0",
                      f"assignee={HUGE}", "team=-1", "q=a%00b", "cursor=" + "A" * 50):
            await _refused(await client.get(f"/api/v1/tickets?{query}", headers=bearer))
        assert (await client.get(f"/api/v1/tickets?q=%23{HUGE}", headers=bearer)).status == 200  # no such number
        assert (await client.get("/api/v1/tickets?q=%23²", headers=bearer)).status == 200
        await _refused(await client.get("/api/v1/kb/search?q=x&limit=²", headers=bearer))
        # Strict types and bounds in PATCH bodies.
        msg = await _refused(await client.patch(f"/api/v1/tickets/{n}", json={"assignee_id": True}, headers=bearer))
        assert "assignee_id" in msg and "entier" in msg
        await _refused(await client.patch(f"/api/v1/tickets/{n}", json={"assignee_id": 2**63}, headers=bearer))
        await _refused(await client.patch(f"/api/v1/tickets/{n}", json={"team_id": 2**64}, headers=bearer))
        await _refused(await client.patch(f"/api/v1/tickets/{n}", json={"tags": ["t"] * 5000}, headers=bearer))
        await _refused(await client.patch(f"/api/v1/tickets/{n}", json={"tags": ["x" * 500]}, headers=bearer))
        await _refused(await client.patch(f"/api/v1/tickets/{n}", json={"status": None}, headers=bearer))
        await _refused(await client.patch(f"/api/v1/tickets/{n}", data=b'{"assignee_id": ' + DIGITS_5000.encode()
                                          + b"}", headers=bearer))
        # Notes and replies: null, NUL, lone surrogates, too long, too deep, too large.
        notes = f"/api/v1/tickets/{n}/notes"
        assert "chaîne" in await _refused(await client.post(notes, json={"text": None}, headers=bearer))
        assert "interdit" in await _refused(await client.post(notes, data=b'{"text": "a\\u0000b"}', headers=bearer))
        await _refused(await client.post(notes, data=b'{"text": "\\ud800"}', headers=bearer))
        await _refused(await client.post(notes, data=b'{"text": "\xed\xa0\x80"}', headers=bearer))
        await _refused(await client.post(notes, json={"text": "x" * (TEXT_MAX + 1)}, headers=bearer))
        deep = b"[" * 100_000 + b"]" * 100_000
        assert "imbriqué" in await _refused(await client.post(notes, data=deep, headers=bearer))
        big = b'{"text": "' + b"x" * API_BODY_MAX + b'"}'
        await _refused(await client.post(notes, data=big, headers=bearer), 413)
        await _refused(await client.post(f"/api/v1/tickets/{n}/reply", json={"text": 3}, headers=bearer))
        ok = await client.patch(f"/api/v1/tickets/{n}", json={"assignee_id": agent, "tags": ["scdl"]}, headers=bearer)
        assert ok.status == 200 and (await ok.json())["tags"] == ["scdl"]
    async with db.transaction() as s:
        t = (await s.scalars(select(Ticket).where(Ticket.number == n))).one()
        assert t.assignee_id == agent
        texts = (await s.scalars(select(Message.visible_text).where(Message.ticket_id == t.id))).all()
        assert "None" not in texts and len(texts) == 1  # nothing stored from the refused notes


async def _post_form(client: TestClient[Any, Any], path: str, data: dict[str, str] | bytes) -> Any:
    return await client.post(path, data=data, allow_redirects=False)


async def test_web_forms_and_paths_refuse_hostile_input(services: Services) -> None:
    await add_staff(services)
    n = (await services.intake.receive(mail("<v2@x>"))).ticket_number
    async with web_client(services) as client:
        csrf = await login(client, "agent@craig.fr")
        assert (await client.get(f"/tickets/{HUGE}")).status == 404
        assert (await client.get(f"/tickets/{n}/attachments/{DIGITS_5000}")).status == 404
        assert (await client.post(f"/quarantine/{HUGE}/discard", data={"csrf_token": csrf})).status == 404
        for query in ("team=²", f"org={HUGE}", "q=%00", f"assignee={DIGITS_5000}"):
            resp = await client.get(f"/queue?{query}")
            assert resp.status == 400, query
        assert (await client.get(f"/tickets/{n}/activity?after=²")).status == 200
        assert (await client.get(f"/queue?q=%23{HUGE}")).status == 200
        base = {"csrf_token": csrf}
        for data in ({**base, "text": "a\x00b"}, {**base, "text": "x" * (TEXT_MAX + 1)},
                     {**base, "text": "ok", "kind": "note\x00"}):
            assert (await _post_form(client, f"/tickets/{n}/reply", data)).status == 400
        # Not an id: refused, nothing written (TicketService.update validates every field first), no 500.
        for data in ({**base, "assignee": "²"}, {**base, "team": HUGE}):
            assert (await _post_form(client, f"/tickets/{n}/update", data)).status == 400
        assert (await _post_form(client, f"/tickets/{n}/update", {**base, "tags": ",".join("t" * 60)})).status == 400
        assert (await _post_form(client, f"/tickets/{n}/merge", {**base, "target": "²"})).status == 400
        big = {**base, "text": "x" * FORM_BODY_MAX}
        assert (await _post_form(client, f"/tickets/{n}/reply", big)).status == 413
        resp = await client.post(f"/tickets/{n}/reply", data=b"csrf_token=" + csrf.encode() + b"&text=%ff%fe",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"},
                                 allow_redirects=False)
        assert resp.status < 500


async def test_router_refusals_are_french_and_json_on_the_api(services: Services) -> None:
    _, agent = await add_staff(services)
    async with web_client(services) as client:
        bearer = await _bearer(services, agent)
        assert "introuvable" in await _refused(await client.get("/api/v1/tickets/abc", headers=bearer), 404)
        assert "méthode" in await _refused(await client.delete("/api/v1/stats", headers=bearer), 405)
        await login(client, "agent@craig.fr")
        page = await client.get("/tickets/abc")
        assert page.status == 404 and await page.text() == "Page introuvable."
