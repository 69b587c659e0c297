"""The composition root: the one place that knows the concrete classes, and starts every background loop.

``build(settings)`` makes the use cases (typed ``Services``, helpdesk/services.py); ``serve`` starts the
edges, each given the few objects and settings it uses. Nothing runs at import time. Only entry points
import this module: the CLI, ``helpdesk serve``, the benchmarks and the tests' fixtures. Tests pass fakes
(clock, senders, hooks) as overrides.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from helpdesk.app.chat.hooks import ChatIntakeHook, ask_rating_in_chat
from helpdesk.app.chat.link import ChatLinkService
from helpdesk.app.chat.service import ChatService
from helpdesk.app.faq.admin import KbAdminService
from helpdesk.app.faq.gaps import GapsService
from helpdesk.app.faq.index import FaqIndex
from helpdesk.app.faq.proposals import ProposalService
from helpdesk.app.faq.sync import KbStore
from helpdesk.app.health import HealthService
from helpdesk.app.intake.routing import FaqTagRules, RoutingHook, RoutingRules, RulesCache
from helpdesk.app.intake.service import GroupCommitter, IntakeHook, IntakeService
from helpdesk.app.intake.web_requests import WebRequests
from helpdesk.app.live.hub import LiveHub
from helpdesk.app.mail.automatic_admin import AutomaticAdmin
from helpdesk.app.mail.bounces import AutomaticMailService
from helpdesk.app.metrics import SLA_NOTICES
from helpdesk.app.outbox import OutboxDispatcher
from helpdesk.app.outbox_status import OutboxStatus
from helpdesk.app.portal.service import PortalService
from helpdesk.app.portal.sharing import OrgSharing
from helpdesk.app.portal.signin import PortalAuth, PortalLinkSender
from helpdesk.app.privacy.gdpr import GdprService
from helpdesk.app.quarantine.admin import QuarantineAdmin
from helpdesk.app.quarantine.service import QuarantineService
from helpdesk.app.reports.attention import AttentionService
from helpdesk.app.reports.service import ReportService
from helpdesk.app.satisfaction.rating_mail import RatingMailer
from helpdesk.app.satisfaction.ratings import RatingService
from helpdesk.app.sla.admin import SlaAdmin
from helpdesk.app.sla.escalation import EscalationJob
from helpdesk.app.sla.service import SlaService
from helpdesk.app.sla.service import refresh as sla_refresh
from helpdesk.app.staff.accounts import UserService
from helpdesk.app.staff.admin import StaffAdmin
from helpdesk.app.staff.sessions import AuthService
from helpdesk.app.tickets.canned import CannedService
from helpdesk.app.tickets.merge_split import MergeSplitService
from helpdesk.app.tickets.page import TicketPageService
from helpdesk.app.tickets.queue import QueueService
from helpdesk.app.tickets.search import TicketSearch
from helpdesk.app.tickets.service import TicketService
from helpdesk.config import Settings
from helpdesk.db.engine import Database
from helpdesk.ports import Clock, LiveBus, OutboxSender, SystemClock
from helpdesk.services import Services
from helpdesk.workers import Stopper, start_periodic

if TYPE_CHECKING:
    from channels.email.ingest import MailIngest, Parse, Receiver, Suggest
    from channels.telegram.bot import TelegramChannel
    from channels.telegram.faq import FaqSearch

log = logging.getLogger(__name__)

ESCALATION_INTERVAL = 60.0


def build(
    settings: Settings,
    *,
    clock: Clock | None = None,
    senders: Mapping[str, OutboxSender] | None = None,
    hooks: list[IntakeHook] | None = None,
) -> Services:
    clock = clock or SystemClock()
    db = Database(settings.database_url)
    live = LiveHub(_live_bus(db), db, clock)
    db.before_commit.append(live.committing)  # the live staff queue hears of every committed change
    db.after_commit.append(live.committed)
    mail_domain = settings.mail_domain
    rules = RulesCache()  # one cache: the routing hook reads it, the rule admins invalidate it
    intake = IntakeService(db, clock, [RoutingHook(rules=rules),
                                       ChatIntakeHook(staff_chat=settings.telegram_staff_chat),
                                       *(hooks or []), *_mail_hooks(settings),
                                       *_check_hooks(settings), *_published_hooks(settings)])  # routing, SLA first
    tickets = TicketService(db, clock, mail_domain=mail_domain)
    tickets.after_change.append(sla_refresh)
    if settings.telegram_token is not None:
        tickets.after_change.append(ask_rating_in_chat)  # satisfaction buttons when a chat ticket is resolved
    if settings.smtp_relay_host:  # the one-click rating mail when an email ticket is resolved
        tickets.after_change.append(RatingMailer(settings.public_url, mail_domain))
    users = UserService(db, clock)
    kb_store = KbStore(db, clock)
    faq = FaqIndex(db, kb_store)
    chat = ChatService(db, clock, reopen_hours=settings.telegram_reopen_hours)
    quarantine = QuarantineService(db, clock)
    quarantine.add_reprocessor("email", _email_reprocessor(db, clock, intake, quarantine))
    portal_auth = PortalAuth(db, clock, public_url=settings.public_url, mail_domain=mail_domain)
    ratings = RatingService(db, clock)
    outbox = OutboxDispatcher(
        db, clock,
        {**_channel_senders(settings, db, clock, chat, faq, portal_auth), **_check_senders(settings, db, clock),
         **_published_senders(settings, db, clock), **(senders or {})},
        owner=f"{socket.gethostname()}:{os.getpid()}", retry_base=settings.outbox_retry_base_seconds,
    )
    queue = QueueService(db, clock)
    return Services(
        db=db,
        clock=clock,
        intake=intake,
        group_intake=GroupCommitter(intake),
        web_requests=WebRequests(db, clock, intake, tickets),
        tickets=tickets,
        queue=queue,
        search=TicketSearch(db, queue),
        page=TicketPageService(db, clock),
        merge_split=MergeSplitService(db, clock, refresh=sla_refresh),
        canned=CannedService(db, clock),
        users=users,
        auth=AuthService(db, clock, users, trusted_proxies=settings.trusted_proxies),
        kb_store=kb_store,
        kb_admin=KbAdminService(db, clock),
        faq=faq,
        proposals=ProposalService(db, clock),
        gaps=GapsService(db, clock),
        sla=SlaService(db, clock),
        sla_admin=SlaAdmin(db, clock, rules),
        routing_rules=RoutingRules(db, clock, rules),
        faq_tag_rules=FaqTagRules(db, rules),
        escalation=EscalationJob(db, clock, public_url=settings.public_url, staff_chat=settings.telegram_staff_chat,
                                 mail_domain=mail_domain, tickets=tickets),
        outbox=outbox,
        quarantine=quarantine,
        quarantine_admin=QuarantineAdmin(db, clock, quarantine),
        automatic_admin=AutomaticAdmin(db, clock, ticket_makers={"email": _email_ticket_maker(intake)}),
        chat=chat,
        chat_link=ChatLinkService(db, clock, mail_domain=mail_domain, from_name=settings.mail_from_name),
        reports=ReportService(db, clock),
        outbox_status=OutboxStatus(db, clock),
        staff_admin=StaffAdmin(db, clock),
        attention=AttentionService(db, clock),
        ratings=ratings,
        gdpr=GdprService(db, clock),
        health=HealthService(db, clock, quarantine, senders=outbox.senders, owner=outbox.owner,
                             data_dir=settings.data_dir, min_free_disk_mb=settings.min_free_disk_mb),
        portal_auth=portal_auth,
        portal=PortalService(db, clock, intake, ratings, after_change=tickets.after_change),
        org_sharing=OrgSharing(db, clock),
        live=live,
    )


def _live_bus(db: Database) -> LiveBus:
    """In process on SQLite (one instance); PostgreSQL LISTEN/NOTIFY between instances otherwise."""
    from helpdesk.app.live.bus import InProcessBus
    from helpdesk.app.live.pg import PostgresBus

    return InProcessBus() if db.is_sqlite else PostgresBus(db.url)


def _check_hooks(settings: Settings) -> list[IntakeHook]:
    """File checks of attachments (helpdesk/app/intake/file_checks.py), unless HELPDESK_FILE_CHECKS is off."""
    from helpdesk.app.intake.file_checks import FileCheckHook

    return [FileCheckHook()] if settings.file_checks else []


def _check_senders(settings: Settings, db: Database, clock: Clock) -> dict[str, OutboxSender]:
    from helpdesk.app.intake.file_checks import FILECHECK, FileCheckSender

    sender = FileCheckSender(db, clock, public_url=settings.public_url, mail_domain=settings.mail_domain)
    return {FILECHECK: sender} if settings.file_checks else {}


def _published_hooks(settings: Settings) -> list[IntakeHook]:
    """Published-data look-ups (helpdesk/app/published), unless HELPDESK_PUBLISHED_CHECKS is off."""
    from helpdesk.app.published.jobs import PublishedDataHook

    return [PublishedDataHook()] if settings.published_checks else []


def _published_senders(settings: Settings, db: Database, clock: Clock) -> dict[str, OutboxSender]:
    """The look-up job's sender: the safe fetcher, the udata and CSW clients, the file checks behind a port."""
    if not settings.published_checks:
        return {}
    from helpdesk.app.published.jobs import PublishedDataSender
    from helpdesk.app.tickets.published_sidebar import PUBLISHED
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


