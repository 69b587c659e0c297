"""The requester portal in a real headless Chromium, with mail through a real SMTP relay on 127.0.0.1.

A requester asks for a sign-in link, takes it from the mail the relay received, signs in, replies with an
attachment, and rates the answer once staff resolved the request; on a phone-sized window the pages do
not scroll sideways and every form field has a label. HELPDESK_SCREENSHOTS_DIR=docs refreshes docs/portal.png.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import re
import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select

from helpdesk.db.tables import Attachment, Message, Rating
from helpdesk.domain.values import StaffRole, TicketStatus
from tests.e2e.test_web_browser import CHROMEDRIVER, CHROMIUM, NO_BROWSER, _wait
from tests.support.web import mail

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()), reason=NO_BROWSER),
]

REQUESTER = "sylvie@mairie-murat.fr"
LINK = re.compile(r"(http://127\.0\.0\.1:\d+/espace/lien/[A-Za-z0-9_-]+)")


@dataclass
class Relay:
    """The SMTP relay the service sends through: it keeps every message it accepts."""

    received: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        msg = email.message_from_bytes(envelope.original_content or b"", policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        self.received.append(msg)
        return "250 OK"

    def texts_to(self, to: str) -> list[str]:
        out = []
        for msg in self.received:
            body = msg.get_body(("plain",))
            if to in str(msg["To"]) and body is not None:
                out.append(body.get_content())
        return out


@dataclass
class Live:
    url: str
    services: Any
    relay: Relay
    ticket: int
    staff_id: int
    loop: asyncio.AbstractEventLoop

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)


@pytest.fixture
def live(tmp_path: Path, sqlite_template: Path) -> Iterator[Live]:
    from aiohttp import web

    from helpdesk.bootstrap import build
    from helpdesk.config import Settings
    from helpdesk.web.app import make_app

    shutil.copy(sqlite_template, tmp_path / "portal.sqlite3")
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'portal.sqlite3'}"
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def run(coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=120)

    relay = Relay()

    async def start_relay() -> tuple[asyncio.Server, int]:
        here = asyncio.get_running_loop()
        server = await here.create_server(lambda: SMTP(relay, hostname="relay", loop=here), "127.0.0.1", 0)
        return server, server.sockets[0].getsockname()[1]

    smtp_server, smtp_port = run(start_relay())

    # The public URL (in the mails' links) must be known before build(): take a free port, then serve on it.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    services = build(Settings(database_url=db_url, public_url=f"http://127.0.0.1:{port}", smtp_enabled=False,
                              smtp_relay_host="127.0.0.1", smtp_relay_port=smtp_port, published_checks=False))

    async def seed() -> tuple[int, int]:
        staff = await services.users.add("claire@craig.fr", StaffRole.AGENT, "motdepasse-solide", name="Claire")
        result = await services.intake.receive(mail("<b1@murat>", sender=REQUESTER, subject="Budget primitif 2026"))
        await services.tickets.reply(result.ticket_number, staff, "Bonjour, pouvez-vous nous envoyer le fichier ?")
        while await services.outbox.run_once():  # the acknowledgement and the reply leave through the relay
            pass
        return result.ticket_number, staff

    ticket, staff_id = run(seed())

    async def serve() -> web.AppRunner:
        runner = web.AppRunner(make_app(services), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        return runner

    runner = run(serve())
    try:
        yield Live(f"http://127.0.0.1:{port}", services, relay, ticket, staff_id, loop)
    finally:
        run(runner.cleanup())
        smtp_server.close()
        run(services.db.dispose())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=390,844",
                 "--lang=fr-FR"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(tmp_path / "profile", ignore_errors=True)


def _fits_a_phone(driver: Any) -> None:
    """No sideways scrolling, and every visible field has a label (or an accessible name)."""
    assert driver.execute_script(
        "return document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1")
    unlabelled = driver.execute_script(
        "return Array.from(document.querySelectorAll('input:not([type=hidden]), textarea, select'))"
        ".filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.name)")
    assert unlabelled == []


def test_requester_signs_in_from_the_mail_replies_with_a_file_and_rates(live: Live, browser: Any,
                                                                       tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    d = browser
    # The staff reply already carried a link to the request; the requester asks for a fresh one anyway.
    assert any("/espace/lien/" in text for text in live.relay.texts_to(REQUESTER))
    before = len(live.relay.texts_to(REQUESTER))
    d.get(live.url + "/espace")
    _wait(d, ec.url_contains("/espace/connexion"))
    _fits_a_phone(d)
    d.find_element(By.ID, "signin-email").send_keys(REQUESTER)
    d.find_element(By.CSS_SELECTOR, "form[action='/espace/connexion'] button[type=submit]").click()
    _wait(d, ec.text_to_be_present_in_element((By.CSS_SELECTOR, ".notice"), "lien de connexion"))

    async def sign_in_mail() -> str:
        while await live.services.outbox.run_once():
            pass
        texts = [t for t in live.relay.texts_to(REQUESTER)[before:] if "Me connecter" in t]
        assert len(texts) == 1, texts
        match = LINK.search(texts[0])
        assert match is not None
        return match.group(1)

    link = live.run(sign_in_mail())
    d.get(link)
    _wait(d, ec.presence_of_element_located((By.ID, "signin-button")))
    d.find_element(By.ID, "signin-button").click()
    _wait(d, ec.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Mes demandes"))
    _fits_a_phone(d)
    d.find_element(By.PARTIAL_LINK_TEXT, "Budget primitif 2026").click()
    _wait(d, ec.url_contains(f"/espace/demandes/{live.ticket}"))
    assert "pouvez-vous nous envoyer le fichier" in d.page_source
    _fits_a_phone(d)

    upload = tmp_path / "budget-2026.csv"
    upload.write_text("code_insee;nom;montant\n15138;Murat;1200000\n", encoding="utf-8")
    d.find_element(By.ID, "reply-text").send_keys("Voici le fichier demandé.")
    d.find_element(By.ID, "reply-files").send_keys(str(upload))
    d.find_element(By.CSS_SELECTOR, "form[action$='/repondre'] button[type=submit]").click()
    _wait(d, ec.text_to_be_present_in_element((By.CSS_SELECTOR, ".flash"), "Votre message a bien été envoyé"))
    assert "budget-2026.csv" in d.page_source

    async def stored() -> tuple[str, list[str]]:
        async with live.services.db.transaction() as s:
            msg = (await s.scalars(select(Message).where(Message.channel == "portal"))).one()
            names = (await s.scalars(select(Attachment.filename).where(Attachment.message_id == msg.id))).all()
            return msg.visible_text, list(names)

    assert live.run(stored()) == ("Voici le fichier demandé.", ["budget-2026.csv"])

    live.run(live.services.tickets.set_status(live.ticket, TicketStatus.RESOLVED, live.staff_id))
    d.refresh()
    _wait(d, ec.presence_of_element_located((By.CSS_SELECTOR, "input[name=note][value='5']")))
    d.find_element(By.CSS_SELECTOR, "input[name=note][value='5']").click()
    d.find_element(By.ID, "rate-comment").send_keys("Réponse rapide, merci.")
    d.find_element(By.CSS_SELECTOR, "form[action$='/noter'] button[type=submit]").click()
    _wait(d, ec.text_to_be_present_in_element((By.CSS_SELECTOR, ".flash"), "Merci pour votre avis"))
    assert "Votre note : 5 sur 5" in d.page_source
    _fits_a_phone(d)
    if os.environ.get("HELPDESK_SCREENSHOTS_DIR"):  # docs/portal.png: the request on a phone
        height = d.execute_script("return document.body.scrollHeight")
        d.set_window_size(390, max(844, min(int(height) + 120, 2400)))
        assert d.save_screenshot(str(Path(os.environ["HELPDESK_SCREENSHOTS_DIR"]) / "portal.png"))

    async def rating() -> tuple[int, str, str | None]:
        async with live.services.db.transaction() as s:
            row = (await s.scalars(select(Rating))).one()
            return row.score, row.channel, row.comment

    assert live.run(rating()) == (5, "portal", "Réponse rapide, merci.")
