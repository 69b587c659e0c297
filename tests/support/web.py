"""Helpers for the web route tests: an app on the test database, signed-in clients, CSRF scraping."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html.parser import HTMLParser
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from helpdesk.app.intake.messages import InboundAttachment, InboundMessage
from helpdesk.bootstrap import build
from helpdesk.config import Settings
from helpdesk.domain.values import StaffRole
from helpdesk.ports import FixedClock
from helpdesk.services import Services
from helpdesk.web.app import make_app
from tests.support.builders import inbound

PASSWORD = "motdepasse-solide"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def services_for(db_url: str, clock: FixedClock) -> Services:
    settings = Settings(database_url=db_url, public_url="http://127.0.0.1", smtp_enabled=False)
    return build(settings, clock=clock)


@asynccontextmanager
async def web_client(services: Services, **options: Any) -> AsyncIterator[TestClient[Any, Any]]:
    """``options`` go to make_app (``secure_cookies``, ``max_body``, ``webhooks``)."""
    client: TestClient[Any, Any] = TestClient(TestServer(make_app(services, **options), host="127.0.0.1"))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


@asynccontextmanager
async def another_client(client: TestClient[Any, Any]) -> AsyncIterator[TestClient[Any, Any]]:
    """A second browser (own cookies) on the same running application."""
    other: TestClient[Any, Any] = TestClient(client.server)
    await other.start_server()
    try:
        yield other
    finally:
        await other.session.close()


def csrf_of(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


async def login(client: TestClient[Any, Any], email: str, password: str = PASSWORD) -> str:
    """Sign in through the form; returns the session's CSRF token."""
    page = await client.get("/login")
    token = csrf_of(await page.text())
    resp = await client.post("/login", data={"email": email, "password": password, "csrf_token": token,
                                             "next": "/queue"}, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    queue = await client.get("/queue")
    assert queue.status == 200
    return csrf_of(await queue.text())


async def add_staff(services: Services) -> tuple[int, int]:
    admin = await services.users.add("admin@craig.fr", StaffRole.ADMIN, PASSWORD, name="Alice Admin")
    agent = await services.users.add("agent@craig.fr", StaffRole.AGENT, PASSWORD, name="Bruno Agent")
    return admin, agent


def mail(ext: str, text: str = "Bonjour, comment publier notre budget en open data ?", **kw: Any) -> InboundMessage:
    return inbound(ext, text=text, **kw)



def attachment(name: str, ctype: str, data: bytes) -> InboundAttachment:
    return InboundAttachment(name, ctype, data)


class _ActiveContent(HTMLParser):
    """Collects what a browser would run: script elements, on* handlers, javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.found.append(f"script src={dict(attrs).get('src')}")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"{tag} {name}")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"{tag} {name}=javascript:")


def active_content(html: str) -> list[str]:
    parser = _ActiveContent()
    parser.feed(html)
    return parser.found
