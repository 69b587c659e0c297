"""The staff queue: open tickets by SLA due time, filters, text search, saved-view counts, keyset pages.

The due time of a ticket is its first-response deadline until someone answered, then its resolution
deadline. Pages are cut by a keyset cursor (no OFFSET), so page 200 costs what page 1 costs.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, and_, case, cast, exists, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from helpdesk.db.engine import Database
from helpdesk.db.store import id_col
from helpdesk.db.tables import Contact, Message, Organization, StaffUser, Team, Ticket
from helpdesk.domain.errors import ValidationError
from helpdesk.domain.ids import parse_id
from helpdesk.domain.values import OPEN_STATUSES, TicketStatus
from helpdesk.ports import Clock

PAGE_SIZE = 50
BREACHING_SOON = timedelta(hours=2)
OPEN = tuple(sorted(s.value for s in OPEN_STATUSES))

AWAITING = and_(col(Ticket.first_response_at).is_(None), col(Ticket.first_response_due).is_not(None))
# The due time as one expression (first response while awaited, then resolution), for full scans.
DUE = case((AWAITING, col(Ticket.first_response_due)), else_=col(Ticket.resolution_due))
NO_DUE = case((DUE.is_(None), 1), else_=0)


def now_floor() -> datetime:
    return datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class QueueFilter:
    statuses: tuple[str, ...] = OPEN
    assignee: str | None = None  # "me", "none" or a staff id
    team_id: int | None = None
    priority: str | None = None
    channel: str | None = None
    organization_id: int | None = None
    pays: str | None = None
    tag: str | None = None
    text: str | None = None
    breaching: bool = False


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One line of the queue."""

    number: int
    subject: str
    status: str
    priority: str
    channel: str
    tags: tuple[str, ...]
    assignee: str | None
    team: str | None
    requester: str | None
    requester_email: str | None
    organization: str | None
    pays: str | None
    created_at: datetime
    updated_at: datetime
    due: datetime | None
    seconds_left: int | None
    breached: bool
    subject_html: str | None = None  # a text search's highlights (escaped HTML, only <mark> added)
    fragment_html: str | None = None


@dataclass(frozen=True, slots=True)
class QueuePage:
    """One page of the queue, most urgent first (or, for a text search, best match first: ``ranked``), and the
    cursor of the next page (None on the last)."""

    items: tuple[QueueRow, ...]
    next_cursor: str | None
    ranked: bool = False


@dataclass(frozen=True, slots=True)
class NewTicket:
    number: int
    subject: str


@dataclass(frozen=True, slots=True)
class NewTickets:
    """Tickets created since the queue was shown, and the largest id seen (the next poll's start)."""

    latest: int
    tickets: tuple[NewTicket, ...]


@dataclass(frozen=True, slots=True)
class Choice:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class QueueChoices:
    """Values for the filter menus."""

    staff: tuple[Choice, ...]
    teams: tuple[Choice, ...]
    organizations: tuple[Choice, ...]
    pays: tuple[str, ...]
    statuses: tuple[str, ...] = field(default_factory=lambda: tuple(st.value for st in TicketStatus))


@dataclass(frozen=True, slots=True)
class QueueStats:
    by_status: dict[str, int]
    open_by_priority: dict[str, int]
    open_overdue: int


SAVED_VIEWS: dict[str, dict[str, Any]] = {
    "mine": {"assignee": "me"},
    "unassigned": {"assignee": "none"},
    "breaching": {"breaching": True},
}


def with_view(f: QueueFilter, view: str | None) -> QueueFilter:
    if view in SAVED_VIEWS:
        return replace(f, **SAVED_VIEWS[view])
    return f


