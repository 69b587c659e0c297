"""Web edge security on both databases: no anonymous access, CSRF, inert payloads, roles, headers, throttling."""

from __future__ import annotations

import re

from sqlalchemy import select

from helpdesk.db.engine import Database
from helpdesk.db.tables import Event, Quarantine
from helpdesk.ports import FixedClock
from helpdesk.services import Services
from helpdesk.web import auth
from tests.support.web import (
    active_content,
    add_staff,
    another_client,
    attachment,
    csrf_of,
    login,
    mail,
    web_client,
)

# /hooks/{name}: channel webhooks authenticate themselves (secret token), see helpdesk/web/webhooks.py.
PUBLIC = {"/hooks/{name}", "/", "/healthz", "/readyz", "/metrics", "/login", "/api/v1/openapi.json", "/faq",
          "/faq/search.json", "/faq/ask", "/faq/{id}", "/satisfaction/{ref}", "/favicon.ico"}

# The requester portal signs in on its own pages (helpdesk/web/portal_auth.py); these are open to anyone.
PORTAL_PUBLIC = {("GET", "/espace/connexion"), ("POST", "/espace/connexion"), ("GET", "/espace/lien/{token}"),
                 ("POST", "/espace/lien/{token}"), ("POST", "/api/v1/portal/signin"),
                 ("POST", "/api/v1/portal/session")}


def _value(m: re.Match[str]) -> str:
    name, pattern = m.group(1), m.group(2) or ""
    if name == "number":
        return "1000"
    return "entree-x" if "a-z" in pattern else "1"


def concrete(path: str) -> str:
    """A real URL for a route pattern (a ticket number, an FAQ id, a numeric id)."""
    return re.sub(r"\{(\w+)(:[^}]*)?\}", _value, path)


def canonical(path: str) -> str:
    return re.sub(r"\{(\w+):[^}]*\}", r"{\1}", path)


async def test_every_staff_and_api_route_refuses_anonymous_access(services: Services) -> None:
    async with web_client(services) as client:
        checked = 0
        public_seen = set()
        for route in client.app.router.routes():
            info = route.resource.get_info() if route.resource else {}
            path = info.get("path") or info.get("formatter")
            if not path or route.method == "HEAD" or path.startswith("/static"):
                continue
            if canonical(path) in PUBLIC:
                assert auth.is_public(canonical(path)) or path.startswith("/hooks/") or "{" in path
                public_seen.add(canonical(path))
                continue
            if (route.method, canonical(path)) in PORTAL_PUBLIC:
                continue
            resp = await client.request(route.method, concrete(path), allow_redirects=False)
            if path.startswith("/api/"):
                assert resp.status == 401, (route.method, path)
                assert resp.headers["WWW-Authenticate"].startswith("Bearer")
            else:
                assert resp.status == 303, (route.method, path, resp.status)
                sign_in = "/espace/connexion" if auth.is_portal(path) else "/login"
                assert resp.headers["Location"].startswith(sign_in), path
            checked += 1
        assert checked >= 35
        # Nothing is public by accident: the open routes are exactly the listed ones.
        assert public_seen == PUBLIC


async def test_csrf_is_enforced_on_state_changing_requests(services: Services) -> None:
    await add_staff(services)
    res = await services.intake.receive(mail("<c1@x>"))
    n = res.ticket_number
    async with web_client(services) as client:
        # Login itself needs the anonymous token (no login CSRF).
        resp = await client.post("/login", data={"email": "agent@craig.fr", "password": "x"}, allow_redirects=False)
        assert resp.status == 403
        token = await login(client, "agent@craig.fr")
        url = f"/tickets/{n}/reply"
        for data in ({"text": "Bonjour"}, {"text": "Bonjour", "csrf_token": "faux"}):
            resp = await client.post(url, data=data, allow_redirects=False)
            assert resp.status == 403
        resp = await client.post(url, data={"text": "Bonjour", "csrf_token": token}, allow_redirects=False,
                                 headers={"Origin": "https://evil.example"})
        assert resp.status == 403
        assert (await services.tickets.get_json(n or 0))["messages"][-1]["direction"] == "inbound"
        resp = await client.post(url, data={"text": "Bonjour", "csrf_token": token, "seen_message_id": "999999"},
                                 allow_redirects=False)
        assert resp.status == 303
        assert (await services.tickets.get_json(n or 0))["messages"][-1]["direction"] == "outbound"
        # Logging out also needs the token.
        assert (await client.post("/logout", data={}, allow_redirects=False)).status == 403


