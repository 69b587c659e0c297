"""Published data as `helpdesk serve` runs it, seen in a real headless Chromium.

A mail naming a data.gouv.fr dataset URL goes in over SMTP (250); the Outbox worker looks it up against the
fake udata and CSW servers on 127.0.0.1; staff open the ticket and see the sidebar « Données publiées »
and the internal note, and insert the requester's summary in a reply with one click. Skipped only where
no browser is installed (`.ci/install-browser`). HELPDESK_SCREENSHOTS_DIR=docs refreshes docs/published.png.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import smtplib
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_web_browser import CHROMEDRIVER, CHROMIUM, NO_BROWSER, _wait
from tests.support.fake_csw import FakeCsw
from tests.support.fake_udata import FakeUdata

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()), reason=NO_BROWSER),
]
ADDR = "assistance@craig.fr"
SLUG = "subventions-versees-par-la-ville-de-lannion"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    url: str
    smtp_port: int
    loop: asyncio.AbstractEventLoop
    noted: threading.Event  # set by the look-up job once its note is written

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)


class SignalAfter:
    """The real ``published`` sender, and a signal once it has written its note (tests wait on events)."""

    def __init__(self, inner: Any, done: threading.Event) -> None:
        self.inner, self.done = inner, done

    async def send(self, payload: Mapping[str, Any]) -> None:
        await self.inner.send(payload)
        self.done.set()


@pytest.fixture
def served(tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    from helpdesk.app.published.jobs import PUBLISHED
    from helpdesk.bootstrap import build, serve
    from helpdesk.config import Settings
    from tests.support.web import add_staff

    monkeypatch.setenv("HELPDESK_FETCH_ENABLED", "true")
    shutil.copy(sqlite_template, tmp_path / "published.sqlite3")
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def run(coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=60)

    csw = FakeCsw()
    run(csw.start())
    udata = FakeUdata(catalogue=csw.host)
    run(udata.start())
    http_port, smtp_port = free_port(), free_port()
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'published.sqlite3'}",
                        http_host="127.0.0.1", http_port=http_port, smtp_host="127.0.0.1", smtp_port=smtp_port,
                        public_url=f"http://127.0.0.1:{http_port}", mail_addresses=[ADDR],
                        datagouv_api_url=udata.api_url, csw_url=csw.url, fetch_timeout=5,
                        outbox_poll_seconds=0.2)
    services = build(settings)
    noted = threading.Event()
    services.outbox.senders[PUBLISHED] = SignalAfter(services.outbox.senders[PUBLISHED], noted)
    run(add_staff(services))
    ready, stop = asyncio.Event(), asyncio.Event()
    task = asyncio.run_coroutine_threadsafe(serve(services, settings, ready, stop), loop)
    run(ready.wait())
    try:
        yield Served(f"http://127.0.0.1:{http_port}", smtp_port, loop, noted)
    finally:
        loop.call_soon_threadsafe(stop.set)
        task.result(timeout=60)
        run(udata.stop())
        run(csw.stop())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1440,1000", "--lang=fr-FR"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(tmp_path / "profile", ignore_errors=True)


def send_mail(port: int) -> None:
    m = EmailMessage()
    m["From"], m["To"], m["Message-ID"] = "Mairie de Lannion <maire@lannion.bzh>", ADDR, "<published-1@lannion.bzh>"
    m["Subject"] = "Le validateur dit que notre fichier de subventions est faux"
    m.set_content("Bonjour,\n\nnotre jeu de données https://www.data.gouv.fr/fr/datasets/"
                  f"{SLUG}/ est marqué non conforme au schéma. Pouvez-vous regarder ?\n\nMerci,\nla mairie")
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as c:
        refused = c.sendmail("maire@lannion.bzh", [ADDR], m.as_bytes())
    assert refused == {}


def test_a_mail_naming_a_dataset_shows_the_published_data_sidebar(served: Served, browser: Any,
                                                                   tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    started = time.monotonic()
    send_mail(served.smtp_port)  # returns after the 250
    assert served.noted.wait(timeout=30), "the look-up job did not write its note"
    print(f"\n250 → note written in {time.monotonic() - started:.2f} s")

    d = browser
    d.get(served.url + "/login")
    d.find_element(By.NAME, "email").send_keys("agent@craig.fr")
    d.find_element(By.NAME, "password").send_keys("motdepasse-solide")
    d.find_element(By.CSS_SELECTOR, "form[action='/login'] button[type=submit]").click()
    _wait(d, ec.url_contains("/queue"))
    _wait(d, ec.presence_of_element_located((By.CSS_SELECTOR, "table.queue tbody tr a.subject")))
    d.find_element(By.CSS_SELECTOR, "table.queue tbody tr a.subject").click()
    _wait(d, ec.presence_of_element_located((By.CSS_SELECTOR, "section.published")))

    side = d.find_element(By.CSS_SELECTOR, "section.published")
    text = side.text
    for expected in ("Données publiées", "Subventions versées par la ville de Lannion", "Ville de Lannion",
                     "Licence Ouverte / Open Licence version 2.0", "09/01/2026", "non moissonné",
                     "scdl/subventions 2.1.1", "subventions-2025.csv",
                     "déclare le schéma « scdl/subventions »"):
        assert expected in text, expected
    note = d.find_elements(By.CSS_SELECTOR, ".thread li.msg-note")[-1].text
    assert "Données publiées — vérification automatique" in note and "Ressource « subventions-2025.csv »" in note

    d.find_element(By.CSS_SELECTOR, "section.published [data-insert^='published-summary-']").click()
    inserted = d.find_element(By.ID, "reply-text").get_property("value")
    assert inserted.startswith("Nous avons regardé les données publiées") and "scdl/subventions" in inserted

    target = Path(os.environ.get("HELPDESK_SCREENSHOTS_DIR") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    height = d.execute_script("return document.body.scrollHeight")
    d.set_window_size(1440, max(900, min(int(height) + 160, 2000)))
    d.execute_script("window.scrollTo(0, 0)")
    assert d.save_screenshot(str(target / "published.png"))
