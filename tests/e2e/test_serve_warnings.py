"""`helpdesk serve` and `helpdesk config` say when mail cannot leave or when mailed links would point nowhere."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import requests

from helpdesk.db import migrate
from tests.support.processes import ServeProcess


def test_serve_warns_and_readyz_degrades_without_a_relay(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'h.sqlite3'}"
    migrate.upgrade(url)
    serve = ServeProcess(url, tmp_path, HELPDESK_SMTP_ENABLED="false")
    serve.start()  # returns once the web port answers, i.e. after the start-up warnings
    try:
        body = requests.get(f"http://127.0.0.1:{serve.http_port}/readyz", timeout=10).json()
        assert body["status"] == "degraded" and "relais SMTP" in body["warnings"][0]
    finally:
        serve.stop()
    assert "Aucun relais SMTP" in serve.log.read_text(encoding="utf-8")


def test_serve_warns_about_a_loopback_public_url_with_a_relay(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'h.sqlite3'}"
    migrate.upgrade(url)
    serve = ServeProcess(url, tmp_path, HELPDESK_SMTP_ENABLED="false", HELPDESK_SMTP_RELAY_HOST="127.0.0.1",
                         HELPDESK_SMTP_RELAY_PORT="9")
    serve.start()
    try:
        body = requests.get(f"http://127.0.0.1:{serve.http_port}/readyz", timeout=10).json()
        assert body["status"] == "ready", body
    finally:
        serve.stop()
    log = serve.log.read_text(encoding="utf-8")
    # The default public URL is the listener itself (not port 8080), and it is loopback: said at start.
    assert f"HELPDESK_PUBLIC_URL vaut http://127.0.0.1:{serve.http_port}" in log


def test_config_prints_the_effective_public_url_and_warnings(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    env.update(HELPDESK_HTTP_PORT="18080", HELPDESK_DATA_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-m", "helpdesk.cli", "config"], env=env, capture_output=True, text=True,
                         timeout=60, check=True)
    assert "HELPDESK_PUBLIC_URL=http://127.0.0.1:18080" in out.stdout
    assert out.stderr.startswith("attention : Aucun relais SMTP")