PAYLOAD_TEXT = 'Bonjour <script>alert("x")</script><img src=x onerror="alert(1)"> <b onmouseover=alert(2)>b</b>'
PAYLOAD_HTML = ('<p onclick="steal()">Bonjour</p><script>alert(3)</script><img src="x" onerror="alert(4)">'
                '<a href="javascript:alert(5)">lien</a><iframe src="https://evil.example"></iframe>')


async def test_script_and_event_handler_payloads_are_inert(services: Services) -> None:
    await add_staff(services)
    res = await services.intake.receive(mail(
        "<xss@x>", text=PAYLOAD_TEXT, subject='<script>alert("sujet")</script>', html_sanitised=PAYLOAD_HTML,
        attachments=(attachment("page.html", "text/html", b"<script>alert(6)</script>"),),
    ))
    n = res.ticket_number
    async with web_client(services) as client:
        await login(client, "agent@craig.fr")
        for url in ("/queue", f"/tickets/{n}"):
            resp = await client.get(url)
            html = await resp.text()
            # Shown as text; the only thing a browser would run is our own script file.
            assert "&lt;script&gt;alert" in html
            found = active_content(html)
            assert len(found) == 1 and re.fullmatch(r"script src=/static/app\.js\?v=\w+", found[0]), found
            csp = resp.headers["Content-Security-Policy"]
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
            assert resp.headers["X-Content-Type-Options"] == "nosniff"
        page = await (await client.get(f"/tickets/{n}")).text()
        msg_id = re.search(rf"/tickets/{n}/messages/(\d+)/html", page).group(1)
        att_id = re.search(rf"/tickets/{n}/attachments/(\d+)", page).group(1)
        view = await client.get(f"/tickets/{n}/messages/{msg_id}/html")
        body = await view.text()
        assert active_content(body) == [] and "<iframe" not in body and "<script" not in body
        assert "Bonjour" in body
        assert "sandbox" in view.headers["Content-Security-Policy"]
        assert "script-src" not in view.headers["Content-Security-Policy"]  # default-src 'none' covers scripts
        download = await client.get(f"/tickets/{n}/attachments/{att_id}")
        assert download.headers["Content-Type"] == "application/octet-stream"
        assert download.headers["Content-Disposition"].startswith("attachment;")
        assert await download.read() == b"<script>alert(6)</script>"
        # An attachment of another ticket is not reachable through this one.
        other = await services.intake.receive(mail("<o@x>", sender_email="autre@x.fr",
                                                   attachments=(attachment("a.txt", "text/plain", b"secret"),)))
        page = await (await client.get(f"/tickets/{other.ticket_number}")).text()
        other_att = re.search(r"/attachments/(\d+)", page).group(1)
        assert (await client.get(f"/tickets/{n}/attachments/{other_att}")).status == 404


async def test_an_agent_cannot_do_admin_actions(db: Database, clock: FixedClock, services: Services) -> None:
    await add_staff(services)
    from helpdesk.app.quarantine.service import QuarantineService

    qid = await QuarantineService(db, clock).hold(channel="email", raw=b"From: x\r\n\r\nbroken", reason="unparsable",
                                                  sender="x@y.fr")
    admin_posts = [("/admin/faq/new", {"title": "T", "body": "B", "status": "published"}),
                   (f"/quarantine/{qid}/discard", {}), ("/admin/canned", {"title": "T", "body": "B"})]
    async with web_client(services) as agent:
        token = await login(agent, "agent@craig.fr")
        for url in ("/admin/faq", "/admin/faq/new", "/admin/canned", f"/quarantine/{qid}/raw"):
            assert (await agent.get(url, allow_redirects=False)).status == 403, url
        for url, data in admin_posts:
            assert (await agent.post(url, data={**data, "csrf_token": token}, allow_redirects=False)).status == 403
        assert "Nouvelle entrée" not in await (await agent.get("/queue")).text()
    async with db.transaction() as s:
        assert (await s.get(Quarantine, qid)).status == "held"
    async with web_client(services) as admin:
        token = await login(admin, "admin@craig.fr")
        for url, data in admin_posts:
            resp = await admin.post(url, data={**data, "csrf_token": token}, allow_redirects=False)
            assert resp.status == 303, (url, await resp.text())
        assert (await admin.get("/quarantine")).status == 200
    async with db.transaction() as s:
        assert (await s.get(Quarantine, qid)).status == "discarded"
        ev = (await s.scalars(select(Event).where(Event.kind == "quarantine.discarded"))).one()
        assert ev.actor_kind == "staff" and ev.data["quarantine_id"] == qid


