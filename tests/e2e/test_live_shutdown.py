"""`helpdesk serve` stops promptly while staff browsers hold live streams open (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from pathlib import Path

import requests

from helpdesk.app.staff.accounts import UserService
from helpdesk.db.engine import Database
from helpdesk.domain.values import StaffRole
from helpdesk.ports import SystemClock
from tests.support.processes import ServeProcess

PASSWORD = "motdepasse-solide"


async def _add_staff(url: str, email: str) -> None:
    db = Database(url)
    try:
        await UserService(db, SystemClock()).add(email, StaffRole.AGENT, PASSWORD, name="Agent Flux")
    finally:
        await db.dispose()


def test_serve_stops_promptly_with_open_streams(db_url: str, tmp_path: Path) -> None:
    email = f"flux-{uuid.uuid4().hex[:8]}@craig.fr"
    asyncio.run(_add_staff(db_url, email))
    serve = ServeProcess(db_url, tmp_path, HELPDESK_SMTP_ENABLED="false", HELPDESK_PUBLISHED_CHECKS="false")
    serve.start()
    try:
        base = f"http://127.0.0.1:{serve.http_port}"
        browser = requests.Session()
        token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get(base + "/login", timeout=10).text)
        assert token
        logged = browser.post(base + "/login", data={"email": email, "password": PASSWORD,
                                                     "csrf_token": token.group(1)}, timeout=10)
        assert logged.ok and "File des tickets" in logged.text
        streams = [browser.get(base + "/queue/live", stream=True, timeout=60) for _ in range(3)]
        readers = []
        for s in streams:
            assert s.status_code == 200 and s.headers["Content-Type"].startswith("text/event-stream")
            lines = s.iter_lines()
            assert next(lines) == b"retry: 5000"
            while next(lines) != b"event: hello":
                pass
            readers.append(lines)
        assert serve.proc is not None
        started = time.monotonic()
        serve.proc.terminate()
        code = serve.proc.wait(timeout=60)  # a safety bound; the figure below is the measurement
        took = time.monotonic() - started
        assert code == 0
        for lines in readers:
            assert b"Traceback" not in b"".join(lines)  # the stream ended (the iteration returns)
        print(f"serve stopped {took:.2f} s after SIGTERM with {len(streams)} open streams")
    finally:
        serve.stop()
    assert "Traceback" not in serve.log.read_text(encoding="utf-8")
