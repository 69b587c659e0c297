"""What the web edge uses: the use cases it calls (from the Services bootstrap built) and its own state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from helpdesk.app.faq.admin import KbAdminService
from helpdesk.app.faq.gaps import GapsService
from helpdesk.app.faq.index import FaqIndex
from helpdesk.app.faq.proposals import ProposalService
from helpdesk.app.health import HealthService
from helpdesk.app.intake.routing import RoutingRules
from helpdesk.app.intake.web_requests import WebRequests
from helpdesk.app.live.hub import LiveHub
from helpdesk.app.mail.automatic_admin import AutomaticAdmin
from helpdesk.app.outbox_status import OutboxStatus
from helpdesk.app.portal.service import PortalService
from helpdesk.app.portal.sharing import OrgSharing
from helpdesk.app.portal.signin import PortalAuth
from helpdesk.app.quarantine.admin import QuarantineAdmin
from helpdesk.app.reports.attention import AttentionService
from helpdesk.app.reports.service import Report, ReportService
from helpdesk.app.satisfaction.ratings import RatingService
from helpdesk.app.sla.admin import SlaAdmin
from helpdesk.app.staff.accounts import UserService
from helpdesk.app.staff.admin import StaffAdmin
from helpdesk.app.staff.sessions import AuthService
from helpdesk.app.tickets.canned import CannedService
from helpdesk.app.tickets.merge_split import MergeSplitService
from helpdesk.app.tickets.page import TicketPageService
from helpdesk.app.tickets.queue import QueueService
from helpdesk.app.tickets.search import TicketSearch
from helpdesk.app.tickets.service import TicketService
from helpdesk.services import Services


@dataclass
class WebContext:
    tickets: TicketService
    auth: AuthService
    queue: QueueService
    search: TicketSearch
    attention: AttentionService
    page: TicketPageService
    merge_split: MergeSplitService
    kb_admin: KbAdminService
    proposals: ProposalService
    gaps: GapsService
    canned: CannedService
    requests: WebRequests
    quarantine: QuarantineAdmin
    automatic: AutomaticAdmin
    faq: FaqIndex
    ratings: RatingService
    sla_admin: SlaAdmin
    routing_rules: RoutingRules
    reports: ReportService
    health: HealthService
    users: UserService
    staff_admin: StaffAdmin
    outbox_status: OutboxStatus
    portal_auth: PortalAuth
    portal: PortalService
    org_sharing: OrgSharing
    secure_cookies: bool
    webhooks: dict[str, Any]  # name -> aiohttp handler, registered by the channels at start
    live: LiveHub  # the live staff queue: streams, presence (helpdesk/app/live)
    report_cache: dict[int, tuple[float, Report]] = field(default_factory=dict)


def build_context(services: Services, *, secure_cookies: bool = False,
                  webhooks: dict[str, Any] | None = None) -> WebContext:
    return WebContext(
        tickets=services.tickets,
        auth=services.auth,
        queue=services.queue,
        search=services.search,
        attention=services.attention,
        page=services.page,
        merge_split=services.merge_split,
        kb_admin=services.kb_admin,
        proposals=services.proposals,
        gaps=services.gaps,
        canned=services.canned,
        requests=services.web_requests,
        quarantine=services.quarantine_admin,
        automatic=services.automatic_admin,
        faq=services.faq,
        ratings=services.ratings,
        sla_admin=services.sla_admin,
        routing_rules=services.routing_rules,
        reports=services.reports,
        health=services.health,
        users=services.users,
        staff_admin=services.staff_admin,
        outbox_status=services.outbox_status,
        portal_auth=services.portal_auth,
        portal=services.portal,
        org_sharing=services.org_sharing,
        live=services.live,
        secure_cookies=secure_cookies,
        webhooks=webhooks if webhooks is not None else {},
    )


WEB: web.AppKey[WebContext] = web.AppKey("web_context")


def ctx(request: web.Request) -> WebContext:
    return request.app[WEB]
