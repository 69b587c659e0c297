"""The live staff queue in two real browsers on two `helpdesk serve` instances sharing one PostgreSQL.

Claire works on instance 1, Thomas on instance 2. Thomas sees « Claire Martin consulte ce ticket »
when she opens it, « … est en train de répondre » while she types, her note, a new ticket that arrives by
mail on instance 1 and one piped through `helpdesk ingest`, without reloading: the instances relay through
LISTEN/NOTIFY and each page's event stream is open (``data-live="on"``, and no poll since it opened:
the news came by the stream).
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser_seed import PASSWORD, seed_demo
from tests.support.processes import ServeProcess, make_mail, send_one

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.postgres,
    pytest.mark.skipif(not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
                       reason="browser tests skipped: no headless Chromium (.ci/install-browser)"),
]

SERVE_ENV = {"HELPDESK_ACKNOWLEDGE": "false", "HELPDESK_PUBLISHED_CHECKS": "false", "HELPDESK_FETCH_ENABLED": "false"}


def _seed(url: str) -> int:
    from helpdesk.bootstrap import build
    from helpdesk.config import Settings
    from helpdesk.db.engine import Database
    from tests.conftest import _truncate_pg

    async def run() -> int:
        db = Database(url)
        await _truncate_pg(db)
        await db.dispose()
        services = build(Settings(database_url=url, public_url="http://127.0.0.1", smtp_enabled=False))
        try:
            return await seed_demo(services)
        finally:
            await services.db.dispose()

    return asyncio.run(run())


@pytest.fixture
def instances(pg_database: str, tmp_path: Path) -> Iterator[tuple[ServeProcess, ServeProcess, int]]:
    ticket = _seed(pg_database)
    one = ServeProcess(pg_database, tmp_path, **SERVE_ENV)
    two = ServeProcess(pg_database, tmp_path, HELPDESK_SMTP_ENABLED="false", **SERVE_ENV)
    try:
        one.start()
        two.start()
        yield one, two, ticket
    finally:
        one.stop()
        two.stop()


def _chrome(profile: Path) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 f"--user-data-dir={profile}", "--window-size=1280,900", "--lang=fr-FR"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    return driver


@pytest.fixture
def browsers(tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    claire = _chrome(tmp_path / "claire")
    try:
        thomas = _chrome(tmp_path / "thomas")
        try:
            yield claire, thomas
        finally:
            thomas.quit()
    finally:
        claire.quit()
        shutil.rmtree(tmp_path / "claire", ignore_errors=True)
        shutil.rmtree(tmp_path / "thomas", ignore_errors=True)


def _wait(driver: Any, condition: Any, timeout: float = 30) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)


def _login(driver: Any, base: str, email: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    driver.get(base + "/login")
    driver.find_element(By.NAME, "email").send_keys(email)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form[action='/login'] button[type=submit]").click()
    _wait(driver, ec.text_to_be_present_in_element((By.TAG_NAME, "h1"), "File des tickets"))


def _live(driver: Any, selector: str) -> str:
    return str(driver.execute_script(f"var e = document.querySelector({selector!r}); return e && e.dataset.live"))


def _polls(driver: Any, selector: str) -> str:
    return str(driver.execute_script(f"return document.querySelector({selector!r}).dataset.polls"))


def _text(driver: Any, element_id: str) -> str:
    return str(driver.execute_script(
        f"var e = document.getElementById({element_id!r}); return e && !e.hidden ? e.textContent : ''"))


@pytest.mark.timeout(300)
def test_presence_and_changes_reach_the_other_instance(instances: tuple[ServeProcess, ServeProcess, int],
                                                       browsers: tuple[Any, Any]) -> None:
    from selenium.webdriver.common.by import By

    one, two, n = instances
    claire, thomas = browsers
    url_one, url_two = f"http://127.0.0.1:{one.http_port}", f"http://127.0.0.1:{two.http_port}"
    _login(claire, url_one, "claire.martin@craig.fr")
    _login(thomas, url_two, "thomas.bernard@craig.fr")

    thomas.get(f"{url_two}/tickets/{n}")
    _wait(thomas, lambda d: _live(d, "[data-ticket]") == "on")  # the stream is open; polling every 2 min
    polls = _polls(thomas, "[data-ticket]")
    assert _text(thomas, "presence") == ""

    claire.get(f"{url_one}/tickets/{n}")
    _wait(thomas, lambda d: _text(d, "presence") == "Claire Martin consulte ce ticket.")
    _wait(claire, lambda d: _text(d, "presence") == "Thomas Bernard consulte ce ticket.")  # never herself
    assert thomas.find_element(By.ID, "presence").get_attribute("role") == "status"

    _wait(claire, lambda d: _live(d, "[data-ticket]") == "on")
    claire.find_element(By.ID, "reply-text").send_keys("Bonjour, je regarde votre fichier")
    _wait(thomas, lambda d: _text(d, "presence") == "Claire Martin est en train de répondre.")

    claire.find_element(By.CSS_SELECTOR, "form.reply button[value='note']").click()
    _wait(claire, lambda d: "Note interne ajoutée." in d.page_source)
    _wait(thomas, lambda d: "Claire Martin (note)" in _text(d, "activity"))
    # no reload, no poll since the stream opened: presence and the note came by the stream
    assert (_live(thomas, "[data-ticket]"), _polls(thomas, "[data-ticket]")) == ("on", polls)

    # A new ticket by mail on instance 1 reaches Thomas's queue on instance 2.
    thomas.get(f"{url_two}/queue")
    _wait(thomas, lambda d: _live(d, "#new-tickets") == "on")
    polls = _polls(thomas, "#new-tickets")
    mail = make_mail(1, "live")
    assert asyncio.run(send_one(one.smtp_port, mail)) == 250
    _wait(thomas, lambda d: "Question 1 sur nos données" in _text(d, "new-tickets"))
    assert (_live(thomas, "#new-tickets"), _polls(thomas, "#new-tickets")) == ("on", polls)
    # A mail piped through `helpdesk ingest` (another process, no listener of its own) reaches him too.
    piped = subprocess.run([sys.executable, "-m", "helpdesk.cli", "ingest", "-"], input=make_mail(2, "pipe").as_bytes(),
                           env=one.env, cwd=one.workdir, capture_output=True, timeout=120, check=False)
    assert piped.returncode == 0, piped.stderr
    _wait(thomas, lambda d: "Question 2 sur nos données" in _text(d, "new-tickets"))
    assert (_live(thomas, "#new-tickets"), _polls(thomas, "#new-tickets")) == ("on", polls)
