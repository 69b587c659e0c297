"""What a signed-in requester can see and do in the portal.

They see their own tickets, and their organisation's when staff allowed it for that organisation
(``Organization.portal_shared``, off by default); others' tickets are read-only. Internal notes are
never shown, except the file-check reports of their attachments (written as notes for staff).
Replies go through intake (channel ``portal``) like any channel; close and reopen through the one
status-change path, then the ticket service's after-change callbacks (SLA); ratings through
RatingService. A ticket the requester may not see answers exactly like a ticket that does not exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from helpdesk.app.intake.messages import InboundAttachment, InboundMessage, IntakeResult
from helpdesk.app.intake.service import IntakeService
from helpdesk.app.mail_guard import header_text
from helpdesk.app.portal.signin import RequesterIdentity
from helpdesk.app.ratelimit import RateLimiter
from helpdesk.app.satisfaction.ratings import RatingService
from helpdesk.app.tickets import status as ticket_status
from helpdesk.db import store
from helpdesk.db.engine import Database
from helpdesk.db.tables import Attachment, Contact, KbEntry, Message, Organization, Rating, Ticket
from helpdesk.domain import lifecycle
from helpdesk.domain.errors import NotFound, ValidationError
from helpdesk.domain.values import ActorKind, Channel, Direction, TicketStatus
from helpdesk.ports import Clock

REOPEN_WINDOW = timedelta(days=7)  # a resolved ticket may be reopened this long after its resolution
MAX_TEXT = 20_000
MAX_FILES = 5
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_TOTAL_BYTES = 20 * 1024 * 1024
REPLIES_PER_HOUR = 30
LIST_LIMIT = 200
FILECHECK_KIND = "filecheck"

AfterChange = Callable[[AsyncSession, Ticket, datetime], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class UploadedFile:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class PortalTicketRow:
    """A line of the requester's ticket list (the portal home and `GET /api/v1/portal/tickets`)."""

    number: int
    subject: str
    status: str
    created_at: datetime
    updated_at: datetime
    mine: bool
    requester: str | None


@dataclass(frozen=True, slots=True)
class PortalAttachment:
    id: int
    filename: str
    size: int
    report: str | None  # the file check's report, when there is one


@dataclass(frozen=True, slots=True)
class PortalMessage:
    id: int
    direction: str
    mine: bool
    author: str
    created_at: datetime
    text: str
    automatic: bool
    attachments: list[PortalAttachment]


@dataclass(frozen=True, slots=True)
class FaqLink:
    id: str
    title: str


@dataclass(frozen=True, slots=True)
class PortalRating:
    score: int
    comment: str | None


@dataclass(frozen=True, slots=True)
class PortalTicket:
    """A ticket as its requester sees it (no internal notes), with what they may do on it."""

    number: int
    subject: str
    status: str
    created_at: datetime
    updated_at: datetime
    mine: bool
    requester: str | None
    messages: list[PortalMessage]
    faq: list[FaqLink]
    rating: PortalRating | None
    can_reply: bool
    can_close: bool
    can_reopen: bool
    can_rate: bool


@dataclass(frozen=True, slots=True)
class PortalDownload:
    filename: str
    content_type: str
    data: bytes


def _not_found(number: int) -> NotFound:
    return NotFound(f"demande n° {number} introuvable")


def can_reopen(status: str, resolved_at: datetime | None, now: datetime) -> bool:
    """A resolved ticket, within the reopen window of its resolution (pure)."""
    return status == TicketStatus.RESOLVED.value and resolved_at is not None and now - resolved_at <= REOPEN_WINDOW


def clean_files(files: Sequence[UploadedFile]) -> tuple[InboundAttachment, ...]:
    """Bounded, named attachments; ValidationError (French) past the limits."""
    if len(files) > MAX_FILES:
        raise ValidationError(f"{MAX_FILES} fichiers au plus par message")
    total = 0
    out = []
    for f in files:
        if len(f.data) > MAX_FILE_BYTES:
            raise ValidationError(f"le fichier « {header_text(f.filename, 80)} » dépasse "
                                  f"{MAX_FILE_BYTES // (1024 * 1024)} Mo")
        total += len(f.data)
        name = header_text(f.filename.replace("\\", "/").rsplit("/", 1)[-1], 200) or "piece-jointe"
        ctype = header_text(f.content_type, 100) or "application/octet-stream"
        out.append(InboundAttachment(name, ctype, f.data))
    if total > MAX_TOTAL_BYTES:
        raise ValidationError(f"les fichiers dépassent {MAX_TOTAL_BYTES // (1024 * 1024)} Mo au total")
    return tuple(out)