def _channel_senders(settings: Settings, db: Database, clock: Clock, chat: ChatService,
                     faq: FaqIndex, portal_auth: PortalAuth) -> dict[str, OutboxSender]:
    """Outbox senders the settings call for (tests override them with ``senders``)."""
    out: dict[str, OutboxSender] = {}
    if settings.telegram_token is not None and settings.telegram_token.get_secret_value():
        from channels.telegram.sender import TelegramSender, make_bot

        bot = make_bot(settings.telegram_token.get_secret_value(), settings.telegram_base_url)
        out["telegram"] = TelegramSender(bot, on_blocked=chat.mark_blocked)
    if settings.smtp_relay_host:
        from channels.email.sender import SmtpRelaySender
        from helpdesk.app.mail.acknowledge import AckFinisher, AckFinishingSender

        password = settings.smtp_relay_password.get_secret_value() if settings.smtp_relay_password else None
        relay = SmtpRelaySender(
            host=settings.smtp_relay_host, port=settings.smtp_relay_port, security=settings.smtp_relay_security,
            username=settings.smtp_relay_user, password=password, from_address=settings.mail_addresses[0],
            from_name=settings.mail_from_name, clock=clock,
        )
        # The acknowledgement mails FAQ entries only when nearly certain, at most two (purpose "mail").
        # Sign-in links and /espace links are minted at send time (PortalLinkSender), after the acknowledgement.
        out["email"] = AckFinishingSender(PortalLinkSender(relay, portal_auth),
                                          AckFinisher(db, functools.partial(faq.search, purpose="mail"),
                                                      settings.public_url))
    return out


