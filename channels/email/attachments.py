"""Walk a MIME tree: body texts, attachments with safe names (also uuencoded ones inside a plain body),
forwarded messages, DSN details."""

from __future__ import annotations

import mimetypes
import re
import unicodedata
from dataclasses import dataclass, field
from email.message import Message

from channels.email import charsets, uuencode
from channels.email.loops import is_permanent_failure
from helpdesk.app.intake.messages import InboundAttachment

MAX_DEPTH = 12
MAX_NAME = 120
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')
_MSGID = re.compile(r"<([^<>\s]+)>")


@dataclass
class Collected:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments_list: list[InboundAttachment] = field(default_factory=list)
    forwarded_texts: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    diagnostics: list[str] = field(default_factory=list)
    originals: list[str] = field(default_factory=list)

    @property
    def attachments(self) -> tuple[InboundAttachment, ...]:
        return tuple(self.attachments_list)

    @property
    def failed_recipients(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.failed))

    @property
    def diagnostic(self) -> str | None:
        return self.diagnostics[0] if self.diagnostics else None

    @property
    def original_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.originals))


def safe_filename(name: str | None, content_type: str, index: int) -> str:
    """A name safe on any disk and in any header: no path, no control or reserved characters."""
    clean = ""
    if name:
        clean = unicodedata.normalize("NFC", charsets.decode_words(name))
        clean = re.split(r"[/\\]", clean)[-1]
        clean = _UNSAFE.sub("_", clean).strip().lstrip(".").strip()
    if not clean:
        ext = mimetypes.guess_extension(content_type) or ".bin"
        clean = f"piece-jointe-{index}{ext}"
    if len(clean) > MAX_NAME:
        stem, dot, ext = clean.rpartition(".")
        clean = (stem[: MAX_NAME - len(ext) - 1] + "." + ext) if dot and len(ext) <= 10 else clean[:MAX_NAME]
    return clean


def _safe(call: object, *args: object, default: object = None) -> object:
    try:
        return call(*args)  # type: ignore[operator]
    except Exception:  # noqa: BLE001 - malformed parts must not stop the walk
        return default


def _payload(part: Message) -> bytes:
    data = _safe(lambda: part.get_payload(decode=True), default=b"")
    if isinstance(data, bytes):
        return data
    raw = _safe(part.get_payload, default="")
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def _text(part: Message) -> str:
    return charsets.decode_bytes(_payload(part), _safe(part.get_content_charset) or None)  # type: ignore[arg-type]


def collect(msg: Message) -> Collected:
    out = Collected()
    _walk(msg, out, 0)
    return out


def _walk(part: Message, out: Collected, depth: int) -> None:
    if depth > MAX_DEPTH:
        return
    ctype = str(_safe(part.get_content_type, default="application/octet-stream"))
    if ctype == "message/rfc822" or (ctype.startswith("message/") and ctype not in _DSN_TYPES):
        _forwarded(part, out, depth)
        return
    if ctype == "message/delivery-status":
        _delivery_status(part, out)
        return
    if ctype == "message/disposition-notification":
        _disposition(part, out)
        return
    if ctype == "text/rfc822-headers":
        out.originals += _original_ids(_text(part))
        _attach(part, out, "text/rfc822-headers", default_name="en-tetes-du-message.txt")
        return
    if part.is_multipart():
        children = part.get_payload()
        if isinstance(children, list):
            for child in children:
                if isinstance(child, Message):
                    _walk(child, out, depth + 1)
        return
    filename = _safe(part.get_filename)
    disposition = str(_safe(part.get_content_disposition) or "")
    if ctype == "text/html" and not filename and disposition != "attachment":
        out.html.append(_text(part))
        return
    if ctype == "text/plain" and not filename and disposition != "attachment":
        _plain(_text(part), out)
        return
    if ctype == "application/ms-tnef" or (isinstance(filename, str) and filename.lower() == "winmail.dat"):
        if _tnef(_payload(part), out):
            return
    _attach(part, out, ctype)


def _plain(text: str, out: Collected) -> None:
    """A plain body; uuencoded files inside it become attachments and leave the text."""
    text, files = uuencode.extract(text)
    out.plain.append(text)
    for f in files:
        ctype = mimetypes.guess_type(f.name)[0] or "application/octet-stream"
        name = safe_filename(f.name, ctype, len(out.attachments_list) + 1)
        out.attachments_list.append(InboundAttachment(filename=name, content_type=ctype, data=f.data))


_DSN_TYPES = {"message/delivery-status", "message/disposition-notification"}


def _attach(part: Message, out: Collected, ctype: str, default_name: str | None = None) -> None:
    filename = _safe(part.get_filename)
    name = filename if isinstance(filename, str) and filename else default_name
    cid = _safe(part.get, "content-id")
    disposition = str(_safe(part.get_content_disposition) or "")
    out.attachments_list.append(
        InboundAttachment(
            filename=safe_filename(name, ctype, len(out.attachments_list) + 1),
            content_type=ctype,
            data=_payload(part),
            inline=disposition == "inline" or (bool(cid) and disposition != "attachment"),
            content_id=str(cid).strip().strip("<>") if cid else None,
        )
    )


