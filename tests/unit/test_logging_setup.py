from __future__ import annotations

import json
import logging

from helpdesk.logging_setup import JsonFormatter, RedactingFilter, redact


def test_redact_hides_addresses_tokens_and_url_passwords() -> None:
    line = (
        "mail from sylvie.martin@mairie-murat.fr via postgresql://app:s3cret@db/h "
        "bot 123456789:AAAbbbCCCdddEEEfffGGGhhhIIIjjjKKKlll"
    )
    out = redact(line)
    assert "sylvie.martin" not in out and "s…@mairie-murat.fr" in out
    assert "s3cret" not in out and "app:********@db" in out
    assert "AAAbbb" not in out


def test_json_lines() -> None:
    record = logging.LogRecord("helpdesk.x", logging.INFO, __file__, 1, "ticket %s from %s", (1042, "a@b.fr"), None)
    RedactingFilter().filter(record)
    data = json.loads(JsonFormatter().format(record))
    assert data["message"] == "ticket 1042 from a…@b.fr" and data["level"] == "INFO"