def _mail_hooks(settings: Settings) -> list[IntakeHook]:
    """Email intake hooks: clear a bouncing flag on human mail; acknowledge new tickets (needs a relay)."""
    from helpdesk.app.mail.acknowledge import AcknowledgementHook
    from helpdesk.app.mail.bounces import ClearBouncingHook

    hooks: list[IntakeHook] = [ClearBouncingHook()]
    if settings.acknowledge and settings.smtp_relay_host:
        hooks.append(AcknowledgementHook(own_addresses=settings.mail_addresses, public_url=settings.public_url,
                                         mail_domain=settings.mail_domain))
    return hooks


# ---- the email channel's pipeline ---------------------------------------------------------------

def mail_ingest(services: Services, receiver: Receiver | None = None, *,
                suggest: Suggest | None = None, parse: Parse | None = None) -> MailIngest:
    """The email pipeline over the use cases: parse, bounces and automatic mail, quarantine, intake.

    ``receiver`` is the group committer by default (what the SMTP and IMAP listeners use)."""
    from channels.email.ingest import MailIngest

    receiver = receiver or services.group_intake
    return MailIngest(receiver, AutomaticMailService(services.db, services.clock, receiver), services.quarantine,
                      suggest=suggest, parse=parse)


def smtp_suggester(services: Services) -> Suggest:
    """What the SMTP edge asks before intake: the FAQ search only when a routing rule uses FAQ tags.

    Otherwise it answers None and the acknowledgement gets its suggestions from the Outbox sender,
    after the 250 (helpdesk/app/mail/acknowledge.py, AckFinisher): the search stays off the SMTP path.
    """
    from channels.email.ingest import only_when

    # the acknowledgement's suggestions: nearly certain, at most two (purpose "mail")
    return only_when(services.faq_tag_rules.needed, functools.partial(services.faq.search, purpose="mail"))


