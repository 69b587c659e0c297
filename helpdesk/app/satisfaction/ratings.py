"""Satisfaction: one rating per resolved ticket, from the one-click links in email or Telegram buttons.

The ticket is named by its public reference (unguessable), never by its number. Rating again
replaces the earlier score: the last click counts.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import col

from helpdesk.db import store
from helpdesk.db.engine import Database
from helpdesk.db.tables import Rating, Ticket
from helpdesk.domain.errors import NotFound, ValidationError
from helpdesk.domain.events import EventKind
from helpdesk.domain.values import TicketStatus
from helpdesk.ports import Clock

SCORES = range(1, 6)
RATEABLE = {TicketStatus.RESOLVED.value, TicketStatus.CLOSED.value}


class RatingService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def rate(self, public_ref: str, score: int, *, channel: str = "email", comment: str | None = None) -> int:
        """Record the requester's score (1 to 5) for a resolved or closed ticket; returns the ticket number."""
        if score not in SCORES:
            raise ValidationError("a rating is a score from 1 to 5")
        now = self.clock.now()
        async with self.db.transaction() as s:
            ticket = (await s.scalars(select(Ticket).where(col(Ticket.public_ref) == public_ref))).first()
            if ticket is None:
                raise NotFound("no such ticket")
            if ticket.status not in RATEABLE:
                raise ValidationError("only a resolved ticket can be rated")
            assert ticket.id is not None
            rating = (await s.scalars(select(Rating).where(col(Rating.ticket_id) == ticket.id))).first()
            if rating is None:
                rating = Rating(ticket_id=ticket.id, score=score, created_at=now)
                s.add(rating)
            rating.score, rating.channel, rating.comment, rating.created_at = score, channel, comment, now
            await store.record_event(s, kind=EventKind.RATED, now=now, ticket_id=ticket.id, score=score,
                                     channel=channel)
            return ticket.number