def encode_cursor(no_due: int, due: datetime | None, ticket_id: int) -> str:
    raw = f"{no_due}|{due.isoformat() if due else ''}|{ticket_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, datetime | None, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        flag, due, tid = raw.split("|")
        when = datetime.fromisoformat(due) if due else None
        if when is not None and when.tzinfo is None:
            raise ValueError("naive cursor")
        ticket_id = parse_id(tid)
        if flag not in ("0", "1") or ticket_id is None:
            raise ValueError("cursor out of range")
        return int(flag), when, ticket_id
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationError("curseur de page invalide") from exc


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class QueueService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def _conditions(self, f: QueueFilter, me: int | None) -> list[ColumnElement[bool]]:
        cond: list[ColumnElement[bool]] = []
        if f.assignee == "me" and me is not None:
            cond.append(col(Ticket.assignee_id) == me)
        elif f.assignee == "none":
            cond.append(col(Ticket.assignee_id).is_(None))
        elif f.assignee and (assignee_id := parse_id(f.assignee)) is not None:
            cond.append(col(Ticket.assignee_id) == assignee_id)
        if f.team_id is not None:
            cond.append(col(Ticket.team_id) == f.team_id)
        if f.priority:
            cond.append(col(Ticket.priority) == f.priority)
        if f.channel:
            cond.append(col(Ticket.channel) == f.channel)
        if f.organization_id is not None:
            cond.append(col(Ticket.organization_id) == f.organization_id)
        if f.pays:
            cond.append(col(Ticket.organization_id).in_(select(col(Organization.id))
                .where(col(Organization.pays) == f.pays)))
        if f.tag:
            # Tags are a JSON list; match the quoted element in its text form on both backends.
            cond.append(cast(col(Ticket.tags), String).like(f'%"{_escape_like(f.tag)}"%', escape="\\"))
        if f.text and f.text.strip():
            q = f.text.strip()
            if q.lstrip("#").isdigit():
                cond.append(col(Ticket.number) == (parse_id(q.lstrip("#")) or 0))  # out of range: no ticket
            else:
                pattern = f"%{_escape_like(q)}%"
                in_messages = exists(
                    select(col(Message.id)).where(col(Message.ticket_id) == col(Ticket.id),
                                             col(Message.visible_text).ilike(pattern, escape="\\"))
                )
                cond.append(or_(col(Ticket.subject).ilike(pattern, escape="\\"), in_messages))
        return cond

    async def page(
        self, f: QueueFilter, *, me: int | None, cursor: str | None = None, limit: int = PAGE_SIZE
    ) -> QueuePage:
        """One page of tickets, most urgent first, and the cursor of the next page (or None)."""
        limit = max(1, min(limit, 200))
        position = decode_cursor(cursor) if cursor else None
        assignee = aliased(StaffUser)
        now = self.clock.now()
        async with self.db.transaction() as s:
            page = await self._page_keys(s, f, me, position, limit + 1)
            more = len(page) > limit
            page = page[:limit]
            ids = [row[2] for row in page]
            shown = {t.id: (t, c, o, a, team) for t, c, o, a, team in (await s.execute(
                select(Ticket, Contact, Organization, col(assignee.name), col(Team.name))
                .join(Contact, col(Contact.id) == col(Ticket.requester_id), isouter=True)
                .join(Organization, col(Organization.id) == col(Ticket.organization_id), isouter=True)
                .join(assignee, col(assignee.id) == col(Ticket.assignee_id), isouter=True)
                .join(Team, col(Team.id) == col(Ticket.team_id), isouter=True)
                .where(col(Ticket.id).in_(ids))
            )).all()} if ids else {}
        items = tuple(self._row(*shown[tid], due, now) for _, due, tid in page)
        return QueuePage(items=items, next_cursor=encode_cursor(*page[-1]) if more else None)

    async def _page_keys(
        self, s: AsyncSession, f: QueueFilter, me: int | None, position: tuple[int, datetime | None, int] | None,
        limit: int,
    ) -> list[tuple[int, datetime | None, int]]:
        """(no_due, due, id) of the next ``limit`` tickets, merged from index-ordered streams.

        Sorting every open ticket by a computed due time costs a scan of the whole queue. Instead, for
        each status, three streams are each read in the order of an index — tickets awaiting a first
        response by first_response_due, the others by resolution_due, those without any due time by
        id — and the few rows they return are merged here.
        """
        if f.text and not f.text.strip().lstrip("#").isdigit():
            return await self._scan_keys(s, f, me, position, limit)
        base = self._conditions(f, me)
        soon = self.clock.now() + BREACHING_SOON
        out: list[tuple[int, datetime | None, int]] = []
        statuses = f.statuses or tuple(st.value for st in TicketStatus)
        for status in statuses:
            for column, scope in ((col(Ticket.first_response_due), AWAITING), (col(Ticket.resolution_due), ~AWAITING)):
                stmt = select(column, id_col(Ticket.id)).where(col(Ticket.status) == status, scope, column.is_not(None),
                    *base)
                if f.breaching:
                    stmt = stmt.where(column < soon)
                if position is not None:
                    flag, due, tid = position
                    if flag == 1 or due is None:
                        continue
                    stmt = stmt.where(tuple_(column, col(Ticket.id)) > tuple_(due, tid))
                rows = (await s.execute(stmt.order_by(column, col(Ticket.id)).limit(limit))).all()
                out += [(0, due, tid) for due, tid in rows]
            if f.breaching:
                continue
            ids_stmt = select(id_col(Ticket.id)).where(col(Ticket.status) == status, ~AWAITING,
                                                col(Ticket.resolution_due).is_(None), *base)
            if position is not None and position[0] == 1:
                ids_stmt = ids_stmt.where(col(Ticket.id) > position[2])
            out += [(1, None, tid) for tid in (await s.scalars(ids_stmt.order_by(col(Ticket.id)).limit(limit))).all()]
        out.sort(key=lambda k: (k[0], k[1] or now_floor(), k[2]))
        return out[:limit]

    async def _scan_keys(
        self, s: AsyncSession, f: QueueFilter, me: int | None, position: tuple[int, datetime | None, int] | None,
        limit: int,
    ) -> list[tuple[int, datetime | None, int]]:
        """The same order in one query, for a text search: it reads every message anyway, so one sort is cheaper
        than running that search once per stream."""
        stmt = select(NO_DUE, DUE, col(Ticket.id)).where(*self._conditions(f, me))
        if f.statuses:
            stmt = stmt.where(col(Ticket.status).in_(f.statuses))
        if f.breaching:
            stmt = stmt.where(DUE < self.clock.now() + BREACHING_SOON)
        if position is not None:
            flag, due, tid = position
            if flag == 0 and due is not None:
                stmt = stmt.where(or_(DUE.is_(None), DUE > due, and_(DUE == due, col(Ticket.id) > tid)))
            else:
                stmt = stmt.where(DUE.is_(None), col(Ticket.id) > tid)
        rows = (await s.execute(stmt.order_by(NO_DUE, DUE, col(Ticket.id)).limit(limit))).all()
        return [(int(flag), due, int(tid)) for flag, due, tid in rows]

    @staticmethod
    def _row(t: Ticket, c: Contact | None, o: Organization | None, assignee: str | None, team: str | None,
             due: datetime | None, now: datetime) -> QueueRow:
        return QueueRow(
            number=t.number, subject=t.subject, status=t.status, priority=t.priority,
            channel=t.channel, tags=tuple(t.tags), assignee=assignee, team=team,
            requester=(c.name or c.email) if c else None, requester_email=c.email if c else None,
            organization=o.name if o else None, pays=o.pays if o else None,
            created_at=t.created_at, updated_at=t.updated_at, due=due,
            seconds_left=int((due - now).total_seconds()) if due else None,
            breached=bool(t.first_response_breached or t.resolution_breached or (due is not None and due < now)),
        )

    def _due_before(self, when: datetime) -> ColumnElement[bool]:
        """DUE < when, written so that each half can walk one of the queue indexes."""
        return or_(and_(AWAITING, col(Ticket.first_response_due) < when),
                   and_(~AWAITING, col(Ticket.resolution_due) < when))

    async def counts(self, me: int) -> dict[str, int]:
        """Open tickets in each saved view."""
        is_open = col(Ticket.status).in_(OPEN)
        soon = self.clock.now() + BREACHING_SOON
        async with self.db.transaction() as s:
            async def count(*where: ColumnElement[bool]) -> int:
                return int(await s.scalar(select(func.count(col(Ticket.id))).where(is_open, *where)) or 0)

            # Breaching counted in two halves, each a range on one of the queue indexes.
            breaching = await count(AWAITING, col(Ticket.first_response_due) < soon) + await count(
                ~AWAITING, col(Ticket.resolution_due) < soon)
            return {"open": await count(), "mine": await count(col(Ticket.assignee_id) == me),
                    "unassigned": await count(col(Ticket.assignee_id).is_(None)), "breaching": breaching}

    async def latest_id(self) -> int:
        async with self.db.transaction() as s:
            return int(await s.scalar(select(func.max(col(Ticket.id)))) or 0)

    async def new_since(self, after_id: int) -> NewTickets:
        """Tickets created after ``after_id`` (for the queue's polling), newest last."""
        async with self.db.transaction() as s:
            rows = (await s.execute(
                select(id_col(Ticket.id), col(Ticket.number),
                    col(Ticket.subject)).where(col(Ticket.id) > after_id).order_by(col(Ticket.id))
                .limit(50)
            )).all()
        return NewTickets(latest=rows[-1][0] if rows else after_id,
                          tickets=tuple(NewTicket(number=n, subject=subj) for _, n, subj in rows))

    async def choices(self) -> QueueChoices:
        """Values for the filter menus: staff, teams, organizations, pays, channels."""
        async with self.db.transaction() as s:
            staff = (await s.execute(
                select(id_col(StaffUser.id), col(StaffUser.name), col(StaffUser.email))
                .where(col(StaffUser.is_active).is_(True))
                .order_by(col(StaffUser.name))
            )).all()
            teams = (await s.execute(select(id_col(Team.id), col(Team.name)).order_by(col(Team.name)))).all()
            orgs = (await s.execute(select(id_col(Organization.id), col(Organization.name))
                .order_by(col(Organization.name))
                                    .limit(500))).all()
            pays = (await s.scalars(select(col(Organization.pays)).where(col(Organization.pays).is_not(None)).distinct()
                                    .order_by(col(Organization.pays)))).all()
        return QueueChoices(
            staff=tuple(Choice(id=i, name=n or e) for i, n, e in staff),
            teams=tuple(Choice(id=i, name=n) for i, n in teams),
            organizations=tuple(Choice(id=i, name=n) for i, n in orgs),
            pays=tuple(p for p in pays if p),
        )

    async def stats(self) -> QueueStats:
        async with self.db.transaction() as s:
            by_status = dict((await s.execute(select(col(Ticket.status), func.count(col(Ticket.id)))
                                              .group_by(col(Ticket.status)))).all())
            by_priority = dict((await s.execute(select(col(Ticket.priority), func.count(col(Ticket.id)))
                                                .where(col(Ticket.status).in_(OPEN)).group_by(col(Ticket.priority)))).all())
            overdue = await s.scalar(select(func.count(col(Ticket.id))).where(col(Ticket.status).in_(OPEN),
                                                                         self._due_before(self.clock.now())))
        return QueueStats(by_status={k: int(v) for k, v in by_status.items()},
                          open_by_priority={k: int(v) for k, v in by_priority.items()},
                          open_overdue=int(overdue or 0))
