"""IMAP pull, for hosted mailboxes the centre cannot point at the SMTP edge (aioimaplib).

A sweep: list the messages of the folder not yet marked ``HelpdeskStored``, fetch each one without
setting \\Seen (BODY.PEEK[]), run it through the same path as SMTP, and only after its commit flag
it (or move it to the processed folder when one is configured). Nothing is ever deleted. A crash
between commit and flag means the message is seen again: the intake answers "duplicate"
(idempotent on Message-ID), never a second ticket. A storage fault stops the sweep; the message
stays unmarked and is taken again next time.

Two ways to run sweeps (HELPDESK_IMAP_MODE):

- ``poll``: log in, sweep, log out, every ``interval`` seconds.
- ``idle`` / ``auto``: one long connection. Sweep, then wait in IDLE (RFC 2177) until the server
  pushes EXISTS/RECENT, then sweep again. IDLE is re-issued every ``idle_renew`` seconds (29 min,
  under the servers' 30 min inactivity limit) and a safety sweep runs every ``interval`` seconds
  anyway, so a lost push never loses mail. A server that does not list IDLE in its CAPABILITY is
  polled instead (``idle`` says so with a warning at each connection, ``auto`` quietly). A
  connection error or a storage fault is logged, then the connection is dropped and re-opened
  after a bounded exponential back-off; the service never stops for it.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from aioimaplib import IMAP4, IMAP4_SSL, STOP_WAIT_SERVER_PUSH, AioImapException

from channels.email.ingest import MailIngest
from helpdesk.app.intake.messages import IntakeResult
from helpdesk.domain.errors import TemporaryError
from helpdesk.domain.values import IntakeAction
from helpdesk.workers import start_periodic

log = logging.getLogger(__name__)

STORED_KEYWORD = "HelpdeskStored"  # a plain atom: accepted by every server as a keyword
IDLE_RENEW_SECONDS = 29 * 60.0  # RFC 2177: re-issue IDLE at least every 29 minutes
RESWEEPS = 5  # sweeps in a row before idling, while each one finds new mail

ImapMode = Literal["auto", "idle", "poll"]


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
    interval: float = 60.0  # poll period; in IDLE mode, the safety sweep period
    timeout: float = 30.0
    mode: ImapMode = "auto"
    idle_renew: float = IDLE_RENEW_SECONDS  # internal: shorter in tests only
    backoff_base: float = 2.0  # first delay after a failure, doubled each failure in a row
    backoff_max: float = 300.0


# --- pure rules -------------------------------------------------------------------------------

def capability_names(tokens: Iterable[str]) -> frozenset[str]:
    """Capability atoms, upper-cased, without the brackets a ``[CAPABILITY …]`` response code leaves."""
    return frozenset(t.strip("[]()").upper() for t in tokens if t.strip("[]()"))


def use_idle(mode: ImapMode, capabilities: Iterable[str]) -> bool:
    """Whether to wait in IDLE: never in ``poll`` mode, and only when the server lists IDLE."""
    return mode != "poll" and "IDLE" in capability_names(capabilities)


_NEW_MAIL = re.compile(rb"^\*?\s*(\d+)\s+(EXISTS|RECENT)\s*$", re.IGNORECASE)


def is_new_mail_push(lines: Iterable[Any]) -> bool:
    """An IDLE push that may mean new mail: any ``n EXISTS``, or ``n RECENT`` with n > 0."""
    for line in lines:
        if not isinstance(line, bytes | bytearray):
            continue
        match = _NEW_MAIL.match(bytes(line).strip())
        if match and (match.group(2).upper() == b"EXISTS" or int(match.group(1)) > 0):
            return True
    return False


def backoff_delay(failures: int, base: float, cap: float) -> float:
    """Seconds to wait after ``failures`` failures in a row: base, 2·base, 4·base… at most ``cap``."""
    if failures <= 0:
        return 0.0
    return float(min(cap, base * 2 ** min(failures - 1, 32)))


# --- IMAP edge --------------------------------------------------------------------------------

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

    def client(self) -> IMAP4:
        c = self.config
        return IMAP4_SSL(c.host, c.port, timeout=c.timeout) if c.tls else IMAP4(c.host, c.port, timeout=c.timeout)

    async def open(self, client: IMAP4) -> None:
        """Greeting, LOGIN, SELECT of the folder."""
        c = self.config
        await client.wait_hello_from_server()
        _check(await client.login(c.user, c.password), "LOGIN")
        _check(await client.select(c.folder), f"SELECT {c.folder}")

    async def sweep(self, client: IMAP4) -> list[IntakeResult]:
        """Store every message not yet marked, marking each only after its commit."""
        c = self.config
        results: list[IntakeResult] = []
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
        return results

    async def poll_once(self) -> list[IntakeResult]:
        c = self.config
        client = self.client()
        try:
            await self.open(client)
            return await self.sweep(client)
        except (OSError, TimeoutError) as exc:
            raise ImapError(f"IMAP server unreachable: {type(exc).__name__}") from exc
        finally:
            try:
                await asyncio.wait_for(client.logout(), timeout=c.timeout)
            except Exception:  # noqa: BLE001 - the connection may already be gone
                log.debug("IMAP logout failed", exc_info=True)


async def _capabilities(client: IMAP4, limit: float) -> frozenset[str]:
    """What the server can do once logged in. Many servers list IDLE only after LOGIN, in the LOGIN
    answer or to a new CAPABILITY command: ask again when the answers so far do not list it."""
    protocol = client.protocol
    known = set(protocol.capabilities)
    if "IDLE" not in capability_names(known):
        try:
            await asyncio.wait_for(protocol.capability(), limit)  # replaces protocol.capabilities
        except (AioImapException, IndexError, TimeoutError):
            log.debug("IMAP CAPABILITY after login failed", exc_info=True)
        known |= set(protocol.capabilities)
    names = capability_names(known)
    protocol.capabilities = known | names  # aioimaplib checks the bare atoms (IDLE, MOVE…) itself
    return names


class ImapIdler:
    """The long-lived IDLE loop: sweep, idle until a push (or the safety sweep), sweep again."""

    def __init__(self, poller: ImapPoller) -> None:
        self.poller = poller
        self.config = poller.config
        self.failures = 0  # in a row; reset by a complete sweep
        self.sweeps = 0  # complete sweeps since start (for tests and logs)

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop`` is set. Never raises: every failure is logged and retried after a back-off."""
        c = self.config
        while not stop.is_set():
            try:
                idled = await self._session(stop)
                if not idled and not stop.is_set():  # no IDLE on this server: poll
                    await _wait(stop, c.interval)
                continue
            except TemporaryError as exc:
                self.failures += 1
                delay = backoff_delay(self.failures, c.backoff_base, c.backoff_max)
                log.warning("IMAP IDLE: temporary failure, reconnecting in %.1f s: %s", delay, exc)
            except Exception:
                self.failures += 1
                delay = backoff_delay(self.failures, c.backoff_base, c.backoff_max)
                log.exception("IMAP IDLE failed; reconnecting in %.1f s", delay)
            await _wait(stop, delay)

    async def _session(self, stop: asyncio.Event) -> bool:
        """One connection. Returns False after a single sweep when the server is to be polled."""
        c = self.config
        client = self.poller.client()
        lost = asyncio.Event()
        client.protocol.conn_lost_cb = lambda _exc: lost.set()
        try:
            await self.poller.open(client)
            if not use_idle(c.mode, await _capabilities(client, c.timeout)):
                if c.mode == "idle":
                    log.warning("IMAP server %s does not support IDLE: polling every %.0f s", c.host, c.interval)
                await self._sweep(client)
                return False
            while not stop.is_set():
                for _ in range(RESWEEPS):  # mail may have arrived during a sweep: again while it finds new mail
                    done = await self._sweep(client)
                    if stop.is_set() or all(r.action is IntakeAction.DUPLICATE for r in done):
                        break  # (a server ignoring our keyword hands back duplicates: do not spin on them)
                deadline = asyncio.get_running_loop().time() + c.interval  # safety sweep
                while not stop.is_set():
                    remaining = deadline - asyncio.get_running_loop().time()
                    if remaining <= 0:
                        break
                    if await self._idle(client, min(remaining, c.idle_renew), stop, lost):
                        break
            return True
        except (OSError, TimeoutError, AioImapException) as exc:
            raise ImapError(f"IMAP connection failed: {type(exc).__name__}: {exc}") from exc
        finally:
            await self._close(client, lost)

    async def _sweep(self, client: IMAP4) -> list[IntakeResult]:
        done = await self.poller.sweep(client)
        self.failures = 0
        self.sweeps += 1
        if done:
            log.info("IMAP: %d message(s) stored", len(done))
        return done

    async def _idle(self, client: IMAP4, window: float, stop: asyncio.Event, lost: asyncio.Event) -> bool:
        """One IDLE command, ended after ``window`` seconds, on ``stop`` or on a new-mail push
        (True). A dropped connection raises ImapError."""
        c = self.config
        # aioimaplib's own end-of-IDLE timer is set past ours: the loop below decides when to leave
        idle = await asyncio.wait_for(client.idle_start(timeout=window + c.timeout), c.timeout)
        new_mail = False
        try:
            end = asyncio.get_running_loop().time() + window
            while not new_mail and not stop.is_set():
                remaining = end - asyncio.get_running_loop().time()
                if remaining <= 0:
                    break
                push = asyncio.ensure_future(client.wait_server_push(timeout=remaining))
                waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(lost.wait())]
                try:
                    await asyncio.wait([push, idle, *waits], return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for task in (push, *waits):
                        if not task.done():
                            task.cancel()
                if lost.is_set():
                    raise ImapError("IMAP connection lost while idling")
                if idle.done():  # the server ended IDLE itself
                    break
                if not push.done() or push.cancelled():
                    continue
                try:
                    lines = push.result()
                except TimeoutError:
                    break
                if lines == STOP_WAIT_SERVER_PUSH:
                    break
                new_mail = is_new_mail_push(lines)
        except BaseException:
            idle.cancel()
            raise
        if client.has_pending_idle():
            client.idle_done()
        _check(await asyncio.wait_for(idle, c.timeout), "IDLE")
        return new_mail

    async def _close(self, client: IMAP4, lost: asyncio.Event) -> None:
        protocol = client.protocol
        if not lost.is_set() and not client.has_pending_idle():
            try:
                await asyncio.wait_for(client.logout(), timeout=self.config.timeout)
            except Exception:  # noqa: BLE001 - the connection may already be gone
                log.debug("IMAP logout failed", exc_info=True)
        for task in list(client.tasks):  # an IDLE left pending on a dead connection would wait forever
            task.cancel()
        if protocol.transport is not None:
            protocol.transport.close()


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass


async def start_idle(poller: ImapPoller) -> Callable[[], Awaitable[None]]:
    stop = asyncio.Event()
    task = asyncio.create_task(ImapIdler(poller).run(stop), name="IMAP IDLE")

    async def stopper() -> None:
        stop.set()
        await task

    return stopper


async def start_imap(ingest: MailIngest, config: ImapConfig) -> Callable[[], Awaitable[None]]:
    """IDLE or polling, per ``config.mode`` (bootstrap.start_imap gives it the settings)."""
    poller = ImapPoller(ingest, config)
    if config.mode != "poll":
        log.info("IMAP: %s on %s, IDLE when the server offers it", config.folder, config.host)
        return await start_idle(poller)

    async def step() -> bool:
        done = await poller.poll_once()
        if done:
            log.info("IMAP: %d message(s) stored", len(done))
        return False

    return await start_periodic(step, config.interval, "IMAP poll")
