"""The SMTP/LMTP edge (aiosmtpd inside our event loop).

Cheap refusals first: RCPT for an address that is not the helpdesk's gets 550 (never an open
relay), a message over the size limit gets 552 (aiosmtpd checks SIZE and DATA). Lines longer than
1,000 bytes are accepted (webmails send whole HTML bodies on one line). 250 only once the raw
message and its ticket are committed; 451 when the storage cannot commit, so the sender retries.

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
from aiosmtpd.smtp import SMTP, Envelope, Session

from channels.email.ingest import MailIngest
from channels.email.tls import InboundTls
from helpdesk.domain.errors import TemporaryError

log = logging.getLogger(__name__)

STATUS_STORED = "250 2.0.0 Ok: message enregistré"
STATUS_RCPT_OK = "250 2.1.5 Ok"
STATUS_UNKNOWN_RCPT = "550 5.1.1 Destinataire inconnu : ce serveur n'accepte que les adresses de l'assistance"
STATUS_TOO_BIG = "552 5.3.4 Message trop volumineux"
STATUS_TEMPFAIL = "451 4.3.0 Erreur temporaire de stockage, réessayez plus tard"
STATUS_TLS_FIRST = "530 5.7.0 Must issue a STARTTLS command first"  # the wording of aiosmtpd's own gate


def redact(address: str) -> str:
    """An address for the logs: the domain only."""
    return "…@" + address.rsplit("@", 1)[-1] if "@" in address else "…"


class MailHandler:
    """aiosmtpd handler hooks: no AUTH advertised, TLS-required gate, RCPT filtering and DATA → MailIngest."""

    def __init__(self, ingest: MailIngest, addresses: Sequence[str], max_bytes: int, *, lmtp: bool = False,
                 require_tls: bool = False) -> None:
        self.ingest = ingest
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
            status = await self._store(raw, (envelope.mail_from or "").strip().strip("<>"))
        if self.lmtp:  # LMTP answers once per accepted recipient
            return "\r\n".join([status] * max(1, len(envelope.rcpt_tos)))
        return status

    async def _store(self, raw: bytes, mail_from: str) -> str:
        try:
            result = await self.ingest.process(raw, envelope_sender=mail_from)
        except TemporaryError as exc:
            log.warning("temporary failure, answered 451: %s", exc)
            return STATUS_TEMPFAIL
        except Exception:  # a bug: logged, answered temporary (nothing was stored)
            log.exception("unexpected error while storing a message; answered 451")
            return STATUS_TEMPFAIL
        log.info("message %s: ticket %s (%s)", result.action.value, result.ticket_number, result.reason)
        return STATUS_STORED


class HelpdeskSMTP(SMTP):
    """aiosmtpd refuses lines over 1,000 bytes; the helpdesk accepts them up to the size limit."""

    def __init__(self, handler: Any, *, line_limit: int, **kwargs: Any) -> None:
        self.line_length_limit = line_limit  # read by SMTP.__init__ for its StreamReader
        super().__init__(handler, **kwargs)


class HelpdeskLMTP(LMTP):
    def __init__(self, handler: Any, *, line_limit: int, **kwargs: Any) -> None:
        self.line_length_limit = line_limit
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
            handler, line_limit=max_bytes + 1024, data_size_limit=max_bytes, enable_SMTPUTF8=True,
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
