"""An Outbox email payload to a MIME message: headers that thread, text and HTML parts."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any

_URL = re.compile(r"(https?://[^\s<>\"]+)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def one_line(value: object, limit: int = 200) -> str:
    """A header value from stored text: a CR or LF (a name typed in a public form) must not make the
    message impossible to build, or inject a header."""
    return " ".join(_CONTROL.sub(" ", str(value or "")).split())[:limit]


def text_to_html(text: str) -> str:
    """Paragraphs and line breaks kept, links clickable, everything else escaped."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    parts = []
    for p in paragraphs:
        escaped = html.escape(p)
        linked = _URL.sub(lambda m: f'<a href="{m.group(1)}">{m.group(1)}</a>', escaped)
        parts.append("<p>" + linked.replace("\n", "<br>\n") + "</p>")
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8"></head>\n'
        f'<body style="font-family: sans-serif; line-height: 1.4">\n{body}\n</body></html>\n'
    )


def compose(
    payload: Mapping[str, Any], *, from_address: str, from_name: str, reply_to: str | None, now: datetime
) -> EmailMessage:
    """The message for one payload (keys: to, to_name, subject, text, html?, message_id, in_reply_to,
    references, auto_submitted?). The Message-ID comes from the payload: fixed before the first try."""
    msg = EmailMessage()
    msg["From"] = formataddr((from_name, from_address))
    msg["To"] = formataddr((one_line(payload.get("to_name")), one_line(payload["to"], 320)))
    if reply_to:
        msg["Reply-To"] = reply_to
    msg["Subject"] = one_line(payload.get("subject"), 400)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = str(payload["message_id"])
    if payload.get("in_reply_to"):
        msg["In-Reply-To"] = str(payload["in_reply_to"])
    refs = [r for r in (payload.get("references") or []) if r]
    if payload.get("in_reply_to") and payload["in_reply_to"] not in refs:
        refs.append(payload["in_reply_to"])
    if refs:
        msg["References"] = " ".join(refs[-10:])
    if payload.get("auto_submitted"):
        msg["Auto-Submitted"] = str(payload["auto_submitted"])
        msg["X-Auto-Response-Suppress"] = "All"  # asks Exchange not to answer our automatic mail
    if payload.get("ticket_number") is not None:
        msg["X-Helpdesk-Ticket"] = str(payload["ticket_number"])
    text = str(payload.get("text") or "")
    msg.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(str(payload.get("html") or text_to_html(text)), subtype="html", charset="utf-8",
                        cte="quoted-printable")
    return msg
