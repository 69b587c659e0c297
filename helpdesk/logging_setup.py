"""Structured logs: plain or JSON lines, with addresses, tokens and passwords redacted.

Every line is bounded (MAX_MESSAGE characters, MAX_EXCEPTION for a traceback) before it is
redacted, and the redaction runs in linear time: a hostile value (a 24 MB SMTP command, a
50,000-character EHLO) can neither fill the disk nor hold the event loop.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

MAX_MESSAGE = 2000
MAX_EXCEPTION = 20_000
# Each pattern can only start where its run starts (the look-behinds), and its repeats are bounded:
# a run of letters without an "@" is scanned once, not once per position (the old pattern was quadratic).
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,256}@[\w-]{1,253}(?:\.[\w-]{1,63}){1,8}")
_TOKEN = re.compile(r"(?<![\w:])\d{6,12}:[A-Za-z0-9_-]{30,64}\b")  # Telegram bot tokens
_URL_PASSWORD = re.compile(r"(://[^:/@\s]{1,256}:)[^@\s/]{1,256}@")


def bounded(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit} caractères omis]"


def redact(text: str) -> str:
    text = _URL_PASSWORD.sub(r"\1********@", text)
    text = _TOKEN.sub("<token>", text)
    return _EMAIL.sub(lambda m: m.group(0)[0] + "…@" + m.group(0).split("@", 1)[1], text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(bounded(record.getMessage()))
        record.args = None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("ticket", "channel", "outcome"):
            if hasattr(record, key):
                out[key] = getattr(record, key)
        if record.exc_info:
            out["exception"] = redact(bounded(self.formatException(record.exc_info), MAX_EXCEPTION))
        return json.dumps(out, ensure_ascii=False)


def configure(level: str = "INFO", *, json_lines: bool = False) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter())
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # mail.log: aiosmtpd logs every command line and connection at INFO (addresses, client input).
    for noisy in ("alembic", "aiosqlite", "httpx", "bm25s", "frictionless", "mail.log"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    quiet_aiosmtpd()


AIOSMTPD_LOGGER = "mail.log"  # aiosmtpd's logger name (aiosmtpd/smtp.py: logging.getLogger("mail.log"))


def quiet_aiosmtpd() -> None:
    """aiosmtpd logs about twelve INFO lines per message, among them « Available AUTH mechanisms:
    LOGIN(builtin) PLAIN(builtin) » on every connection (although EHLO offers no AUTH) and « Connection lost
    during _handle_client() » on every normal QUIT. Our own handler logs one line per message instead;
    aiosmtpd keeps its warnings and errors."""
    logging.getLogger(AIOSMTPD_LOGGER).setLevel(logging.WARNING)
