"""Raw RFC 5322 bytes to a ParsedMail: headers, texts, attachments, loop verdict, bounce details.

Structure comes from the email package (compat32 for speed, policy.default when a boundary is
folded); header values are read from the raw bytes so that unlabelled 8-bit headers decode as UTF-8
or windows-1252 instead of U+FFFD. Never raises anything but UnparseableMail (no sender address,
nothing that looks like a message).
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import errors
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

from channels.email import charsets, html
from channels.email.attachments import Collected, collect
from channels.email.loops import Verdict, classify
from channels.email.visible_text import visible_text
from helpdesk.app.intake.messages import InboundAttachment

MAX_HEADER_BYTES = 256 * 1024
MAX_PARTS = 1000  # MIME parts in one message (a real one rarely has more than a few dozen)
MAX_NESTING = 24  # multipart and message/rfc822 levels


class UnparseableMail(Exception):
    """The input cannot become a ticket; it goes to the quarantine with this reason."""


@dataclass(frozen=True, slots=True)
class BounceInfo:
    recipients: tuple[str, ...]
    reason: str
    original_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ParsedMail:
    message_id: str
    sender_email: str
    sender_name: str | None
    recipients: tuple[str, ...]
    subject: str
    date: datetime | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    full_text: str
    visible_text: str
    html_sanitised: str | None
    attachments: tuple[InboundAttachment, ...]
    verdict: Verdict
    bounce: BounceInfo | None = None
    headers: dict[str, list[str]] = field(default_factory=dict)
    # Message ids a report names (DSN text/rfc822-headers or message/rfc822, MDN Original-Message-ID, forwards)
    original_ids: tuple[str, ...] = ()


_HEADER_LINE = re.compile(rb"^([!-9;-~]+)[ \t]*:(.*)$", re.DOTALL)
_MSGID = re.compile(r"<([^<>\s]+)>")
_ADDRESS = re.compile(r"[A-Za-z0-9._%+'=/-]+@[A-Za-z0-9.-]+")


def raw_headers(raw: bytes) -> dict[str, list[bytes]]:
    """Unfolded header fields as raw bytes, keyed by lower-case name (first block only)."""
    end = re.search(rb"\r?\n\r?\n", raw[:MAX_HEADER_BYTES])
    head = raw[: end.start()] if end else raw[:MAX_HEADER_BYTES]
    fields: list[bytes] = []
    for line in re.split(rb"\r?\n", head):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += b" " + line.strip()
        elif line.startswith(b"From ") and not fields:
            continue  # mbox separator
        else:
            fields.append(line)
    out: dict[str, list[bytes]] = {}
    for f in fields:
        m = _HEADER_LINE.match(f)
        if m:
            out.setdefault(m.group(1).decode("ascii").lower(), []).append(m.group(2).strip())
    return out


def decoded_headers(raw: bytes) -> dict[str, list[str]]:
    rh = raw_headers(raw)
    return _decode_all(rh, body_charset(rh))


_CHARSET_PARAM = re.compile(rb"""charset\s*=\s*["']?([^"';\s]+)""", re.IGNORECASE)


def body_charset(rh: dict[str, list[bytes]]) -> str | None:
    """The charset the top-level Content-Type declares, if any."""
    ctype = (rh.get("content-type") or [b""])[0]
    m = _CHARSET_PARAM.search(ctype)
    return m.group(1).decode("ascii", "replace") if m else None


_PHRASES = {"subject"}  # free text that a UTF-7 client may write raw (never ids or addresses)


def _decode_all(rh: dict[str, list[bytes]], hint: str | None = None) -> dict[str, list[str]]:
    def one(name: str, value: bytes) -> str:
        text = charsets.header_bytes_to_str(value)
        return charsets.decode_words(charsets.raw_utf7(text, hint) if name in _PHRASES else text)

    return {k: [one(k, v) for v in vs] for k, vs in rh.items()}


def message_ids(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(f"<{m}>" for m in _MSGID.findall(value))


def parse_address(raw_value: bytes | None, hint: str | None = None) -> tuple[str | None, str | None]:
    """(display name, address) of the first mailbox in a raw address header (``hint``: the body's charset)."""
    if not raw_value:
        return None, None
    text = charsets.header_bytes_to_str(raw_value)
    try:
        pairs = getaddresses([text])
    except Exception:  # noqa: BLE001 - malformed headers fall back to a plain search
        pairs = []
    for name, addr in pairs:
        if "@" in addr and _ADDRESS.fullmatch(addr.strip()):
            clean = charsets.decode_words(charsets.raw_utf7(name, hint)).strip().strip('"').strip() or None
            return clean, addr.strip()
    found = _ADDRESS.search(charsets.decode_words(text))
    return (None, found.group(0).strip(".")) if found else (None, None)


def _addresses(raw_values: list[bytes]) -> tuple[str, ...]:
    text = ", ".join(charsets.header_bytes_to_str(v) for v in raw_values)
    try:
        pairs = getaddresses([text])
    except Exception:  # noqa: BLE001
        pairs = []
    return tuple(a.strip().lower() for _, a in pairs if "@" in a)


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_message(raw: bytes, *, envelope_sender: str | None = None) -> ParsedMail:
    """Parse one message. Raises UnparseableMail when it cannot become a ticket."""
    if not raw or not raw.strip():
        raise UnparseableMail("message vide")
    rh = raw_headers(raw)
    if not rh:
        raise UnparseableMail("aucun champ d'en-tête")
    hint = body_charset(rh)
    headers = _decode_all(rh, hint)

    def first(name: str) -> str | None:
        values = headers.get(name)
        return values[0] if values else None

    name, sender = parse_address(next(iter(rh.get("from") or []), None), hint)
    if sender is None:
        for alt in ("reply-to", "sender", "return-path"):
            name, sender = parse_address(next(iter(rh.get(alt) or []), None), hint)
            if sender:
                break
    if sender is None and envelope_sender and _ADDRESS.fullmatch(envelope_sender):
        name, sender = None, envelope_sender
    if not sender:
        raise UnparseableMail("aucune adresse d'expéditeur (From)")

    try:
        msg = _structure(raw)
    except Exception as exc:  # noqa: BLE001 - the email package should not raise, but never trust it
        raise UnparseableMail(f"structure MIME illisible ({type(exc).__name__})") from exc
    check_shape(msg)
    collected = collect(msg)
    subject = " ".join((first("subject") or "").split())
    mid = message_ids(first("message-id"))
    message_id = mid[0] if mid else f"<{hashlib.sha256(raw).hexdigest()[:32]}@sans-message-id.invalid>"
    full_text, html_clean = _texts(collected)
    verdict = classify(
        headers, sender=sender, subject=subject, content_type=_ctype(msg),
        report_type=_param(msg, "report-type"), envelope_sender=envelope_sender,
    )
    bounce = None
    if verdict.kind.value == "bounce":
        bounce = BounceInfo(
            recipients=collected.failed_recipients or _addresses(rh.get("x-failed-recipients", [])),
            reason=collected.diagnostic or verdict.reason or "bounce",
            original_ids=collected.original_ids,
        )
    return ParsedMail(
        message_id=message_id,
        sender_email=sender,
        sender_name=name,
        recipients=_addresses(rh.get("to", []) + rh.get("cc", [])),
        subject=subject,
        date=_date(first("date")),
        in_reply_to=message_ids(first("in-reply-to")),
        references=message_ids(" ".join(headers.get("references", []))),
        full_text=full_text,
        visible_text=visible_text(full_text) if full_text else "",
        html_sanitised=html_clean,
        attachments=collected.attachments,
        verdict=verdict,
        bounce=bounce,
        headers=headers,
        original_ids=collected.original_ids,
    )


def check_shape(msg: Message) -> None:
    """Refuse a tree too big or too deep to walk cheaply (raises UnparseableMail, in French for staff)."""
    parts = 0
    stack: list[tuple[Message, int]] = [(msg, 0)]
    while stack:
        part, depth = stack.pop()
        parts += 1
        if parts > MAX_PARTS:
            raise UnparseableMail(f"message trop complexe : plus de {MAX_PARTS} parties MIME")
        if depth > MAX_NESTING:
            raise UnparseableMail(f"message trop complexe : plus de {MAX_NESTING} niveaux d'imbrication MIME")
        payload = part.get_payload() if part.is_multipart() else None
        if isinstance(payload, list):
            stack.extend((child, depth + 1) for child in payload if isinstance(child, Message))


_BOUNDARY_DEFECTS = (errors.NoBoundaryInMultipartDefect, errors.StartBoundaryNotFoundDefect,
                     errors.CloseBoundaryNotFoundDefect)


def _structure(raw: bytes) -> Message:
    """The MIME tree. compat32 first: five times cheaper than policy.default, whose header objects
    re-parse Content-Type on every access. policy.default when compat32 finds no boundary (it
    unfolds a boundary folded over two lines the way senders meant it)."""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    broken = any(isinstance(d, _BOUNDARY_DEFECTS) for part in msg.walk() for d in part.defects)
    return email.message_from_bytes(raw, policy=email.policy.default) if broken else msg


def _ctype(msg: Message) -> str:
    try:
        return msg.get_content_type()
    except Exception:  # noqa: BLE001
        return "text/plain"


def _param(msg: Message, name: str) -> str | None:
    try:
        value = msg.get_param(name)
    except Exception:  # noqa: BLE001
        return None
    return value if isinstance(value, str) else None


def _texts(c: Collected) -> tuple[str, str | None]:
    plain = "\n\n".join(t for t in c.plain if t.strip()).strip()
    html_src = c.html[0] if c.html else None
    if not plain and html_src:
        plain = html.to_text(html_src)
    for fwd in c.forwarded_texts:
        plain = f"{plain}\n\n{fwd}".strip()
    return plain, html.sanitise(html_src) if html_src else None

