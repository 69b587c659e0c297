"""Inbound TLS on the SMTP/LMTP edge: real STARTTLS and implicit TLS handshakes over loopback, with a throwaway CA."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
import trustme
from cryptography.hazmat.primitives import serialization

from channels.email.server import serve_mail
from channels.email.tls import InboundTls, TlsMode, inbound_tls, load_server_context
from helpdesk.app.intake.service import GroupCommitter, IntakeService
from helpdesk.bootstrap import Edges, build, start_smtp
from helpdesk.config import Settings
from helpdesk.db.engine import Database
from helpdesk.db.tables import Blob, Message, Ticket
from helpdesk.domain.errors import UserError
from helpdesk.ports import FixedClock
from tests.e2e.test_smtp_server import ADDR, count, make_mail
from tests.e2e.test_smtp_wiring import free_port
from tests.integration.test_cli import cli_env, run
from tests.support.mail import build_ingest

SENDER = "sylvie@mairie-exemple.fr"


@dataclass(frozen=True)
class Pki:
    ca: trustme.CA
    cert: Path  # leaf chain for 127.0.0.1 / localhost
    key: Path
    other_key: Path  # a valid key of another certificate
    encrypted_key: Path

    def client_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context()  # verifies the chain and the host name
        self.ca.configure_trust(ctx)
        return ctx


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pki]:
    d = tmp_path_factory.mktemp("pki")
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    (d / "cert.pem").write_bytes(b"".join(p.bytes() for p in leaf.cert_chain_pems))
    leaf.private_key_pem.write_to_path(str(d / "key.pem"))
    ca.issue_cert("other.example").private_key_pem.write_to_path(str(d / "other-key.pem"))
    key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), password=None)
    (d / "encrypted-key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret")))
    yield Pki(ca, d / "cert.pem", d / "key.pem", d / "other-key.pem", d / "encrypted-key.pem")


def tls_of(pki: Pki, *, require: bool = False, mode: TlsMode = "starttls") -> InboundTls:
    return InboundTls(load_server_context(pki.cert, pki.key), mode=mode, require=require)


@pytest.fixture
async def listen(db: Database, clock: FixedClock) -> AsyncIterator[Any]:
    servers: list[asyncio.Server] = []

    async def start(tls: InboundTls | None, protocol: str = "smtp") -> int:
        ingest = build_ingest(db, clock, GroupCommitter(IntakeService(db, clock), window=0.005))
        server = await serve_mail(ingest, host="127.0.0.1", port=0, addresses=[ADDR], max_bytes=200_000,
                                  protocol=protocol, hostname="craig.fr", tls=tls)
        servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    try:
        yield start
    finally:
        for server in servers:
            server.close()
            await server.wait_closed()


async def stored(db: Database) -> tuple[int, int, int]:
    return await count(db, Ticket), await count(db, Message), await count(db, Blob)


async def test_starttls_with_a_verified_certificate_stores_the_message(listen: Any, pki: Pki, db: Database) -> None:
    port = await listen(tls_of(pki))
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=True, tls_context=pki.client_context())
    await client.connect()
    try:
        assert client.get_transport_info("sslcontext") is not None  # the session is encrypted
        await client.ehlo()
        assert not client.supports_extension("starttls")  # offered once, before the upgrade
        assert not client.supports_extension("auth")  # no submission service here, even over TLS
        errors, response = await client.sendmail(SENDER, [ADDR], make_mail("<tls@x>"))
    finally:
        await client.quit()
    assert errors == {} and response.startswith("2.0.0 Ok")
    tickets, messages, blobs = await stored(db)
    assert tickets == 1 and messages == 1 and blobs >= 1


async def test_a_client_that_does_not_trust_the_certificate_cannot_deliver(listen: Any, pki: Pki,
                                                                           db: Database) -> None:
    port = await listen(tls_of(pki))
    stranger = ssl.create_default_context()
    trustme.CA().configure_trust(stranger)  # trusts some other CA only
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=True, tls_context=stranger)
    with pytest.raises(ssl.SSLCertVerificationError):
        await client.connect()
    client.close()
    assert await stored(db) == (0, 0, 0)


def plaintext_attempt(port: int) -> dict[str, tuple[int, bytes]]:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as c:
        ehlo = c.ehlo("client.example")
        return {"ehlo": ehlo, "mail": c.mail(SENDER), "rcpt": c.rcpt(ADDR), "data": c.docmd("DATA")}


async def test_required_tls_refuses_a_plaintext_transaction_with_530(listen: Any, pki: Pki, db: Database) -> None:
    port = await listen(tls_of(pki, require=True))
    replies = await asyncio.to_thread(plaintext_attempt, port)
    assert replies["ehlo"][0] == 250 and b"STARTTLS" in replies["ehlo"][1]
    assert replies["mail"][0] == 530 and b"STARTTLS" in replies["mail"][1]
    assert replies["rcpt"][0] == 530 and replies["data"][0] == 530
    assert await stored(db) == (0, 0, 0)
    # The same listener takes the message once the client has upgraded.
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=True, tls_context=pki.client_context())
    await client.connect()
    errors, _ = await client.sendmail(SENDER, [ADDR], make_mail("<after-starttls@x>"))
    await client.quit()
    assert errors == {} and (await stored(db))[:2] == (1, 1)


async def test_without_required_tls_plaintext_still_delivers(listen: Any, pki: Pki, db: Database) -> None:
    port = await listen(tls_of(pki, require=False))

    def send() -> dict[str, tuple[int, bytes]]:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as c:
            return c.sendmail(SENDER, [ADDR], make_mail("<plain@x>"))

    assert await asyncio.to_thread(send) == {}
    assert (await stored(db))[:2] == (1, 1)


@pytest.mark.parametrize("with_cert", [False, True])
async def test_starttls_is_advertised_only_with_a_certificate(listen: Any, pki: Pki, with_cert: bool) -> None:
    port = await listen(tls_of(pki) if with_cert else None)

    def ehlo() -> tuple[bool, int]:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as c:
            c.ehlo("client.example")
            return c.has_extn("starttls"), c.docmd("STARTTLS")[0]

    advertised, answer = await asyncio.to_thread(ehlo)
    assert advertised is with_cert
    assert answer == (220 if with_cert else 454)  # 454: TLS not available


async def test_lmtp_offers_starttls_and_can_require_it(listen: Any, pki: Pki, db: Database) -> None:
    port = await listen(tls_of(pki, require=True), protocol="lmtp")
    context = pki.client_context()

    def exchange() -> tuple[Any, ...]:
        with smtplib.LMTP("127.0.0.1", port, timeout=30) as c:
            lhlo = c.ehlo("mx.craig.fr")  # LHLO goes through before STARTTLS (aiosmtpd's own gate refuses it)
            refused = c.mail(SENDER)
            c.rset()
            c.starttls(context=context)
            encrypted = c.sock is not None and isinstance(c.sock, ssl.SSLSocket)
            c.ehlo("mx.craig.fr")
            refusals = c.sendmail(SENDER, [ADDR], make_mail("<lmtp-tls@x>"))
            return lhlo, refused, encrypted, c.has_extn("starttls"), refusals

    lhlo, refused, encrypted, still_offered, refusals = await asyncio.to_thread(exchange)
    assert lhlo[0] == 250 and b"STARTTLS" in lhlo[1]
    assert refused[0] == 530
    assert encrypted and not still_offered and refusals == {}
    assert (await stored(db))[:2] == (1, 1)


async def test_implicit_tls_listener(listen: Any, pki: Pki, db: Database) -> None:
    port = await listen(tls_of(pki, mode="implicit", require=True))
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, use_tls=True, tls_context=pki.client_context())
    await client.connect()
    await client.ehlo()
    assert not client.supports_extension("starttls")  # already encrypted from the first byte
    errors, response = await client.sendmail(SENDER, [ADDR], make_mail("<implicit@x>"))
    await client.quit()
    assert errors == {} and response.startswith("2.0.0 Ok")
    assert (await stored(db))[:2] == (1, 1)

    # A plaintext client gets no SMTP at all: its EHLO is not a TLS ClientHello, the server drops the connection.
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"EHLO client.example\r\n")
    await writer.drain()
    reply = await asyncio.wait_for(reader.read(), timeout=30)
    writer.close()
    assert b"220" not in reply and b"250" not in reply
    assert reply == b"" or reply[0] == 0x15  # nothing, or a TLS alert record


async def test_start_smtp_wires_the_settings(pki: Pki, db: Database, clock: FixedClock) -> None:
    port = free_port()
    settings = Settings(database_url=db.url, smtp_host="127.0.0.1", smtp_port=port, smtp_tls_cert=pki.cert,
                        smtp_tls_key=pki.key, smtp_require_tls=True)
    services = build(settings, clock=clock)
    stop = await start_smtp(Edges(services, settings))
    assert stop is not None
    try:
        replies = await asyncio.to_thread(plaintext_attempt, port)
        assert b"STARTTLS" in replies["ehlo"][1] and replies["mail"][0] == 530
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=True,
                                 tls_context=pki.client_context())
        await client.connect()
        errors, _ = await client.sendmail(SENDER, [ADDR], make_mail("<wired-tls@x>"))
        await client.quit()
        assert errors == {} and (await stored(db))[:2] == (1, 1)
    finally:
        await stop()
        await services.db.dispose()


def settings_with(**values: Any) -> Settings:
    return Settings(database_url="sqlite+aiosqlite:///unused.sqlite3", **values)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p, t: {"smtp_tls_cert": t / "missing.pem", "smtp_tls_key": p.key},
         "HELPDESK_SMTP_TLS_CERT: cannot read {t}/missing.pem: No such file or directory"),
        (lambda p, t: {"smtp_tls_cert": p.cert, "smtp_tls_key": t / "missing.pem"},
         "HELPDESK_SMTP_TLS_KEY: cannot read {t}/missing.pem: No such file or directory"),
        (lambda p, t: {"smtp_tls_cert": p.key, "smtp_tls_key": p.key},
         "HELPDESK_SMTP_TLS_CERT: {key} holds no valid PEM certificate"),
        (lambda p, t: {"smtp_tls_cert": p.cert, "smtp_tls_key": p.cert},
         "HELPDESK_SMTP_TLS_KEY: {cert} holds no PEM private key"),
        (lambda p, t: {"smtp_tls_cert": p.cert, "smtp_tls_key": p.other_key},
         "HELPDESK_SMTP_TLS_KEY: {other_key} is not the private key of HELPDESK_SMTP_TLS_CERT {cert}"),
        (lambda p, t: {"smtp_tls_cert": p.cert, "smtp_tls_key": p.encrypted_key},
         "HELPDESK_SMTP_TLS_KEY: {encrypted_key} is protected by a passphrase; give an unencrypted key "
         "readable by the service user only"),
        (lambda p, t: {"smtp_tls_cert": p.cert},
         "HELPDESK_SMTP_TLS_KEY is not set (HELPDESK_SMTP_TLS_CERT is): set both, or neither"),
        (lambda p, t: {"smtp_require_tls": True},
         "HELPDESK_SMTP_REQUIRE_TLS=true needs HELPDESK_SMTP_TLS_CERT and HELPDESK_SMTP_TLS_KEY"),
        (lambda p, t: {"smtp_tls_mode": "implicit"},
         "HELPDESK_SMTP_TLS_MODE=implicit needs HELPDESK_SMTP_TLS_CERT and HELPDESK_SMTP_TLS_KEY"),
    ],
    ids=["missing-cert", "missing-key", "not-a-cert", "not-a-key", "mismatch", "encrypted", "half", "require",
         "implicit"],
)
def test_tls_settings_errors_are_one_clear_line(pki: Pki, tmp_path: Path, make: Any, expected: str) -> None:
    with pytest.raises(UserError) as err:
        inbound_tls(settings_with(**make(pki, tmp_path)))
    paths = {"t": tmp_path, "key": pki.key, "cert": pki.cert, "other_key": pki.other_key,
             "encrypted_key": pki.encrypted_key}
    assert str(err.value) == expected.format(**paths)


def test_no_tls_settings_means_plaintext_only() -> None:
    assert inbound_tls(settings_with(smtp_tls_cert="", smtp_tls_key="")) is None


def test_serve_with_an_unreadable_certificate_exits_1_with_one_line(pki: Pki, tmp_path: Path) -> None:
    env = cli_env(f"sqlite+aiosqlite:///{tmp_path}/helpdesk.sqlite3", tmp_path)
    missing = tmp_path / "absent" / "cert.pem"
    env.update(HELPDESK_HTTP_PORT="0", HELPDESK_SMTP_HOST="127.0.0.1", HELPDESK_SMTP_PORT="0",
               HELPDESK_SMTP_TLS_CERT=str(missing), HELPDESK_SMTP_TLS_KEY=str(pki.key))
    out = run(["serve"], env)
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines()[-1] == (
        f"helpdesk: HELPDESK_SMTP_TLS_CERT: cannot read {missing}: No such file or directory")
