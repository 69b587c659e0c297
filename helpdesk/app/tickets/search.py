"""Full-text search in the staff queue: ranked tickets, highlighted fragments, the queue's filters.

A search reads the ticket index (helpdesk/db/fulltext.py): subject, requester, organisation and every
message, internal notes included. Any text is accepted as a plain AND of its words (operators,
quotes and punctuation are only separators); a text longer than ``QUERY_MAX`` is refused (400).
A text of digits (``1234``, ``#1234``) stays a look-up by ticket number, as in the queue.

Results are ranked (best first) and cut in pages by an offset cursor, up to ``RESULTS_MAX`` results:
past that, the staff member narrows the search. Fragments are computed for the page shown only.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from markupsafe import Markup
from sqlalchemy import ColumnElement, Select, bindparam, select
from sqlalchemy.orm import aliased
from sqlmodel import col

from helpdesk.app.tickets.queue import (
    BREACHING_SOON,
    DUE,
    PAGE_SIZE,
    QueueFilter,
    QueuePage,
    QueueRow,
    QueueService,
)
from helpdesk.app.tickets.search_terms import (
    WORD_MAX,
    Marks,
    Term,
    fts5_query,
    terms_of,
    without_stop_words,
)
from helpdesk.db import fulltext
from helpdesk.db.engine import Database
from helpdesk.db.tables import Contact, Organization, StaffUser, Team, Ticket
from helpdesk.domain.errors import ValidationError
from helpdesk.domain.values import TicketStatus

QUERY_MAX = 500  # characters; more is not a search
CHUNKS_MAX = 12  # whitespace-separated pieces kept from the text
RESULTS_MAX = fulltext.CANDIDATES  # ten pages of 50; past that, narrow the search
INLINE_CHARS = 10_000  # of text highlighted on the event loop (2 ms at most); more goes to a worker thread
STATEMENTS_KEPT = 256  # built statements kept, one per set of filters and staff member

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_STATUSES = frozenset(status.value for status in TicketStatus)


def is_number_lookup(text: str | None) -> bool:
    q = (text or "").strip()
    return q.lstrip("#").isdigit()


def is_text_search(text: str | None) -> bool:
    return bool(text and text.strip()) and not is_number_lookup(text)


@dataclass(frozen=True, slots=True)
class SearchText:
    """A staff member's search, made safe: the text for PostgreSQL, the terms for SQLite and highlights."""

    pg_text: str
    terms: tuple[Term, ...]

    @property
    def empty(self) -> bool:
        """Nothing left to look for (only stop words or punctuation): no ticket matches."""
        return not self.terms


def parse(text: str) -> SearchText:
    """A plain AND of the words of ``text``; ValidationError beyond ``QUERY_MAX`` characters."""
    if len(text) > QUERY_MAX:
        raise ValidationError(f"recherche trop longue (au plus {QUERY_MAX} caractères)")
    chunks = [c[:WORD_MAX * 2] for c in _CONTROL.sub(" ", text).split()][:CHUNKS_MAX]
    pg_text = " ".join(without_stop_words(chunks))
    return SearchText(pg_text=pg_text, terms=terms_of(pg_text))


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    if not cursor.isdigit() or int(cursor) >= RESULTS_MAX:
        raise ValidationError("curseur de page invalide")
    return int(cursor)


