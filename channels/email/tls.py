"""TLS for the inbound SMTP/LMTP edge: the server context from PEM files, checked at start.

Every problem is a UserError of one line naming the setting and the path (the CLI prints it and exits 1):
a missing or unreadable file, a file without a PEM certificate or key, a key protected by a passphrase
(a daemon cannot type it), a key that does not match the certificate.
"""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from helpdesk.domain.errors import UserError

CERT_VAR = "HELPDESK_SMTP_TLS_CERT"
KEY_VAR = "HELPDESK_SMTP_TLS_KEY"
REQUIRE_VAR = "HELPDESK_SMTP_REQUIRE_TLS"
MODE_VAR = "HELPDESK_SMTP_TLS_MODE"

TlsMode = Literal["starttls", "implicit"]

_PRIVATE_KEY = re.compile(rb"-----BEGIN (?:[A-Z0-9]+ )?PRIVATE KEY-----")
_ENCRYPTED_KEY = re.compile(rb"-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,\s*ENCRYPTED")


@dataclass(frozen=True)
class InboundTls:
    """What the listener needs: the server context, STARTTLS or implicit TLS, and whether plaintext is refused."""

    context: ssl.SSLContext
    mode: TlsMode = "starttls"
    require: bool = False

    def describe(self) -> str:
        if self.mode == "implicit":
            return "implicit TLS"
        return "STARTTLS required" if self.require else "STARTTLS offered"


class _PassphraseNeeded(Exception):
    pass


def _no_passphrase() -> bytes:
    raise _PassphraseNeeded


def _read(var: str, path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UserError(f"{var}: cannot read {path}: {exc.strerror or exc}") from None


def load_server_context(cert: str | Path, key: str | Path) -> ssl.SSLContext:
    """A server-side context with the certificate chain (leaf first) and its unencrypted private key."""
    cert_path, key_path = Path(cert), Path(key)
    cert_pem, key_pem = _read(CERT_VAR, cert_path), _read(KEY_VAR, key_path)
    try:  # parse the certificates alone first, so a bad one is blamed on the right setting
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=cert_pem.decode("ascii", "replace"))
    except ssl.SSLError:
        raise UserError(f"{CERT_VAR}: {cert_path} holds no valid PEM certificate") from None
    if not _PRIVATE_KEY.search(key_pem):
        raise UserError(f"{KEY_VAR}: {key_path} holds no PEM private key")
    if _ENCRYPTED_KEY.search(key_pem):
        raise UserError(f"{KEY_VAR}: {key_path} is protected by a passphrase; give an unencrypted key "
                        "readable by the service user only")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)  # no client certificates asked
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert_path, key_path, password=_no_passphrase)
    except _PassphraseNeeded:
        raise UserError(f"{KEY_VAR}: {key_path} is protected by a passphrase; give an unencrypted key") from None
    except ssl.SSLError as exc:
        if exc.reason == "KEY_VALUES_MISMATCH":
            raise UserError(f"{KEY_VAR}: {key_path} is not the private key of {CERT_VAR} {cert_path}") from None
        raise UserError(f"{KEY_VAR}: cannot load {key_path} with {cert_path}: {exc.reason or exc}") from None
    except OSError as exc:  # the files changed in between
        raise UserError(f"{CERT_VAR}/{KEY_VAR}: cannot read {cert_path} or {key_path}: {exc.strerror or exc}") from None
    return context


def inbound_tls(settings: Any) -> InboundTls | None:
    """The TLS of the listener from the settings; None when no certificate is configured."""
    cert, key = settings.smtp_tls_cert, settings.smtp_tls_key
    if cert is None and key is None:
        if settings.smtp_require_tls:
            raise UserError(f"{REQUIRE_VAR}=true needs {CERT_VAR} and {KEY_VAR}")
        if settings.smtp_tls_mode == "implicit":
            raise UserError(f"{MODE_VAR}=implicit needs {CERT_VAR} and {KEY_VAR}")
        return None
    if cert is None or key is None:
        missing, given = (CERT_VAR, KEY_VAR) if cert is None else (KEY_VAR, CERT_VAR)
        raise UserError(f"{missing} is not set ({given} is): set both, or neither")
    return InboundTls(load_server_context(cert, key), mode=settings.smtp_tls_mode,
                      require=bool(settings.smtp_require_tls))