async def test_login_throttling_session_cookie_flags_and_logout(clock: FixedClock, services: Services) -> None:
    await add_staff(services)
    async with web_client(services) as client:
        page = await client.get("/login")
        token = csrf_of(await page.text())
        for _ in range(5):
            resp = await client.post("/login", data={"email": "agent@craig.fr", "password": "mauvais-mot",
                                                     "csrf_token": token})
            assert resp.status == 401
            assert "incorrect" in await resp.text()
        resp = await client.post("/login", data={"email": "agent@craig.fr", "password": "motdepasse-solide",
                                                 "csrf_token": token})
        assert resp.status == 429 and "Retry-After" in resp.headers
        clock.advance(minutes=16)
        resp = await client.post("/login", data={"email": "agent@craig.fr", "password": "motdepasse-solide",
                                                 "csrf_token": token, "next": "//evil.example/"},
                                 allow_redirects=False)
        assert resp.status == 303 and resp.headers["Location"] == "/queue"
        cookie = resp.headers["Set-Cookie"]
        assert "hd_session=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        queue = await client.get("/queue")
        assert queue.status == 200 and queue.headers["Cache-Control"] == "no-store"
        assert (await client.post("/logout", data={"csrf_token": csrf_of(await queue.text())},
                                  allow_redirects=False)).status == 303
        assert (await client.get("/queue", allow_redirects=False)).status == 303


async def test_secure_cookie_flag_when_served_over_https(db: Database, clock: FixedClock) -> None:
    from helpdesk.bootstrap import build
    from helpdesk.config import Settings

    services = build(Settings(database_url=db.url, public_url="https://assistance.craig.fr"), clock=clock)
    await add_staff(services)
    async with web_client(services, secure_cookies=True) as client:  # what bootstrap derives from https
        page = await client.get("/login")
        assert "Secure" in page.headers["Set-Cookie"]  # even the anonymous CSRF cookie
        token = csrf_of(await page.text())
        # The test client speaks plain HTTP and so holds back Secure cookies: send it by hand.
        resp = await client.post("/login", data={"email": "agent@craig.fr", "password": "motdepasse-solide",
                                                 "csrf_token": token}, allow_redirects=False,
                                 headers={"Cookie": f"hd_csrf={token}"})
        assert resp.status == 303
        cookie = resp.headers.getall("Set-Cookie")
        session = next(c for c in cookie if c.startswith("__Host-hd_session="))
        assert "Secure" in session and "HttpOnly" in session and "Path=/" in session
    await services.db.dispose()


async def test_password_change_checks_the_old_one_and_ends_other_sessions(services: Services) -> None:
    await add_staff(services)
    async with web_client(services) as client, another_client(client) as elsewhere:
        await login(elsewhere, "agent@craig.fr")
        token = await login(client, "agent@craig.fr")
        new = "nouveau-mot-de-passe"
        wrong = await client.post("/account/password", data={"csrf_token": token, "old": "pas-le-bon-mot",
                                                              "new": new, "again": new})
        assert wrong.status == 400 and "incorrect" in await wrong.text()
        differ = await client.post("/account/password", data={"csrf_token": token, "old": "motdepasse-solide",
                                                               "new": "nouveau-mot-de-passe", "again": "autre-chose-1"})
        assert differ.status == 400 and "diffèrent" in await differ.text()
        short = await client.post("/account/password", data={"csrf_token": token, "old": "motdepasse-solide",
                                                              "new": "court", "again": "court"})
        assert short.status == 400
        ok = await client.post("/account/password", data={"csrf_token": token, "old": "motdepasse-solide",
                                                           "new": new, "again": new}, allow_redirects=False)
        assert ok.status == 303
        assert (await client.get("/queue", allow_redirects=False)).status == 200  # this session stays
        assert (await elsewhere.get("/queue", allow_redirects=False)).status == 303  # the other one is closed
    assert await services.users.authenticate("agent@craig.fr", "nouveau-mot-de-passe") is not None
    assert await services.users.authenticate("agent@craig.fr", "motdepasse-solide") is None
