"""Run `helpdesk serve` as a real process for fault tests, and talk SMTP to it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib

from tests.support.pgserver import free_port


def wait_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port}")


class ServeProcess:
    """`helpdesk serve` on free ports, with its own environment; stopped or killed by the test."""

    def __init__(self, database_url: str, workdir: Path, **env: str) -> None:
        self.smtp_port = free_port()
        self.http_port = free_port()
        self.workdir = workdir
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
        self.env.update(
            HELPDESK_DATABASE_URL=database_url,
            HELPDESK_DATA_DIR=str(workdir),
            HELPDESK_SMTP_PORT=str(self.smtp_port),
            HELPDESK_HTTP_PORT=str(self.http_port),
            HELPDESK_MAIL_ADDRESSES="assistance@craig.fr",
            HELPDESK_FILE_CHECKS="false",
            **env,
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / f"serve-{self.smtp_port}.log"

    def start(self) -> None:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(  # noqa: S603 - our own CLI
            [sys.executable, "-m", "helpdesk.cli", "serve"], env=self.env, cwd=self.workdir,
            stdout=out, stderr=subprocess.STDOUT,
        )
        out.close()
        if self.env.get("HELPDESK_SMTP_ENABLED", "true") != "false":
            wait_port(self.smtp_port)
        wait_port(self.http_port)

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)


def make_mail(i: int, tag: str = "burst") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"Agent {i} <agent{i}@mairie-{i % 7}.fr>"
    msg["To"] = "assistance@craig.fr"
    msg["Subject"] = f"Question {i} sur nos données"
    msg["Message-ID"] = f"<{tag}-{i}@mairie.fr>"
    msg.set_content(f"Bonjour,\nComment publier le jeu de données numéro {i} ?\nMerci")
    return msg


async def send_one(port: int, msg: EmailMessage, limit_seconds: float = 30) -> int:
    """Send on a new connection; return the final SMTP code (0 when the connection failed)."""
    try:
        errors, response = await aiosmtplib.send(
            msg, hostname="127.0.0.1", port=port, timeout=limit_seconds, sender=str(msg["From"]).split("<")[1][:-1],
            recipients=["assistance@craig.fr"],
        )
    except aiosmtplib.SMTPResponseException as exc:
        return exc.code
    except (TimeoutError, aiosmtplib.SMTPException, OSError):
        return 0
    return 250 if response.startswith("2") or "OK" in response or not errors else 0
