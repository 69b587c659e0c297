"""The composition root: builds every service from the settings; starts and stops the edges.

Nothing runs at import time. Tests pass fakes (clock, senders) as overrides.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from helpdesk.app.chat.hooks import ChatIntakeHook, ask_rating_in_chat
from helpdesk.app.faq.sync import KbStore
from helpdesk.app.intake.routing import RoutingHook
from helpdesk.app.intake.service import GroupCommitter, IntakeHook, IntakeService
from helpdesk.app.outbox import OutboxDispatcher, OutboxSender
from helpdesk.app.satisfaction.rating_mail import RatingMailer
from helpdesk.app.sla.service import refresh as sla_refresh
from helpdesk.app.staff.accounts import UserService
from helpdesk.app.tickets.service import TicketService
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
    intake = IntakeService(db, clock, [RoutingHook(), ChatIntakeHook(staff_chat=settings.telegram_staff_chat),
                                       *(hooks or []), *_mail_hooks(settings, mail_domain),
                                       *_check_hooks(settings), *_published_hooks(settings)])  # routing, SLA first
    tickets = TicketService(db, clock, mail_domain=mail_domain)
    tickets.after_change.append(sla_refresh)
    if settings.telegram_token is not None:
        tickets.after_change.append(ask_rating_in_chat)  # satisfaction buttons when a chat ticket is resolved
    if settings.smtp_relay_host:  # the one-click rating mail when an email ticket is resolved
        tickets.after_change.append(RatingMailer(settings.public_url, mail_domain))
    owner = f"{socket.gethostname()}:{os.getpid()}"
    kb_store = KbStore(db, clock)
    extras: dict[str, Any] = {}
    return Services(
        settings=settings,
        db=db,
        clock=clock,
        intake=intake,
        group_intake=GroupCommitter(intake),
        tickets=tickets,
        users=UserService(db, clock),
        kb_store=kb_store,
        extras=extras,
        outbox=OutboxDispatcher(db, clock, {**_channel_senders(settings, db, clock, kb_store, extras),
                                            **_check_senders(settings, db, clock, mail_domain),
                                            **_published_senders(settings, db, clock), **(senders or {})},
                                owner=owner, retry_base=settings.outbox_retry_base_seconds),
    )


def _check_hooks(settings: Settings) -> list[IntakeHook]:
    """File checks of attachments (helpdesk/app/intake/file_checks.py), unless HELPDESK_FILE_CHECKS is off."""
    from helpdesk.app.intake.file_checks import FileCheckHook

    return [FileCheckHook()] if settings.file_checks else []


def _check_senders(settings: Settings, db: Database, clock: Clock, mail_domain: str) -> dict[str, OutboxSender]:
    from helpdesk.app.intake.file_checks import FILECHECK, FileCheckSender

    sender = FileCheckSender(db, clock, public_url=settings.public_url, mail_domain=mail_domain)
    return {FILECHECK: sender} if settings.file_checks else {}


def _published_hooks(settings: Settings) -> list[IntakeHook]:
    """Published-data look-ups (helpdesk/app/published), unless HELPDESK_PUBLISHED_CHECKS is off."""
    from helpdesk.app.published.jobs import PublishedDataHook

    return [PublishedDataHook()] if settings.published_checks else []


def _published_senders(settings: Settings, db: Database, clock: Clock) -> dict[str, OutboxSender]:
    """The look-up job's sender: the safe fetcher, the udata and CSW clients, the file checks behind a port."""
    if not settings.published_checks:
        return {}
    from helpdesk.app.published.jobs import PUBLISHED, PublishedDataSender
    from helpdesk.published.csw import CswClient
    from helpdesk.published.datagouv import DatagouvClient
    from helpdesk.published.fetch import FetchPolicy, SafeFetcher
    from helpdesk.published.filecheck import ChecksFileChecker
    from helpdesk.published.service import PublishedDataService

    checker = ChecksFileChecker()
    fetcher = SafeFetcher(FetchPolicy.build(
        api_url=settings.datagouv_api_url, csw_url=settings.csw_url, fetch_hosts=settings.fetch_hosts,
        enabled=settings.fetch_enabled, timeout=settings.fetch_timeout, max_bytes=checker.max_bytes,
        per_ticket=settings.fetch_per_ticket, global_per_minute=settings.fetch_per_minute))
    service = PublishedDataService(
        fetcher, checker, clock, datagouv=DatagouvClient(fetcher, settings.datagouv_api_url),
        csw=CswClient(fetcher, settings.csw_url) if settings.csw_url else None, max_file_bytes=checker.max_bytes)
    return {PUBLISHED: PublishedDataSender(db, clock, service)}