def _email_reprocessor(db: Database, clock: Clock, intake: IntakeService,
                       quarantine: QuarantineService) -> Callable[[bytes], Awaitable[Any]]:
    """What `helpdesk quarantine reprocess` and the staff button run for email."""
    from channels.email.ingest import MailIngest, reprocessor

    return reprocessor(MailIngest(intake, AutomaticMailService(db, clock, intake), quarantine))


def _email_ticket_maker(intake: IntakeService) -> Callable[[bytes, dict[str, Any]], Awaitable[Any]]:
    from channels.email.ingest import ticket_maker

    return ticket_maker(intake)


# ---- the Telegram channel ----------------------------------------------------------------------

def telegram_channel(services: Services, settings: Settings, faq: FaqSearch,
                     webhooks: dict[str, Any] | None = None, **overrides: Any) -> TelegramChannel:
    from channels.telegram.bot import TelegramChannel, TelegramConfig

    assert settings.telegram_token is not None
    config = TelegramConfig(
        token=settings.telegram_token.get_secret_value(), base_url=settings.telegram_base_url,
        webhook_url=settings.telegram_webhook_url,
        webhook_secret=settings.telegram_webhook_secret.get_secret_value() if settings.telegram_webhook_secret
        else None,
        public_url=settings.public_url, group_chats=frozenset(settings.telegram_group_chats),
        **overrides,
    )
    return TelegramChannel(config, chat=services.chat, link=services.chat_link, intake=services.intake, faq=faq,
                           ratings=services.ratings, webhooks=webhooks)


# ---- serving: every edge and every background loop is started here ------------------------------

@dataclass
class Edges:
    """What the starters share: the use cases, the settings, and the webhooks the web dispatches to."""

    services: Services
    settings: Settings
    webhooks: dict[str, Any] = field(default_factory=dict)  # name -> aiohttp handler (channels register)


Starter = Callable[[Edges], Awaitable[Stopper | None]]


async def start_web(edges: Edges) -> Stopper:
    from helpdesk.web.app import make_app

    s = edges.settings
    app = make_app(edges.services, max_body=s.mail_max_bytes, secure_cookies=s.public_url.startswith("https://"),
                   webhooks=edges.webhooks)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, s.http_host, s.http_port)
    await site.start()
    log.info("web listening on http://%s:%s", s.http_host, s.http_port)
    return runner.cleanup