def _forwarded(part: Message, out: Collected, depth: int) -> None:
    payload = _safe(part.get_payload, default=None)
    inner = payload[0] if isinstance(payload, list) and payload and isinstance(payload[0], Message) else None
    if inner is None:
        _attach(part, out, "message/rfc822", default_name="message.eml")
        return
    data = _safe(inner.as_bytes, default=None)
    if not isinstance(data, bytes):
        data = str(_safe(inner.as_string, default="")).encode("utf-8", "surrogateescape")
    subject = charsets.decode_words(str(_safe(inner.get, "subject") or "")).strip()
    out.originals += _original_ids(str(_safe(inner.get, "message-id") or ""))
    out.attachments_list.append(
        InboundAttachment(
            filename=safe_filename(f"{subject}.eml" if subject else "message.eml", "message/rfc822", 0),
            content_type="message/rfc822",
            data=data,
        )
    )
    sub = Collected()
    _walk(inner, sub, depth + 1)  # the depth goes on: a forward inside a forward is not a fresh start
    body = "\n\n".join(t for t in sub.plain if t.strip()).strip()
    if body:
        who = charsets.decode_words(str(_safe(inner.get, "from") or "")).strip()
        out.forwarded_texts.append(f"---------- Message transféré ----------\nDe : {who}\nObjet : {subject}\n\n{body}")


def _delivery_status(part: Message, out: Collected) -> None:
    payload = _safe(part.get_payload, default=None)
    blocks: list[dict[str, str]] = []
    if isinstance(payload, list):
        for block in payload:
            if isinstance(block, Message):
                items = _safe(block.items, default=[])
                pairs = items if isinstance(items, list) else []
                blocks.append({str(k).lower(): str(v) for k, v in pairs})
    else:
        text = _text(part)
        for chunk in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
            fields = dict(re.findall(r"(?m)^([\w-]+)\s*:\s*(.*)$", chunk))
            blocks.append({k.lower(): v for k, v in fields.items()})
    for b in blocks:
        # After alias expansion Final-Recipient names the mailbox that failed and Original-Recipient the
        # address we wrote to (RFC 3464 § 2.3.1-2): both are kept, the caller matches either.
        recipients = [b[k] for k in ("final-recipient", "original-recipient") if b.get(k)]
        if not recipients:
            continue
        if is_permanent_failure(b.get("action"), b.get("status")):
            out.failed.extend(r.split(";", 1)[-1].strip().strip("<>").lower() for r in recipients)
            if b.get("diagnostic-code"):
                out.diagnostics.append(" ".join(b["diagnostic-code"].split())[:300])
    _attach(part, out, "message/delivery-status", default_name="rapport-de-remise.txt")


def _disposition(part: Message, out: Collected) -> None:
    """A read receipt (RFC 8098): the Original-Message-ID names the message it is about."""
    text = _text(part)
    if not text.strip():  # parsed as a message of its own: its fields are that message's headers
        payload = _safe(part.get_payload, default=None)
        inner = payload[0] if isinstance(payload, list) and payload and isinstance(payload[0], Message) else None
        text = str(_safe(inner.as_string, default="")) if inner is not None else ""
    m = re.search(r"(?im)^original-message-id\s*:\s*(<[^<>\s]+>)", text)
    if m:
        out.originals.append(m.group(1))
    _attach(part, out, "message/disposition-notification", default_name="accuse-de-lecture.txt")


def _original_ids(text: str) -> list[str]:
    m = re.search(r"(?im)^message-id\s*:\s*(<[^<>\s]+>)", text)
    if m:
        return [m.group(1)]
    found = _MSGID.findall(text) if text.lstrip().startswith("<") else []
    return [f"<{found[0]}>"] if found else []


def _tnef(data: bytes, out: Collected) -> bool:
    """Expand winmail.dat (Outlook's TNEF) into its attachments and body; False if it cannot."""
    try:
        from tnefparse import TNEF

        tnef = TNEF(data)
    except Exception:  # noqa: BLE001 - keep the original file as an attachment instead
        return False
    for att in tnef.attachments:
        name = _safe(att.long_filename) or getattr(att, "name", None)
        if isinstance(name, bytes):
            name = charsets.decode_bytes(name)
        ctype = mimetypes.guess_type(str(name or ""))[0] or "application/octet-stream"
        out.attachments_list.append(
            InboundAttachment(safe_filename(str(name) if name else None, ctype, len(out.attachments_list) + 1),
                              ctype, bytes(att.data or b""))
        )
    body = getattr(tnef, "body", None)
    if isinstance(body, bytes | str) and body:
        out.plain.append((charsets.decode_bytes(body) if isinstance(body, bytes) else body).rstrip("\x00"))
    return True
