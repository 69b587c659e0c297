"""The staff UI and the public FAQ in a real headless Chromium (Debian's chromium + chromedriver, Selenium).

Covers: log in, the menu on one line at 1,400 px, find a ticket in the queue, insert a FAQ suggestion,
send a reply and see it queued for the channel, the reports page, search the public FAQ with instant
results. Skipped only where no browser is installed (`.ci/install-browser` installs it). Set
HELPDESK_SCREENSHOTS_DIR=docs to refresh docs/queue.png, docs/ticket.png (with a file-check note),
docs/reports.png and docs/faq.png.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from helpdesk.db.tables import Outbox
from tests.support.browser_seed import seed_demo

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
NO_BROWSER = (
    "browser tests skipped: no headless Chromium here (/usr/bin/chromium and /usr/bin/chromedriver); "
    "install them with .ci/install-browser (apt-get install chromium chromium-driver)"
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()), reason=NO_BROWSER),
]


@dataclass
class LiveServer:
    url: str
    loop: asyncio.AbstractEventLoop
    services: Any
    ticket: int

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)


@pytest.fixture
def live(tmp_path: Path, sqlite_template: Path) -> Iterator[LiveServer]:
    """The real application on 127.0.0.1 (ephemeral port), served by its own event loop in a thread."""
    from aiohttp import web

    from helpdesk.bootstrap import build
    from helpdesk.config import Settings
    from helpdesk.web.app import make_app

    shutil.copy(sqlite_template, tmp_path / "browser.sqlite3")
    url = f"sqlite+aiosqlite:///{tmp_path / 'browser.sqlite3'}"
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def run(coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=120)

    services = build(Settings(database_url=url, public_url="http://127.0.0.1", smtp_enabled=False))
    ticket = run(seed_demo(services))

    async def start() -> tuple[web.AppRunner, int]:
        runner = web.AppRunner(make_app(services), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return runner, port

    runner, port = run(start())
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", loop, services, ticket)
    finally:
        run(runner.cleanup())
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
                 "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1440,1000",
                 "--lang=fr-FR"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(tmp_path / "profile", ignore_errors=True)


def _wait(driver: Any, condition: Any, timeout: float = 10) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)


def _shot(driver: Any, name: str, tmp_path: Path) -> None:
    target = Path(os.environ.get("HELPDESK_SCREENSHOTS_DIR") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1440, max(900, min(int(height) + 160, 1800)))
    driver.execute_script("window.scrollTo(0, 0)")
    assert driver.save_screenshot(str(target / name))


def test_staff_login_queue_suggestion_reply_and_public_faq(live: LiveServer, browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    d = browser
    d.get(live.url + "/queue")
    _wait(d, ec.url_contains("/login"))  # anonymous: sent to the login form
    d.find_element(By.NAME, "email").send_keys("claire.martin@craig.fr")
    d.find_element(By.NAME, "password").send_keys("motdepasse-solide")
    d.find_element(By.CSS_SELECTOR, "form[action='/login'] button[type=submit]").click()
    # Wait for the queue page itself: the address can change before the login page's document is replaced.
    _wait(d, ec.url_contains("/queue"))
    _wait(d, ec.text_to_be_present_in_element((By.TAG_NAME, "h1"), "File des tickets"))
    assert "File des tickets" in d.find_element(By.TAG_NAME, "h1").text
    # The admin's menu fits on one line at 1,400 px: every item on the row of the first.
    d.set_window_size(1400, 900)
    tops = d.execute_script(
        "return Array.from(document.querySelectorAll('header.top nav > *, header.top .me'))"
        ".map(e => Math.round(e.getBoundingClientRect().top))")
    assert len(tops) >= 8 and max(tops) - min(tops) <= 4, tops
    _shot(d, "queue.png", tmp_path)

    # Find the ticket with the text search.
    search = d.find_element(By.NAME, "q")
    search.send_keys("budgets primitifs")  # full-text: plurals find the singular
    search.submit()
    _wait(d, ec.url_contains("q=budgets"))
    _wait(d, lambda drv: len(drv.find_elements(By.CSS_SELECTOR, "table.queue tbody tr")) == 1)  # results shown
    rows = d.find_elements(By.CSS_SELECTOR, "table.queue tbody tr")
    assert len(rows) == 1 and f"#{live.ticket}" in rows[0].text
    assert {m.text.lower() for m in rows[0].find_elements(By.TAG_NAME, "mark")} >= {"budget", "primitif"}
    rows[0].find_element(By.CSS_SELECTOR, "a.subject").click()
    _wait(d, ec.url_contains(f"/tickets/{live.ticket}"))
    _wait(d, ec.presence_of_element_located((By.CSS_SELECTOR, ".suggestions li")))
    notes = d.find_elements(By.CSS_SELECTOR, ".thread li.msg-note")
    assert any("budget-primitif-2026.csv" in n.text for n in notes)  # the file-check note

    # One click inserts the first FAQ suggestion into the reply box.
    suggestion = d.find_element(By.CSS_SELECTOR, ".suggestions li")
    d.find_element(By.CSS_SELECTOR, "[data-insert='sugg-1']").click()
    box = d.find_element(By.ID, "reply-text")
    inserted = box.get_property("value")
    assert len(inserted) > 80, inserted
    assert suggestion.find_element(By.CLASS_NAME, "snippet").text[:30].split()[0] in inserted
    box.send_keys("\n\nBien cordialement,\nClaire")
    _shot(d, "ticket.png", tmp_path)

    d.find_element(By.CSS_SELECTOR, "form.reply button[value='reply']").click()
    _wait(d, ec.text_to_be_present_in_element((By.CSS_SELECTOR, ".flash"), "Réponse mise en file d'envoi."))
    last = d.find_elements(By.CSS_SELECTOR, ".thread li.msg")[-1]
    assert "msg-outbound" in last.get_attribute("class")
    assert "en file d'envoi" in last.text and "Courriel" in last.text and "Bien cordialement" in last.text

    async def queued() -> list[tuple[str, str]]:
        async with live.services.db.transaction() as s:
            return [(o.channel, o.payload["to"]) for o in (await s.scalars(select(Outbox))).all()
                    if "Bien cordialement" in str(o.payload.get("text", ""))]

    assert live.run(queued()) == [("email", "sylvie.roux@mairie-riom.fr")]

    # The reports: key figures first, charts drawn (full width), French only.
    d.get(live.url + "/reports")
    _wait(d, ec.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Rapports"))
    _wait(d, lambda drv: drv.execute_script(
        "return Array.from(document.images).filter(i => i.closest('figure.chart'))"
        ".every(i => i.complete && i.naturalWidth > 0)"))
    main_width = d.execute_script("return document.querySelector('main').clientWidth")
    chart_width = d.execute_script("return document.querySelector('figure.chart img').clientWidth")
    assert chart_width >= main_width * 0.9, (chart_width, main_width)
    assert "No data" not in d.page_source and "Tickets par mois et par canal" in d.page_source
    _shot(d, "reports.png", tmp_path)

    # Accounts and teams, from the Administration menu.
    d.find_element(By.XPATH, "//details[contains(@class, 'menu')]/summary[normalize-space()='Administration']").click()
    d.find_element(By.CSS_SELECTOR, "details.menu a[href='/admin/staff']").click()
    _wait(d, ec.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Comptes et équipes"))
    assert "thomas.bernard@craig.fr" in d.find_element(By.CSS_SELECTOR, "table.queue").text
    assert d.save_screenshot(str(tmp_path / "staff.png"))

    # No script was refused by our own CSP along the way.
    csp_errors = [e for e in d.get_log("browser") if "Content Security Policy" in e.get("message", "")]
    assert csp_errors == []

    # The public FAQ: instant results while typing, then an entry page.
    d.delete_all_cookies()
    d.get(live.url + "/faq")
    d.find_element(By.ID, "faq-q").send_keys("publier le budget en open data")
    _wait(d, lambda drv: drv.find_elements(By.CSS_SELECTOR, "#faq-results li a"), timeout=20)
    _shot(d, "faq.png", tmp_path)
    first = d.find_element(By.CSS_SELECTOR, "#faq-results li a")
    title = first.text
    first.click()
    _wait(d, ec.url_contains("/faq/"))
    _wait(d, ec.text_to_be_present_in_element((By.TAG_NAME, "h1"), title))
    assert d.find_element(By.TAG_NAME, "h1").text == title
    assert "Vous n'avez pas trouvé votre réponse" in d.page_source



class _RefusingRelay:
    """The relay refuses the recipient (550) until told otherwise."""

    def __init__(self) -> None:
        self.refuse = True
        self.sent: list[str] = []

    async def send(self, payload: Any) -> None:
        from helpdesk.app.outbox import SendError

        if self.refuse:
            raise SendError(f"recipient refused: 550 5.1.1 <{payload['to']}>: Recipient address rejected",
                            permanent=True)
        self.sent.append(str(payload["to"]))


def test_failed_reply_shows_its_reason_and_can_be_sent_again(live: LiveServer, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    relay = _RefusingRelay()
    live.services.outbox.senders["email"] = relay
    relay.refuse = False  # the seed's own mail (acknowledgements, file-check summaries) leaves first
    for _ in range(10):
        if not live.run(live.services.outbox.run_once()):
            break
    relay.sent.clear()
    relay.refuse = True
    d = browser
    d.get(live.url + "/login")
    d.find_element(By.NAME, "email").send_keys("thomas.bernard@craig.fr")
    d.find_element(By.NAME, "password").send_keys("motdepasse-solide")
    d.find_element(By.CSS_SELECTOR, "form[action='/login'] button[type=submit]").click()
    _wait(d, ec.text_to_be_present_in_element((By.TAG_NAME, "h1"), "File des tickets"))
    d.get(f"{live.url}/tickets/{live.ticket}")
    _wait(d, ec.presence_of_element_located((By.ID, "reply-text")))
    d.find_element(By.ID, "reply-text").send_keys("Le format SCDL budget convient ; déposez-le sur le catalogue.")
    d.find_element(By.CSS_SELECTOR, "form.reply button[value='reply']").click()
    _wait(d, ec.text_to_be_present_in_element((By.CSS_SELECTOR, ".flash"), "Réponse mise en file d'envoi."))

    assert live.run(live.services.outbox.run_once()) == 1  # the relay refuses: the reply is dead
    d.get(f"{live.url}/tickets/{live.ticket}")
    _wait(d, ec.presence_of_element_located((By.CSS_SELECTOR, ".delivery-problem")))
    problem = d.find_element(By.CSS_SELECTOR, ".delivery-problem")
    assert "Échec de l'envoi" in problem.text
    assert "le serveur de messagerie a refusé l'adresse du destinataire" in problem.text and "550 5.1.1" in problem.text
    assert "réponse non partie" in d.find_element(By.TAG_NAME, "aside").text  # and in the SLA panel

    relay.refuse = False
    problem.find_element(By.XPATH, ".//button[normalize-space()='Renvoyer']").click()
    _wait(d, ec.text_to_be_present_in_element((By.CSS_SELECTOR, ".flash"), "Réponse remise en file d'envoi."))
    assert not d.find_elements(By.CSS_SELECTOR, ".delivery-problem")
    assert live.run(live.services.outbox.run_once()) == 1
    assert relay.sent == ["sylvie.roux@mairie-riom.fr"]
    d.get(f"{live.url}/tickets/{live.ticket}")
    _wait(d, ec.presence_of_element_located((By.CSS_SELECTOR, ".thread li.msg-outbound .delivery-sent")))


def test_inserted_faq_answer_is_plain_text_in_an_email_reply_and_proposes_the_question(
        live: LiveServer, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    from helpdesk.db.tables import FaqProposal, KbEntry
    from knowledge_base import to_plain_text

    d = browser
    d.get(live.url + "/login")
    d.find_element(By.NAME, "email").send_keys("thomas.bernard@craig.fr")
    d.find_element(By.NAME, "password").send_keys("motdepasse-solide")
    d.find_element(By.CSS_SELECTOR, "form[action='/login'] button[type=submit]").click()
    _wait(d, ec.url_contains("/queue"))
    d.get(f"{live.url}/tickets/{live.ticket}")
    _wait(d, ec.presence_of_element_located((By.CSS_SELECTOR, ".suggestions li")))
    labels = [e.text for e in d.find_elements(By.CSS_SELECTOR, ".suggestions .label")]
    assert labels and set(labels) <= {"probable", "possible", "peu probable"}
    button = d.find_element(By.CSS_SELECTOR, "[data-insert='sugg-1']")
    entry_id = button.get_attribute("data-faq-entry")

    async def body() -> str:
        async with live.services.db.transaction() as s:
            row = await s.get(KbEntry, entry_id)
            return str(row.body) if row else ""

    markdown = live.run(body())
    assert "**" in markdown  # the stored answer has Markdown emphasis: raw insertion would show it
    button.click()
    inserted = d.find_element(By.ID, "reply-text").get_property("value")
    assert "**" not in inserted and "](" not in inserted
    assert " ".join(inserted.split()) == " ".join(to_plain_text(markdown).split())
    d.find_element(By.ID, "reply-text").send_keys("\n\nBien cordialement,\nThomas")
    d.find_element(By.CSS_SELECTOR, "form.reply button[value='reply']").click()
    _wait(d, ec.text_to_be_present_in_element((By.CSS_SELECTOR, ".flash"), "Réponse mise en file d'envoi."))

    async def proposals() -> list[tuple[str, str]]:
        async with live.services.db.transaction() as s:
            return [(p.entry_id, p.source) for p in (await s.scalars(select(FaqProposal))).all()]

    # The page's script marked the insertion: the requester's question is proposed for that entry.
    assert live.run(proposals()) == [(entry_id, "ticket")]
