"""Background loops: one helper that runs a step every few seconds until `helpdesk serve` stops.

Used by the Outbox dispatcher, the SLA escalation job and the IMAP poller.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from helpdesk.domain.errors import TemporaryError

log = logging.getLogger(__name__)

Stopper = Callable[[], Awaitable[None]]


async def start_periodic(step: Callable[[], Awaitable[bool]], interval: float, name: str) -> Stopper:
    """Run ``step`` until stopped. A step returning True has more work: it runs again at once;
    otherwise (or after an error, logged, never fatal) the loop waits ``interval`` seconds."""
    stop = asyncio.Event()

    async def loop() -> None:
        while not stop.is_set():
            busy = False
            try:
                busy = await step()
            except TemporaryError as exc:
                log.warning("%s: temporary failure, retrying in %.0f s: %s", name, interval, exc)
            except Exception:
                log.exception("%s failed; retrying in %.0f s", name, interval)
            if busy:
                continue
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
            except TimeoutError:
                pass

    task = asyncio.create_task(loop(), name=name)

    async def stopper() -> None:
        stop.set()
        await task

    return stopper