def _channel_senders(settings: Settings, db: Database, clock: Clock, kb_store: KbStore,
                     extras: dict[str, Any]) -> dict[str, OutboxSender]:
    """Outbox senders the settings call for (tests override them with ``senders``)."""
    out: dict[str, OutboxSender] = {}
    if settings.telegram_token is not None and settings.telegram_token.get_secret_value():
        from channels.telegram.sender import TelegramSender, make_bot
        from helpdesk.app.chat.service import ChatService

        bot = make_bot(settings.telegram_token.get_secret_value(), settings.telegram_base_url)
        out["telegram"] = TelegramSender(bot, on_blocked=ChatService(db, clock).mark_blocked)
    if settings.smtp_relay_host:
        from channels.email.sender import SmtpRelaySender
        from helpdesk.app.faq.index import FaqIndex
        from helpdesk.app.mail.acknowledge import AckFinisher, AckFinishingSender

        password = settings.smtp_relay_password.get_secret_value() if settings.smtp_relay_password else None
        relay = SmtpRelaySender(
            host=settings.smtp_relay_host, port=settings.smtp_relay_port, security=settings.smtp_relay_security,
            username=settings.smtp_relay_user, password=password, from_address=settings.mail_addresses[0],
            from_name=settings.mail_from_name, clock=clock,
        )
        faq = extras.setdefault("faq_index", FaqIndex(db, kb_store))  # shared with the SMTP edge's suggester
        # The acknowledgement mails FAQ entries only when nearly certain, at most two (purpose "mail").
        out["email"] = AckFinishingSender(relay, AckFinisher(db, functools.partial(faq.search, purpose="mail"),
                                                             settings.public_url))
    return out


def _mail_hooks(settings: Settings, mail_domain: str) -> list[IntakeHook]:
    """Email intake hooks: clear a bouncing flag on human mail; acknowledge new tickets (needs a relay)."""
    from channels.email.ingest import reprocessor, ticket_maker
    from helpdesk.app.mail.acknowledge import AcknowledgementHook
    from helpdesk.app.mail.automatic_admin import register_ticket_maker
    from helpdesk.app.mail.bounces import ClearBouncingHook
    from helpdesk.app.quarantine.service import register_reprocessor

    register_reprocessor("email", reprocessor)
    register_ticket_maker("email", ticket_maker)
    hooks: list[IntakeHook] = [ClearBouncingHook()]
    if settings.acknowledge and settings.smtp_relay_host:
        hooks.append(AcknowledgementHook(own_addresses=settings.mail_addresses, public_url=settings.public_url,
                                         mail_domain=mail_domain))
    return hooks


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


async def start_outbox_worker(services: Services) -> Stopper:
    from helpdesk.workers import start_periodic

    async def step() -> bool:
        return bool(await services.outbox.run_once())

    return await start_periodic(step, services.settings.outbox_poll_seconds, "outbox dispatcher")


async def start_telegram(services: Services) -> Stopper | None:
    from channels.telegram.bot import start_telegram as start

    return await start(services)


async def start_escalation(services: Services) -> Stopper:
    from helpdesk.app.sla.escalation import start_escalation_worker

    return await start_escalation_worker(services)


async def start_smtp(services: Services) -> Stopper | None:
    from channels.email.server import start_smtp as start

    return await start(services)


async def start_imap(services: Services) -> Stopper | None:
    from channels.email.imap import start_imap as start

    return await start(services)


def starters() -> list[Starter]:
    """The edges `helpdesk serve` starts, in order. Channels add theirs here."""
    return [start_web, start_smtp, start_imap, start_telegram, start_outbox_worker, start_escalation]


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
