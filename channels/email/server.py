"""The SMTP/LMTP edge (aiosmtpd inside our event loop).

Cheap refusals first: RCPT for an address that is not the helpdesk's gets 550 (never an open
relay), a message over the size limit gets 552 (aiosmtpd checks SIZE and DATA). Command lines are
capped at 1,000 bytes (RFC 5321 § 4.5.3.1.4-5): a longer one gets 500 and is read through in
bounded chunks, never logged. Inside DATA, lines longer than 1,000 bytes are accepted (webmails
send whole HTML bodies on one line) up to the size limit. 250 only once the raw message and its
ticket (or its quarantine row) are committed; 451 when the storage cannot commit, so the sender
retries — a bounded number of times for the same bytes (channels/email/ingest.py), then 554.

TLS (channels/email/tls.py): with a certificate the listener offers STARTTLS (SMTP and LMTP alike), or
speaks TLS from the first byte in implicit mode. With TLS required, MAIL/RCPT/DATA before STARTTLS get 530.
AUTH is never advertised: the edge takes mail for the helpdesk's own addresses only, it is no submission server.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import MISSING, SMTP, Envelope, Session, syntax

from channels.email.ingest import MailIngest, TemporaryFailures
from channels.email.tls import InboundTls
from helpdesk.domain.errors import TemporaryError

log = logging.getLogger(__name__)

STATUS_STORED = "250 2.0.0 Ok: message enregistré"
STATUS_RCPT_OK = "250 2.1.5 Ok"
STATUS_UNKNOWN_RCPT = "550 5.1.1 Destinataire inconnu : ce serveur n'accepte que les adresses de l'assistance"
STATUS_TOO_BIG = "552 5.3.4 Message trop volumineux"
STATUS_TEMPFAIL = "451 4.3.0 Erreur temporaire de stockage, réessayez plus tard"
STATUS_FAILED = "554 5.3.0 Message impossible à enregistrer, refusé après plusieurs essais"
COMMAND_LINE_BYTES = 1000  # RFC 5321: a command line, CRLF included; the tolerance for long lines is DATA's
STATUS_TLS_FIRST = "530 5.7.0 Must issue a STARTTLS command first"  # the wording of aiosmtpd's own gate


def redact(address: str) -> str:
    """An address for the logs: the domain only."""
    return "…@" + address.rsplit("@", 1)[-1] if "@" in address else "…"


class MailHandler:
    """aiosmtpd handler hooks: no AUTH advertised, TLS-required gate, RCPT filtering and DATA → MailIngest."""

    def __init__(self, ingest: MailIngest, addresses: Sequence[str], max_bytes: int, *, lmtp: bool = False,
                 require_tls: bool = False) -> None:
        self.ingest = ingest
        self.failures = TemporaryFailures()
        self.addresses = {a.strip().lower() for a in addresses if a.strip()}
        self.max_bytes = max_bytes
        self.lmtp = lmtp
        # aiosmtpd's own require_starttls refuses LHLO before STARTTLS (its allow-list knows EHLO only), which
        # locks LMTP clients out; these hooks refuse the mail transaction instead, for SMTP and LMTP alike.
        self.require_tls = require_tls

    def plaintext(self, session: Session) -> bool:
        return self.require_tls and session.ssl is None

    async def handle_EHLO(  # noqa: N802 - also answers LHLO
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname  # this 5-argument hook replaces aiosmtpd's bookkeeping
        return [line for line in responses if not line[4:].upper().startswith("AUTH")]

    async def handle_MAIL(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        if self.plaintext(session):
            log.info("refused MAIL before STARTTLS from %s", session.peer)
            return STATUS_TLS_FIRST
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    def accepts(self, address: str) -> bool:
        addr = address.strip().strip("<>").lower()
        if addr in self.addresses:
            return True
        local, _, domain = addr.partition("@")
        base = local.split("+", 1)[0]  # assistance+1042@craig.fr is still ours
        return f"{base}@{domain}" in self.addresses

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if self.plaintext(session):
            return STATUS_TLS_FIRST
        if not self.accepts(address):
            log.info("refused RCPT for %s", redact(address))
            return STATUS_UNKNOWN_RCPT
        envelope.rcpt_tos.append(address)
        return STATUS_RCPT_OK

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        raw = envelope.original_content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        if self.plaintext(session):  # unreachable through MAIL/RCPT; kept so DATA can never bypass the gate
            status = STATUS_TLS_FIRST
        elif len(raw) > self.max_bytes:
            status = STATUS_TOO_BIG
        else:
            status = await self._store(raw, (envelope.mail_from or "").strip().strip("<>"), envelope.rcpt_tos)
        if self.lmtp:  # LMTP answers once per accepted recipient
            return "\r\n".join([status] * max(1, len(envelope.rcpt_tos)))
        return status

    async def _store(self, raw: bytes, mail_from: str, rcpt_tos: Sequence[str] = ()) -> str:
        try:
            result = await self.ingest.process(raw, envelope_sender=mail_from, recipients=list(rcpt_tos),
                                               bounded_retries=True)
        except TemporaryError as exc:
            log.warning("temporary failure, answered 451: %s", exc)
            return STATUS_TEMPFAIL
        except Exception:  # a bug (the quarantine could not take it either): a few 451s, then 554
            if self.failures.exhausted(raw):
                self.failures.forget(raw)
                log.exception("unexpected error while storing a message, again; answered 554")
                return STATUS_FAILED
            log.exception("unexpected error while storing a message; answered 451")
            return STATUS_TEMPFAIL
        log.info("message %s: ticket %s (%s)", result.action.value, result.ticket_number, result.reason)
        return STATUS_STORED


class _ChunkedData:
    """Command lines capped at COMMAND_LINE_BYTES; DATA read in chunks, not line by line.

    aiosmtpd reads commands and DATA through one StreamReader whose limit caps a line: a command line
    of megabytes is refused (500) after reading at most COMMAND_LINE_BYTES of it at a time. Its own
    DATA loop handles one line per step in Python and, holding a 25 MB line limit for the webmails
    that send a whole HTML body on one line, lets the reader buffer the whole message first: 40,000
    short lines then kept the event loop for a second. Here DATA is read in chunks of at most
    DATA_CHUNK bytes (the transport pauses beyond twice that), the end found with ``bytes.find``, and
    the dot-stuffing undone in one ``replace``: lines of any length up to the size limit, linear
    work, and the loop is given back between chunks.
    """

    _reader: asyncio.StreamReader
    envelope: Envelope | None
    data_size_limit: int | None

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:  # noqa: N802 - aiosmtpd's command method
        server: Any = self
        if await server.check_helo_needed() or await server.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await server.push("503 Error: need RCPT command")
            return
        if arg:
            await server.push("501 Syntax: DATA")
            return
        await server.push("354 End data with <CR><LF>.<CR><LF>")
        self._reader._limit = DATA_CHUNK  # type: ignore[attr-defined]  # flow control only: read() ignores it
        try:
            content, too_big = await read_data(self._reader, self.data_size_limit)
        finally:
            self._reader._limit = COMMAND_LINE_BYTES + 1  # type: ignore[attr-defined]
        if content is None:  # the client went away mid-DATA
            return
        if too_big:
            await server.push("552 Error: Too much mail data")
            server._set_post_data_state()
            return
        self.envelope.content = content
        self.envelope.original_content = content
        status = await server._call_handler_hook("DATA")
        server._set_post_data_state()
        await server.push("250 OK" if status is MISSING else status)


DATA_CHUNK = 64 * 1024
_END = b"\r\n.\r\n"


async def read_data(reader: asyncio.StreamReader, limit: int | None) -> tuple[bytes | None, bool]:
    """The message after ``354`` up to the lone-dot line, dot-stuffing undone (RFC 5321 § 4.5.2).

    Returns (content, too_big); content None when the connection closed first. Past ``limit`` the rest
    is read and dropped (the answer is 552 once the end comes). What follows the end (a pipelined
    command) is put back for the command loop."""
    buf = bytearray(b"\r\n")  # the CRLF that ended the DATA line: an empty message is just ".\r\n"
    scanned = 0
    dropped = 0
    while True:
        end = buf.find(_END, scanned)
        if end >= 0:
            rest = bytes(buf[end + len(_END):])
            if rest:
                reader._buffer[0:0] = rest  # type: ignore[attr-defined]  # asyncio has no unread()
            if dropped:
                return b"", True
            body = bytes(buf[: end + 2]).replace(b"\r\n.", b"\r\n")[2:]
            return body, bool(limit and len(body) > limit)
        scanned = max(0, len(buf) - len(_END) + 1)
        if limit and len(buf) > limit + 2 * DATA_CHUNK:  # over the limit: keep only a tail to find the end in
            dropped += len(buf) - len(_END)
            del buf[: len(buf) - len(_END)]
            scanned = 0
        chunk = await reader.read(DATA_CHUNK)
        if not chunk:
            return None, False
        buf += chunk


class HelpdeskSMTP(_ChunkedData, SMTP):
    def __init__(self, handler: Any, **kwargs: Any) -> None:
        self.line_length_limit = COMMAND_LINE_BYTES + 1  # read by SMTP.__init__ for its StreamReader
        super().__init__(handler, **kwargs)


class HelpdeskLMTP(_ChunkedData, LMTP):
    def __init__(self, handler: Any, **kwargs: Any) -> None:
        self.line_length_limit = COMMAND_LINE_BYTES + 1
        super().__init__(handler, **kwargs)


async def serve_mail(
    ingest: MailIngest,
    *,
    host: str,
    port: int,
    addresses: Sequence[str],
    max_bytes: int,
    protocol: str = "smtp",
    hostname: str = "localhost",
    tls: InboundTls | None = None,
) -> asyncio.Server:
    """Start listening; the returned server's sockets tell the bound port (port 0 picks one).

    `tls`: None for plaintext only; else STARTTLS offered (and required when `tls.require`), or implicit TLS.
    """
    lmtp = protocol == "lmtp"
    tls_context: ssl.SSLContext | None = None  # STARTTLS
    listener_ssl: ssl.SSLContext | None = None  # implicit TLS: the socket speaks TLS from the first byte
    require = False
    if tls is not None and tls.mode == "implicit":
        listener_ssl = tls.context
    elif tls is not None:
        tls_context, require = tls.context, tls.require
    handler = MailHandler(ingest, addresses, max_bytes, lmtp=lmtp, require_tls=require)
    loop = asyncio.get_running_loop()
    cls = HelpdeskLMTP if lmtp else HelpdeskSMTP

    def factory() -> SMTP:
        return cls(
            handler, data_size_limit=max_bytes, enable_SMTPUTF8=True,
            decode_data=False, hostname=hostname, ident="CRAIG assistance", loop=loop, timeout=300,
            tls_context=tls_context,
            # aiosmtpd's gate answers 530 to everything but EHLO/NOOP/STARTTLS/QUIT; LMTP needs LHLO through,
            # so LMTP relies on the handler's gate alone.
            require_starttls=require and not lmtp,
        )

    return await loop.create_server(factory, host=host, port=port, ssl=listener_ssl)


async def start_smtp(ingest: MailIngest, *, host: str, port: int, addresses: Sequence[str], max_bytes: int,
                     protocol: str, hostname: str, tls: InboundTls | None) -> Callable[[], Awaitable[None]]:
    """Listen until the returned stopper is called (bootstrap.start_smtp gives it the settings)."""
    server = await serve_mail(ingest, host=host, port=port, addresses=addresses, max_bytes=max_bytes,
                              protocol=protocol, hostname=hostname, tls=tls)
    log.info("%s listening on %s:%s for %s (%s)", protocol.upper(), host, port, ", ".join(addresses),
             tls.describe() if tls else "no TLS")

    async def stop() -> None:
        server.close()
        await server.wait_closed()

    return stop
