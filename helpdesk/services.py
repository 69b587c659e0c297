"""The use cases the edges call, typed: built once by ``bootstrap.build()``, handed to the edges.

A leaf of the import graph: it imports the application's use-case types and nothing imports it back
from the application. Settings stay out (the entry point passes each edge the few it needs); so do
channel objects (bootstrap wires them from these use cases). ``db`` and ``clock`` are here for the
entry points and tests (disposal, fixtures); the edges never query the database.
"""

from __future__ import annotations

from dataclasses import dataclass

from helpdesk.app.chat.link import ChatLinkService
from helpdesk.app.chat.service import ChatService
from helpdesk.app.faq.admin import KbAdminService
from helpdesk.app.faq.gaps import GapsService
from helpdesk.app.faq.index import FaqIndex
from helpdesk.app.faq.proposals import ProposalService
from helpdesk.app.faq.sync import KbStore
from helpdesk.app.health import HealthService
from helpdesk.app.intake.routing import FaqTagRules, RoutingRules
from helpdesk.app.intake.service import GroupCommitter, IntakeService
from helpdesk.app.intake.web_requests import WebRequests
from helpdesk.app.live.hub import LiveHub
from helpdesk.app.mail.automatic_admin import AutomaticAdmin
from helpdesk.app.outbox import OutboxDispatcher
from helpdesk.app.outbox_status import OutboxStatus
from helpdesk.app.portal.service import PortalService
from helpdesk.app.portal.sharing import OrgSharing
from helpdesk.app.portal.signin import PortalAuth
from helpdesk.app.privacy.gdpr import GdprService
from helpdesk.app.quarantine.admin import QuarantineAdmin
from helpdesk.app.quarantine.service import QuarantineService
from helpdesk.app.reports.attention import AttentionService
from helpdesk.app.reports.service import ReportService
from helpdesk.app.satisfaction.ratings import RatingService
from helpdesk.app.sla.admin import SlaAdmin
from helpdesk.app.sla.escalation import EscalationJob
from helpdesk.app.sla.service import SlaService
from helpdesk.app.staff.accounts import UserService
from helpdesk.app.staff.admin import StaffAdmin
from helpdesk.app.staff.sessions import AuthService
from helpdesk.app.tickets.canned import CannedService
from helpdesk.app.tickets.merge_split import MergeSplitService
from helpdesk.app.tickets.page import TicketPageService
from helpdesk.app.tickets.queue import QueueService
from helpdesk.app.tickets.search import TicketSearch
from helpdesk.app.tickets.service import TicketService
from helpdesk.db.engine import Database
from helpdesk.ports import Clock


@dataclass(frozen=True, slots=True)
class Services:
    db: Database
    clock: Clock
    # intake
    intake: IntakeService
    group_intake: GroupCommitter  # what the mail listeners use: one transaction for a burst
    web_requests: WebRequests
    # tickets
    tickets: TicketService
    queue: QueueService
    search: TicketSearch  # the queue's full-text search (falls back to the queue without text)
    page: TicketPageService
    merge_split: MergeSplitService
    canned: CannedService
    # staff
    users: UserService
    auth: AuthService
    staff_admin: StaffAdmin
    # FAQ
    kb_store: KbStore
    kb_admin: KbAdminService
    faq: FaqIndex  # the one search index every edge shares
    proposals: ProposalService  # questions from tickets proposed as FAQ wordings
    gaps: GapsService
    # service levels and routing
    sla: SlaService
    sla_admin: SlaAdmin
    routing_rules: RoutingRules
    faq_tag_rules: FaqTagRules
    escalation: EscalationJob
    # delivery, quarantine, automatic mail
    outbox: OutboxDispatcher
    outbox_status: OutboxStatus  # each reply's delivery for staff, « Renvoyer »
    quarantine: QuarantineService
    quarantine_admin: QuarantineAdmin
    automatic_admin: AutomaticAdmin
    # chat
    chat: ChatService
    chat_link: ChatLinkService
    # figures, satisfaction, personal data, health
    reports: ReportService
    attention: AttentionService
    ratings: RatingService
    gdpr: GdprService
    health: HealthService
    # the requester portal /espace (sign-in links, their tickets, the organisations' sharing flag)
    portal_auth: PortalAuth
    portal: PortalService
    org_sharing: OrgSharing
    live: LiveHub  # the live staff queue: notices between instances, presence