class PortalService:
    def __init__(self, db: Database, clock: Clock, intake: IntakeService, ratings: RatingService, *,
                 after_change: Sequence[AfterChange] = ()) -> None:
        self.db = db
        self.clock = clock
        self.intake = intake
        self.ratings = ratings
        self.after_change = after_change  # the ticket service's list (SLA refresh…), shared, not copied
        self.limits = RateLimiter(db, clock)

    # ---- reading -------------------------------------------------------------------------
    async def _shared_org(self, s: AsyncSession, who: RequesterIdentity) -> int | None:
        contact = await s.get(Contact, who.contact_id)
        if contact is None or contact.organization_id is None:
            return None
        org = await s.get(Organization, contact.organization_id)
        return org.id if org is not None and org.portal_shared else None

    async def _visible(self, s: AsyncSession, who: RequesterIdentity, number: int, *,
                       lock: bool = False) -> tuple[Ticket, bool]:
        """The ticket and whether it is the requester's own; NotFound when not visible to them."""
        if not 0 < number <= store.MAX_ID:
            raise _not_found(number)
        stmt = select(Ticket).where(col(Ticket.number) == number)
        if lock and not self.db.is_sqlite:
            stmt = stmt.with_for_update()
        t = (await s.scalars(stmt)).first()
        if t is None:
            raise _not_found(number)
        if t.requester_id == who.contact_id:
            return t, True
        org = await self._shared_org(s, who)
        if org is not None and t.organization_id == org:
            return t, False
        raise _not_found(number)

    async def tickets(self, who: RequesterIdentity) -> list[PortalTicketRow]:
        async with self.db.transaction() as s:
            org = await self._shared_org(s, who)
            cond = col(Ticket.requester_id) == who.contact_id
            if org is not None:
                cond = or_(cond, col(Ticket.organization_id) == org)
            rows = (await s.execute(
                select(Ticket, Contact).join(Contact, col(Contact.id) == col(Ticket.requester_id), isouter=True)
                .where(cond).order_by(col(Ticket.updated_at).desc(), col(Ticket.id).desc()).limit(LIST_LIMIT)
            )).all()
        return [PortalTicketRow(number=t.number, subject=t.subject, status=t.status, created_at=t.created_at,
                                updated_at=t.updated_at, mine=t.requester_id == who.contact_id,
                                requester=(c.name or c.email) if c is not None else None) for t, c in rows]

    async def ticket(self, who: RequesterIdentity, number: int) -> PortalTicket:
        now = self.clock.now()
        async with self.db.transaction() as s:
            t, mine = await self._visible(s, who, number)
            msgs = (await s.scalars(select(Message).where(col(Message.ticket_id) == t.id)
                                    .order_by(col(Message.id)))).all()
            shown = [m for m in msgs if m.direction != Direction.NOTE.value]
            ids = [m.id for m in shown]
            atts = (await s.scalars(select(Attachment).where(col(Attachment.message_id).in_(ids))
                                    .order_by(col(Attachment.id)))).all() if ids else []
            reports = {str(m.meta.get("sha256")): m.visible_text for m in msgs
                       if m.direction == Direction.NOTE.value and m.meta.get("kind") == FILECHECK_KIND}
            suggested = [str(sug["id"]) for m in shown for sug in (m.meta.get("faq_suggestions") or [])
                         if isinstance(sug, dict) and sug.get("id")]
            faq = {e.id: e.title for e in (await s.scalars(select(KbEntry).where(
                col(KbEntry.id).in_(sorted(set(suggested))), col(KbEntry.status) == "published"))).all()} \
                if suggested else {}
            rating = (await s.scalars(select(Rating).where(col(Rating.ticket_id) == t.id))).first()
            requester = await s.get(Contact, t.requester_id) if t.requester_id else None
        by_msg: dict[int, list[PortalAttachment]] = {}
        for a in atts:
            if a.inline:
                continue
            assert a.id is not None
            by_msg.setdefault(a.message_id, []).append(
                PortalAttachment(id=a.id, filename=a.filename, size=a.size, report=reports.get(a.sha256)))
        messages = [PortalMessage(
            id=m.id or 0, direction=m.direction, mine=m.direction == Direction.INBOUND.value,
            author=_author(m, requester), created_at=m.created_at, text=m.visible_text,
            automatic=m.automatic, attachments=by_msg.get(m.id or 0, []),
        ) for m in shown]
        status = t.status
        return PortalTicket(
            number=t.number, subject=t.subject, status=status, created_at=t.created_at,
            updated_at=t.updated_at, mine=mine,
            requester=(requester.name or requester.email) if requester is not None else None,
            messages=messages,
            faq=[FaqLink(id=i, title=faq[i]) for i in dict.fromkeys(suggested) if i in faq],
            rating=PortalRating(score=rating.score, comment=rating.comment) if rating is not None else None,
            can_reply=mine,
            can_close=mine and status != TicketStatus.CLOSED.value,
            can_reopen=mine and can_reopen(status, t.resolved_at, now),
            can_rate=mine and status in (TicketStatus.RESOLVED.value, TicketStatus.CLOSED.value),
        )

    async def attachment(self, who: RequesterIdentity, number: int, attachment_id: int) -> PortalDownload:
        async with self.db.transaction() as s:
            t, _ = await self._visible(s, who, number)
            row = (await s.execute(
                select(Attachment).join(Message, col(Message.id) == col(Attachment.message_id))
                .where(col(Attachment.id) == attachment_id, col(Message.ticket_id) == t.id,
                       col(Message.direction) != Direction.NOTE.value)
            )).scalar_one_or_none()
            if row is None:
                raise NotFound("pièce jointe introuvable")
            return PortalDownload(row.filename, row.content_type, await store.get_blob(s, row.sha256))

    # ---- acting --------------------------------------------------------------------------
    async def _own(self, who: RequesterIdentity, number: int) -> Ticket:
        async with self.db.transaction() as s:
            t, mine = await self._visible(s, who, number)
        if not mine:
            raise ValidationError("seule la personne qui a fait cette demande peut agir dessus")
        return t

    async def reply(self, who: RequesterIdentity, number: int, text: str,
                    files: Sequence[UploadedFile] = ()) -> IntakeResult:
        """The requester's message on their ticket, through intake (threading, file checks, SLA, follow-up
        of a closed ticket) exactly as a mail would go."""
        body = text.strip()[:MAX_TEXT]
        attachments = clean_files(files)
        if not body and not attachments:
            raise ValidationError("écrivez un message ou joignez un fichier")
        await self._own(who, number)
        key = str(who.contact_id)
        await self.limits.check("portal-reply", key, limit=REPLIES_PER_HOUR, window=timedelta(hours=1))
        await self.limits.hit("portal-reply", key)
        return await self.intake.receive(InboundMessage(
            channel=Channel.PORTAL, external_id=f"portal:{uuid.uuid4()}", sender_email=who.email,
            visible_text=body, full_text=body, attachments=attachments, ticket_number=number,
        ))

    async def close(self, who: RequesterIdentity, number: int) -> None:
        await self._status(who, number, lifecycle.Action.CLOSE, "closed by the requester in the portal")

    async def reopen(self, who: RequesterIdentity, number: int) -> None:
        t = await self._own(who, number)
        if not can_reopen(t.status, t.resolved_at, self.clock.now()):
            raise ValidationError(f"seule une demande résolue depuis moins de {REOPEN_WINDOW.days} jours peut "
                                  "être rouverte ; écrivez-nous un message pour en ouvrir une nouvelle")
        await self._status(who, number, lifecycle.Action.REOPEN, "reopened by the requester in the portal")

    async def _status(self, who: RequesterIdentity, number: int, action: lifecycle.Action, reason: str) -> None:
        now = self.clock.now()
        async with self.db.transaction() as s:
            t, mine = await self._visible(s, who, number, lock=True)
            if not mine:
                raise ValidationError("seule la personne qui a fait cette demande peut agir dessus")
            if action is lifecycle.Action.REOPEN and not can_reopen(t.status, t.resolved_at, now):
                raise ValidationError("cette demande ne peut plus être rouverte")
            if not lifecycle.can(TicketStatus(t.status), action):
                raise ValidationError("cette action n'est pas possible sur cette demande dans son état actuel")
            await ticket_status.change_status(s, t, action, now, reason=reason, actor_kind=ActorKind.CONTACT,
                                              actor_id=who.contact_id)
            for callback in self.after_change:
                await callback(s, t, now)

    async def rate(self, who: RequesterIdentity, number: int, score: int, comment: str | None = None) -> None:
        if score not in range(1, 6):
            raise ValidationError("choisissez une note de 1 à 5")
        t = await self._own(who, number)
        if t.status not in (TicketStatus.RESOLVED.value, TicketStatus.CLOSED.value):
            raise ValidationError("seule une demande résolue ou fermée peut être notée")
        text = (comment or "").strip()[:2000] or None
        await self.ratings.rate(t.public_ref, score, channel=Channel.PORTAL.value, comment=text)


def _author(m: Message, requester: Contact | None) -> str:
    if m.direction == Direction.INBOUND.value:
        if requester is not None and m.author_contact_id == requester.id:
            return requester.name or requester.email or "Demandeur"
        return "Demandeur"
    return "Assistance CRAIG"
