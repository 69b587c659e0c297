"""IMAP pull, for hosted mailboxes the centre cannot point at the SMTP edge (aioimaplib, polling).

Each poll: log in, select the folder, list the messages not yet marked ``HelpdeskStored``, fetch
each one without setting \\Seen (BODY.PEEK[]), run it through the same path as SMTP, and only
after its commit flag it (or move it to the processed folder when one is configured). Nothing is
ever deleted. A crash between commit and flag means the message is seen again: the intake answers
"duplicate" (idempotent on Message-ID), never a second ticket. A storage fault stops the poll; the
message stays unmarked and is taken again next time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aioimaplib import IMAP4, IMAP4_SSL

from channels.email.ingest import MailIngest, build_ingest
from helpdesk.app.messages import IntakeResult
from helpdesk.domain.errors import TemporaryError
from helpdesk.workers import start_periodic

log = logging.getLogger(__name__)

STORED_KEYWORD = "HelpdeskStored"  # a plain atom: accepted by every server as a keyword


class ImapError(TemporaryError):
    """The mailbox answered something other than OK (or not at all): try again at the next poll."""


@dataclass(frozen=True, slots=True)
class ImapConfig:
    host: str
    user: str
    password: str
    port: int = 993
    tls: bool = True
    folder: str = "INBOX"
    processed_folder: str | None = None
    interval: float = 60.0
    timeout: float = 30.0


def _check(response: Any, what: str) -> Any:
    if getattr(response, "result", None) != "OK":
        result, lines = getattr(response, "result", "?"), getattr(response, "lines", "")
        raise ImapError(f"IMAP {what} failed: {result} {lines!r:.200}")
    return response


def _literal(lines: list[Any]) -> bytes | None:
    """The message bytes in a FETCH response (the literal that follows ``{n}``)."""
    for line in lines:
        if isinstance(line, bytearray):
            return bytes(line)
    return None


class ImapPoller:
    def __init__(self, ingest: MailIngest, config: ImapConfig) -> None:
        self.ingest = ingest
        self.config = config

    async def poll_once(self) -> list[IntakeResult]:
        c = self.config
        client = IMAP4_SSL(c.host, c.port, timeout=c.timeout) if c.tls else IMAP4(c.host, c.port, timeout=c.timeout)
        results: list[IntakeResult] = []
        try:
            await client.wait_hello_from_server()
            _check(await client.login(c.user, c.password), "LOGIN")
            _check(await client.select(c.folder), f"SELECT {c.folder}")
            found = _check(await client.uid_search(f"UNKEYWORD {STORED_KEYWORD}", charset=None), "SEARCH")
            uids = [u for u in (found.lines[0].decode().split() if found.lines else []) if u.isdigit()]
            for uid in uids:
                fetched = _check(await client.uid("fetch", uid, "(BODY.PEEK[])"), f"FETCH {uid}")
                raw = _literal(fetched.lines)
                if raw is None:
                    log.warning("IMAP message %s has no body in the FETCH answer; left for the next poll", uid)
                    continue
                results.append(await self.ingest.process(raw))  # StorageUnavailable: stop, leave unmarked
                if c.processed_folder:
                    # "n:n" is the same one-message set (and what aioimaplib's test server parses)
                    _check(await client.uid("move", f"{uid}:{uid}", c.processed_folder), f"MOVE {uid}")
                else:
                    _check(await client.uid("store", uid, "+FLAGS", f"({STORED_KEYWORD} \\Seen)"), f"STORE {uid}")
        except (OSError, TimeoutError) as exc:
            raise ImapError(f"IMAP server unreachable: {type(exc).__name__}") from exc
        finally:
            try:
                await asyncio.wait_for(client.logout(), timeout=c.timeout)
            except Exception:  # noqa: BLE001 - the connection may already be gone
                log.debug("IMAP logout failed", exc_info=True)
        return results


async def start_imap(services: Any) -> Callable[[], Awaitable[None]] | None:
    """The starter `helpdesk serve` runs when HELPDESK_IMAP_HOST is set: polls every interval."""
    s = services.settings
    if not getattr(s, "imap_host", None):
        return None
    config = ImapConfig(
        host=s.imap_host, port=s.imap_port, tls=s.imap_tls, user=s.imap_user or "",
        password=s.imap_password.get_secret_value() if s.imap_password else "", folder=s.imap_folder,
        processed_folder=s.imap_processed_folder or None, interval=s.imap_interval,
    )
    poller = ImapPoller(build_ingest(services.db, services.clock, services.group_intake), config)

    async def step() -> bool:
        done = await poller.poll_once()
        if done:
            log.info("IMAP: %d message(s) stored", len(done))
        return False

    return await start_periodic(step, config.interval, "IMAP poll")
