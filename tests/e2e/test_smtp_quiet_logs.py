"""aiosmtpd's own INFO chatter is silenced by the logging setup; its warnings stay (real SMTP on loopback)."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller

from helpdesk.logging_setup import AIOSMTPD_LOGGER, quiet_aiosmtpd
from tests.support.pgserver import free_port


class Sink:
    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802 - hook name
        return "250 OK"


@pytest.fixture
def aiosmtpd_level() -> Iterator[logging.Logger]:
    logger = logging.getLogger(AIOSMTPD_LOGGER)
    before = logger.level
    yield logger
    logger.setLevel(before)


def _session() -> None:
    port = free_port()
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            client.sendmail("a@mairie.fr", ["assistance@craig.fr"], b"Subject: x\r\n\r\nbonjour\r\n")
    finally:
        controller.stop()  # joins the server thread: every log line of the session is written


def test_one_smtp_session_logs_nothing_from_aiosmtpd_below_warning(
    caplog: pytest.LogCaptureFixture, aiosmtpd_level: logging.Logger
) -> None:
    caplog.set_level(logging.INFO)
    aiosmtpd_level.setLevel(logging.NOTSET)  # as aiosmtpd leaves it: the chatter is there
    _session()
    chatter = [r.getMessage() for r in caplog.records if r.name == AIOSMTPD_LOGGER]
    assert any("Available AUTH mechanisms" in m for m in chatter)

    caplog.clear()
    quiet_aiosmtpd()
    _session()
    assert [r.getMessage() for r in caplog.records if r.name == AIOSMTPD_LOGGER and r.levelno < logging.WARNING] == []
    assert aiosmtpd_level.isEnabledFor(logging.WARNING)
