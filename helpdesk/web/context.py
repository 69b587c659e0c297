"""The use cases the web edge calls, built once per application from the Services."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

from helpdesk.app.faq.admin import KbAdminService
from helpdesk.app.faq.gaps import GapsService
from helpdesk.app.faq.index import FaqIndex
from helpdesk.app.faq.proposals import ProposalService
from helpdesk.app.intake.web_requests import WebRequests
from helpdesk.app.mail.automatic_admin import AutomaticAdmin
from helpdesk.app.quarantine.admin import QuarantineAdmin
from helpdesk.app.reports.attention import AttentionService
from helpdesk.app.staff.sessions import AuthService
from helpdesk.app.tickets.canned import CannedService
from helpdesk.app.tickets.merge_split import MergeSplitService
from helpdesk.app.tickets.page import TicketPageService
from helpdesk.app.tickets.queue import QueueService

if TYPE_CHECKING:
    from helpdesk.bootstrap import Services

PRESENCE_SECONDS = 60.0


@dataclass
class Presence:
    """Who has which ticket open, in this process (for the "someone else is here" warning)."""

    seen: dict[int, dict[int, tuple[str, float]]] = field(default_factory=dict)

    def touch(self, number: int, staff_id: int, name: str) -> list[str]:
        now = time.monotonic()
        here = self.seen.setdefault(number, {})
        here[staff_id] = (name, now)
        for sid in [s for s, (_, at) in here.items() if now - at > PRESENCE_SECONDS]:
            del here[sid]
        if len(self.seen) > 500:  # forget tickets nobody has open any more
            for n in [n for n, who in self.seen.items() if all(now - at > PRESENCE_SECONDS for _, at in who.values())]:
                del self.seen[n]
        return sorted(n for sid, (n, _) in here.items() if sid != staff_id)


@dataclass
class WebContext:
    services: Services
    auth: AuthService
    queue: QueueService
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
    presence: Presence
    secure_cookies: bool


def faq_index(services: Services) -> FaqIndex:
    """The FAQ index cached on the Services, shared by every edge that searches the FAQ."""
    index = services.extras.get("faq_index")
    if not isinstance(index, FaqIndex):
        index = FaqIndex(services.db, services.kb_store)
        services.extras["faq_index"] = index
    return index


def build_context(services: Services) -> WebContext:
    db, clock = services.db, services.clock
    return WebContext(
        services=services,
        auth=AuthService(db, clock, services.users),
        queue=QueueService(db, clock),
        attention=AttentionService(db, clock),
        page=TicketPageService(db, clock),
        merge_split=MergeSplitService(db, clock),
        kb_admin=KbAdminService(db, clock),
        proposals=ProposalService(db, clock),
        gaps=GapsService(db, clock),
        canned=CannedService(db, clock),
        requests=WebRequests(db, clock, services.intake, services.tickets),
        quarantine=QuarantineAdmin(db, clock, services.intake),
        automatic=AutomaticAdmin(db, clock, services.intake),
        faq=faq_index(services),
        presence=Presence(),
        secure_cookies=services.settings.public_url.startswith("https://"),
    )


WEB: web.AppKey[WebContext] = web.AppKey("web_context")


def ctx(request: web.Request) -> WebContext:
    return request.app[WEB]