async def start_live(edges: Edges) -> Stopper:
    """The live staff queue's listener (PostgreSQL LISTEN/NOTIFY) and presence board."""
    live = edges.services.live
    task = asyncio.create_task(live.run(), name="live staff queue")

    async def stopper() -> None:
        await live.close()
        await task

    return stopper


async def start_outbox_worker(edges: Edges) -> Stopper:
    outbox = edges.services.outbox

    async def step() -> bool:
        return bool(await outbox.run_once())

    return await start_periodic(step, edges.settings.outbox_poll_seconds, "outbox dispatcher")


async def start_escalation(edges: Edges, interval: float = ESCALATION_INTERVAL) -> Stopper:
    """The SLA escalation job every ``interval`` seconds (warnings, breaches, reminders, auto-close)."""
    escalation = edges.services.escalation

    async def step() -> bool:
        report = await escalation.run_once()
        SLA_NOTICES.labels("warning").inc(report.warnings)
        SLA_NOTICES.labels("breach").inc(report.breaches)
        if report.warnings or report.breaches or report.reminders or report.closed:
            log.info("escalation: %s", report)
        return False

    return await start_periodic(step, interval, "SLA escalation")


async def start_telegram(edges: Edges) -> Stopper | None:
    """Off without a token; otherwise the channel retries until Telegram answers."""
    token = edges.settings.telegram_token
    if token is None or not token.get_secret_value():
        log.info("Telegram channel off: HELPDESK_TELEGRAM_TOKEN is not set")
        return None
    from channels.telegram.bot import run_telegram
    from channels.telegram.faq import ReloadingFaq
    from channels.telegram.sender import TelegramSender

    faq = ReloadingFaq(edges.services.faq.knowledge_base, every=10.0)  # cheap when unchanged: a fingerprint
    await faq.reload()
    channel = telegram_channel(edges.services, edges.settings, faq, edges.webhooks)
    sender = edges.services.outbox.senders.get("telegram")
    return await run_telegram(channel, faq, sender if isinstance(sender, TelegramSender) else None)


async def start_smtp(edges: Edges) -> Stopper | None:
    s = edges.settings
    if not s.smtp_enabled:
        return None
    from channels.email.server import start_smtp as start
    from channels.email.tls import inbound_tls

    tls = inbound_tls(s)  # a certificate that cannot be loaded stops the start here, with a one-line error
    from channels.email.worker import ParserPool

    await asyncio.to_thread(ParserPool.shared().warm)  # the parser processes, before the first message
    ingest = mail_ingest(edges.services, suggest=smtp_suggester(edges.services))
    return await start(ingest, host=s.smtp_host, port=s.smtp_port, addresses=s.mail_addresses,
                       max_bytes=s.mail_max_bytes, protocol=s.smtp_protocol, hostname=s.mail_domain, tls=tls)


async def start_imap(edges: Edges) -> Stopper | None:
    """When HELPDESK_IMAP_HOST is set: IDLE or polling, per HELPDESK_IMAP_MODE."""
    s = edges.settings
    if not s.imap_host:
        return None
    from channels.email.imap import ImapConfig
    from channels.email.imap import start_imap as start

    config = ImapConfig(
        host=s.imap_host, port=s.imap_port, tls=s.imap_tls, user=s.imap_user or "",
        password=s.imap_password.get_secret_value() if s.imap_password else "", folder=s.imap_folder,
        processed_folder=s.imap_processed_folder or None, interval=s.imap_interval, mode=s.imap_mode,
    )
    return await start(mail_ingest(edges.services), config)


def starters() -> list[Starter]:
    """The edges and loops `helpdesk serve` starts, in order."""
    return [start_live, start_web, start_smtp, start_imap, start_telegram, start_outbox_worker, start_escalation]


async def serve(services: Services, settings: Settings, ready: asyncio.Event | None = None,
                stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    edges = Edges(services, settings)
    stoppers: list[Stopper] = []
    try:
        for starter in starters():
            stopper = await starter(edges)
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
