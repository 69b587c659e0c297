"""What the staff ticket page shows: the thread, attachments, links, the team list, recent activity.

Reply, note, status, assignment, priority and tags are in TicketService (service.py); merge, split and
link in MergeSplitService (merge_split.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlmodel import col

from helpdesk.app.tickets.published_sidebar import published_rows
from helpdesk.app.tickets.queue import Choice
from helpdesk.db import store
from helpdesk.db.engine import Database
from helpdesk.db.store import id_col
from helpdesk.db.tables import Attachment, Contact, Message, Organization, StaffUser, Team, Ticket, TicketLink
from helpdesk.domain.errors import NotFound
from helpdesk.domain.values import Direction
from helpdesk.ports import Clock


@dataclass(frozen=True, slots=True)
class Download:
    filename: str
    size: int
    data: bytes


@dataclass(frozen=True, slots=True)
class AttachmentView:
    id: int
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True, slots=True)
class ThreadMessage:
    """One message of the thread as staff read it."""

    id: int
    direction: str
    channel: str
    author: str
    created_at: datetime
    text: str
    has_html: bool
    automatic: bool
    delivery_status: str | None
    attachments: tuple[AttachmentView, ...]
    thread_reason: str | None


@dataclass(frozen=True, slots=True)
class RequesterView:
    name: str | None
    email: str | None
    telegram: bool
    bouncing: bool


@dataclass(frozen=True, slots=True)
class OrganizationView:
    name: str
    kind: str | None
    pays: str | None
    departement: str | None


@dataclass(frozen=True, slots=True)
class SlaView:
    first_response_due: datetime | None
    resolution_due: datetime | None
    first_response_at: datetime | None
    first_response_breached: bool
    resolution_breached: bool
    paused: bool
    policy: str | None


@dataclass(frozen=True, slots=True)
class LinkedTicket:
    kind: str
    number: int
    subject: str
    status: str


@dataclass(frozen=True, slots=True)
class OtherTicket:
    """Another ticket of the same requester."""

    number: int
    subject: str
    status: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TicketPage:
    """Everything the staff ticket page shows."""

    number: int
    subject: str
    status: str
    priority: str
    channel: str
    tags: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    assignee_id: int | None
    assignee: str | None
    team_id: int | None
    team: str | None
    requester: RequesterView | None
    organization: OrganizationView | None
    sla: SlaView
    messages: tuple[ThreadMessage, ...]
    inbound_count: int
    last_message_id: int
    latest_inbound_text: str
    inbound_texts: tuple[str, ...]  # the inbound conversation, oldest first, the subject heading it
    links: tuple[LinkedTicket, ...]
    other_tickets: tuple[OtherTicket, ...]
    merged_into: int | None
    published: dict[str, list[dict[str, Any]]]  # the « Données publiées » sidebar, as its notes stored it


@dataclass(frozen=True, slots=True)
class Activity:
    """A message someone else added since the page was loaded."""

    id: int
    direction: str
    author: str


class TicketPageService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def page(self, number: int, viewer_id: int | None = None) -> TicketPage:
        async with self.db.transaction() as s:
            t = await store.ticket_by_number(s, number)
            if viewer_id is not None:
                await store.record_staff_access(s, t, viewer_id, self.clock.now(), "web")
            requester = await s.get(Contact, t.requester_id) if t.requester_id else None
            org = await s.get(Organization, t.organization_id) if t.organization_id else None
            assignee = await s.get(StaffUser, t.assignee_id) if t.assignee_id else None
            team = await s.get(Team, t.team_id) if t.team_id else None
            msgs = (await s.scalars(select(Message).where(col(Message.ticket_id) == t.id)
                .order_by(col(Message.id)))).all()
            ids = [m.id for m in msgs]
            atts = (await s.scalars(select(Attachment).where(col(Attachment.message_id).in_(ids)))).all() if ids else []
            staff_ids = {m.author_staff_id for m in msgs if m.author_staff_id}
            staff = {u.id: u.name or u.email for u in (
                await s.scalars(select(StaffUser).where(col(StaffUser.id).in_(staff_ids)))).all()} if staff_ids else {}
            links = (await s.execute(
                select(col(TicketLink.kind), col(Ticket.number), col(Ticket.subject), col(Ticket.status))
                .join(Ticket, or_(
                    (col(TicketLink.ticket_id) == t.id) & (col(Ticket.id) == col(TicketLink.other_id)),
                    (col(TicketLink.other_id) == t.id) & (col(Ticket.id) == col(TicketLink.ticket_id)),
                ))
                .where(or_(col(TicketLink.ticket_id) == t.id, col(TicketLink.other_id) == t.id))
                .order_by(col(TicketLink.id))
            )).all()
            others = (await s.execute(
                select(col(Ticket.number), col(Ticket.subject), col(Ticket.status), col(Ticket.created_at))
                .where(col(Ticket.requester_id) == t.requester_id, col(Ticket.id) != t.id)
                .order_by(col(Ticket.id).desc()).limit(10)
            )).all() if t.requester_id else []
            merged_into = await s.get(Ticket, t.merged_into_id) if t.merged_into_id else None
        by_msg: dict[int, list[AttachmentView]] = {}
        for a in atts:
            assert a.id is not None  # stored rows
            by_msg.setdefault(a.message_id, []).append(
                AttachmentView(id=a.id, filename=a.filename, content_type=a.content_type, size=a.size))
        thread: list[ThreadMessage] = []
        for m in msgs:
            assert m.id is not None
            if m.direction == Direction.INBOUND.value:
                author = (requester.name or requester.email or "Demandeur") \
                    if requester and m.author_contact_id == requester.id else "Demandeur"
            else:
                author = staff.get(m.author_staff_id or 0, "Système")
            thread.append(ThreadMessage(
                id=m.id, direction=m.direction, channel=m.channel, author=author,
                created_at=m.created_at, text=m.visible_text, has_html=bool(m.html_sanitised),
                automatic=m.automatic, delivery_status=m.delivery_status,
                attachments=tuple(by_msg.get(m.id, [])), thread_reason=m.thread_reason,
            ))
        inbound = [m for m in thread if m.direction == Direction.INBOUND.value]
        return TicketPage(
            number=t.number, subject=t.subject, status=t.status, priority=t.priority,
            channel=t.channel, tags=tuple(t.tags), created_at=t.created_at, updated_at=t.updated_at,
            assignee_id=t.assignee_id, assignee=(assignee.name or assignee.email) if assignee else None,
            team_id=t.team_id, team=team.name if team else None,
            requester=RequesterView(name=requester.name, email=requester.email,
                                    telegram=requester.telegram_chat_id is not None,
                                    bouncing=bool(requester.bouncing)) if requester else None,
            organization=OrganizationView(name=org.name, kind=org.kind, pays=org.pays,
                                          departement=org.departement) if org else None,
            sla=SlaView(first_response_due=t.first_response_due, resolution_due=t.resolution_due,
                        first_response_at=t.first_response_at, first_response_breached=t.first_response_breached,
                        resolution_breached=t.resolution_breached, paused=t.sla_paused, policy=t.sla_policy),
            messages=tuple(thread),
            inbound_count=len(inbound),
            last_message_id=thread[-1].id if thread else 0,
            latest_inbound_text=inbound[-1].text if inbound else "",
            # The whole inbound conversation, oldest first, the subject heading it: what the FAQ is asked.
            inbound_texts=tuple(f"{t.subject}\n\n{m.text}" if n == 0 and t.subject else m.text
                                for n, m in enumerate(inbound)),
            links=tuple(LinkedTicket(kind=k, number=n, subject=subj, status=st) for k, n, subj, st in links),
            other_tickets=tuple(OtherTicket(number=n, subject=subj, status=st, created_at=c)
                                for n, subj, st, c in others),
            merged_into=merged_into.number if merged_into else None,
            published=published_rows(msgs),
        )

    async def activity_since(self, number: int, after_message_id: int, staff_id: int) -> list[Activity]:
        """Messages added after ``after_message_id`` by anyone but ``staff_id`` (the stale-page warning)."""
        async with self.db.transaction() as s:
            t = await store.ticket_by_number(s, number)
            rows = (await s.execute(
                select(id_col(Message.id), col(Message.direction), col(StaffUser.name))
                .join(StaffUser, col(StaffUser.id) == col(Message.author_staff_id), isouter=True)
                .where(col(Message.ticket_id) == t.id, col(Message.id) > after_message_id)
                .where(or_(col(Message.author_staff_id).is_(None), col(Message.author_staff_id) != staff_id))
                .order_by(col(Message.id))
            )).all()
        return [Activity(id=i, direction=d, author=n or "le demandeur") for i, d, n in rows]

    async def attachment(self, number: int, attachment_id: int) -> Download:
        async with self.db.transaction() as s:
            t = await store.ticket_by_number(s, number)
            row = (await s.execute(
                select(Attachment).join(Message, col(Message.id) == col(Attachment.message_id))
                .where(col(Attachment.id) == attachment_id, col(Message.ticket_id) == t.id)
            )).scalar_one_or_none()
            if row is None:
                raise NotFound("pièce jointe introuvable")
            return Download(row.filename, row.size, await store.get_blob(s, row.sha256))

    async def message_html(self, number: int, message_id: int) -> str:
        async with self.db.transaction() as s:
            t = await store.ticket_by_number(s, number)
            msg = await s.get(Message, message_id)
            if msg is None or msg.ticket_id != t.id or not msg.html_sanitised:
                raise NotFound("version HTML introuvable")
            return msg.html_sanitised

    async def teams(self) -> list[Choice]:
        async with self.db.transaction() as s:
            return [Choice(id=i, name=n) for i, n in (await s.execute(select(id_col(Team.id), col(Team.name))
                                                                      .order_by(col(Team.name)))).all()]
