"""The composition root: builds every service from the settings; starts and stops the edges.

Nothing runs at import time. Tests pass fakes (clock, senders) as overrides.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from helpdesk.app.intake import GroupCommitter, IntakeHook, IntakeService
from helpdesk.app.kb_sync import KbStore
from helpdesk.app.outbox import OutboxDispatcher, OutboxSender
from helpdesk.app.tickets import TicketService
from helpdesk.app.users import UserService
from helpdesk.config import Settings
from helpdesk.db import migrate
from helpdesk.db.engine import Database
from helpdesk.ports import Clock, SystemClock

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Clock
    intake: IntakeService
    group_intake: GroupCommitter
    tickets: TicketService
    users: UserService
    kb_store: KbStore
    outbox: OutboxDispatcher
    extras: dict[str, Any] = field(default_factory=dict)

    async def readiness_problems(self) -> list[str]:
        problems = []
        if not await self.db.ping():
            problems.append("database unreachable")
        else:
            try:
                if not await migrate.is_current(self.db.url):
                    problems.append("database migrations not current: run `helpdesk db upgrade`")
            except Exception as exc:  # noqa: BLE001 - readiness reports, never raises
                problems.append(f"migration check failed: {type(exc).__name__}")
        return problems


def build(
    settings: Settings,
    *,
    clock: Clock | None = None,
    senders: Mapping[str, OutboxSender] | None = None,
    hooks: list[IntakeHook] | None = None,
) -> Services:
    clock = clock or SystemClock()
    db = Database(settings.database_url)
    mail_domain = settings.mail_addresses[0].split("@", 1)[1] if settings.mail_addresses else "localhost"
    intake = IntakeService(db, clock, hooks or [])
    owner = f"{socket.gethostname()}:{os.getpid()}"
    return Services(
        settings=settings,
        db=db,
        clock=clock,
        intake=intake,
        group_intake=GroupCommitter(intake),
        tickets=TicketService(db, clock, mail_domain=mail_domain),
        users=UserService(db, clock),
        kb_store=KbStore(db, clock),
        outbox=OutboxDispatcher(db, clock, senders or {}, owner=owner),
    )


# Each edge registers a starter: an async function that starts it and returns its stopper.
Stopper = Callable[[], Awaitable[None]]
Starter = Callable[[Services], Awaitable[Stopper | None]]


async def start_web(services: Services) -> Stopper:
    from helpdesk.web.app import make_app

    runner = web.AppRunner(make_app(services), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, services.settings.http_host, services.settings.http_port)
    await site.start()
    log.info("web listening on http://%s:%s", services.settings.http_host, services.settings.http_port)
    return runner.cleanup


async def start_outbox_worker(services: Services, interval: float = 1.0) -> Stopper:
    stop = asyncio.Event()

    async def loop() -> None:
        while not stop.is_set():
            try:
                handled = await services.outbox.run_once()
            except Exception:
                log.exception("outbox dispatcher failed; retrying")
                handled = 0
            if not handled:
                try:
                    await asyncio.wait_for(stop.wait(), timeout=interval)
                except TimeoutError:
                    pass

    task = asyncio.create_task(loop())

    async def stopper() -> None:
        stop.set()
        await task

    return stopper


def starters() -> list[Starter]:
    """The edges `helpdesk serve` starts, in order. Channels add theirs here."""
    return [start_web, start_outbox_worker]


async def serve(services: Services, ready: asyncio.Event | None = None, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    stoppers: list[Stopper] = []
    try:
        for starter in starters():
            stopper = await starter(services)
            if stopper is not None:
                stoppers.append(stopper)
        if ready is not None:
            ready.set()
        await stop.wait()
    finally:
        for stopper in reversed(stoppers):
            try:
                await stopper()
            except Exception:
                log.exception("error while stopping")
        await services.db.dispose()