class TicketSearch:
    """The queue's text search; other requests go to the queue unchanged."""

    def __init__(self, db: Database, queue: QueueService) -> None:
        self.db = db
        self.queue = queue
        self._statements: dict[tuple[QueueFilter, int | None], Select[Any]] = {}

    def _conditions(self, f: QueueFilter, me: int | None) -> list[ColumnElement[bool]]:
        cond = self.queue._conditions(replace(f, text=None), me)  # the queue's filters, one definition
        if f.statuses:
            # Known statuses are written into the SQL: then the plan PostgreSQL caches for the statement
            # is the one it would make for each search, and it stops planning every search again.
            literal = all(status in _STATUSES for status in f.statuses)
            cond.append(col(Ticket.status).in_(
                bindparam("search_statuses", f.statuses, expanding=True, literal_execute=literal)))
        if f.breaching:
            cond.append(DUE < self.queue.clock.now() + BREACHING_SOON)
        return cond

    def _statement(self, f: QueueFilter, me: int | None) -> Select[Any]:
        """The search's statement for these filters, built once: the words and the page are bound
        parameters (``fulltext.parameters``). Building it costs more Python than the rest of a search."""
        key = (replace(f, text=None), me if f.assignee == "me" else None)
        if f.breaching:  # a condition on the current time: built each time
            return self._build(f, me)
        stmt = self._statements.get(key)
        if stmt is None:
            if len(self._statements) >= STATEMENTS_KEPT:
                self._statements.clear()
            stmt = self._statements[key] = self._build(f, me)
        return stmt

    def _build(self, f: QueueFilter, me: int | None) -> Select[Any]:
        dialect = self.db.dialect
        page = fulltext.ranked_page(dialect, self._conditions(f, me))
        assignee = aliased(StaffUser)
        return (select(*_COLUMNS, col(assignee.name).label("assignee"), col(Team.name).label("team"),
                       fulltext.message_text(dialect, page.c.id).label("body"))
                .select_from(page.join(Ticket, col(Ticket.id) == page.c.id))
                .join(Contact, col(Contact.id) == col(Ticket.requester_id), isouter=True)
                .join(Organization, col(Organization.id) == col(Ticket.organization_id), isouter=True)
                .join(assignee, col(assignee.id) == col(Ticket.assignee_id), isouter=True)
                .join(Team, col(Team.id) == col(Ticket.team_id), isouter=True)
                .order_by(page.c.score, page.c.id.desc()))

    async def page(
        self, f: QueueFilter, *, me: int | None, cursor: str | None = None, limit: int = PAGE_SIZE
    ) -> QueuePage:
        """One page of the queue: ranked search results when ``f.text`` is a text, else the queue's page."""
        if not is_text_search(f.text):
            return await self.queue.page(f, me=me, cursor=cursor, limit=limit)
        assert f.text is not None
        query = parse(f.text)
        offset = _offset(cursor)
        limit = max(1, min(limit, 200, RESULTS_MAX - offset))
        if query.empty:
            return QueuePage(items=(), next_cursor=None, ranked=True)
        params = fulltext.parameters(query.pg_text, fts5_query(query.terms), limit + 1, offset)
        async with self.db.read() as s:  # one statement: rank, page, rows and texts
            rows = (await s.execute(self._statement(f, me), params)).all()
        now = self.queue.clock.now()
        marks = Marks(query.terms)
        shown = rows[:limit]

        def build() -> tuple[QueueRow, ...]:
            return tuple(_item(row, marks, now) for row in shown)

        # Highlights read up to HEADLINE_CHARS of each ticket's messages: long texts off the event loop.
        texts = sum(len(row.subject or "") + len(row.body or "") for row in shown)
        items = build() if texts <= INLINE_CHARS else await asyncio.to_thread(build)
        next_offset = offset + limit
        more = len(rows) > limit and next_offset < RESULTS_MAX
        return QueuePage(items=items, next_cursor=str(next_offset) if more else None, ranked=True)


_COLUMNS: tuple[Any, ...] = (  # then assignee, team and body: the order _item unpacks
    col(Ticket.number), col(Ticket.subject), col(Ticket.status), col(Ticket.priority), col(Ticket.channel),
    col(Ticket.tags), col(Ticket.created_at), col(Ticket.updated_at), col(Ticket.first_response_breached),
    col(Ticket.resolution_breached), col(Contact.name).label("requester_name"),
    col(Contact.email).label("requester_email"), col(Organization.name).label("organization"),
    col(Organization.pays), DUE.label("due"),
)


def _item(row: Any, marks: Marks, now: datetime) -> QueueRow:
    """A result as the queue shows a ticket, plus its highlights."""
    (number, subject, status, priority, channel, tags, created_at, updated_at, first_response_breached,
     resolution_breached, requester_name, requester_email, organization, pays, due, assignee, team, body) = row
    due = _aware(due, now)
    return QueueRow(
        number=number, subject=subject, status=status, priority=priority, channel=channel,
        tags=tuple(tags or ()), assignee=assignee, team=team, requester=requester_name or requester_email,
        requester_email=requester_email, organization=organization, pays=pays,
        created_at=created_at, updated_at=updated_at, due=due,
        seconds_left=int((due - now).total_seconds()) if due else None,
        breached=bool(first_response_breached or resolution_breached or (due is not None and due < now)),
        subject_html=marks.highlight(subject or ""),
        fragment_html=marks.fragment(body) if body else Markup(""),
    )


def _aware(due: datetime | None, now: datetime) -> datetime | None:
    """DUE read through a CASE comes back naive on SQLite: it is UTC."""
    if due is not None and due.tzinfo is None:
        return due.replace(tzinfo=now.tzinfo)
    return due
