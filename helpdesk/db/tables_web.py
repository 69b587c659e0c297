"""Tables of the staff web UI and the JSON API: sessions, API tokens, rate-limit hits, canned responses."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, col

from helpdesk.db.base import Table
from helpdesk.db.tables import Ticket, _ts

__all__ = ["ApiToken", "CannedResponse", "RateHit", "WebSession"]


class WebSession(Table, table=True):
    """A server-side staff session. Only the SHA-256 of the cookie value is stored."""

    __tablename__ = "web_session"
    id: str = Field(primary_key=True, max_length=64)
    staff_id: int = Field(foreign_key="staff_user.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = _ts(nullable=False)
    last_seen_at: datetime = _ts(nullable=False)
    expires_at: datetime = _ts(nullable=False, index=True)


class ApiToken(Table, table=True):
    """A per-user API token. Only its SHA-256 is stored; the prefix helps staff recognise it."""

    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff_user.id", index=True)
    name: str = ""
    prefix: str = Field(max_length=12)
    token_hash: str = Field(unique=True, max_length=64)
    created_at: datetime = _ts(nullable=False)
    last_used_at: datetime | None = _ts()
    revoked_at: datetime | None = _ts()


class RateHit(Table, table=True):
    """One counted attempt (failed login, public form) for a sliding-window rate limit."""

    __tablename__ = "rate_hit"
    __table_args__ = (Index("ix_rate_hit_bucket_key_at", "bucket", "key", "created_at"),)
    id: int | None = Field(default=None, primary_key=True)
    bucket: str = Field(max_length=40)
    key: str = Field(max_length=320)
    created_at: datetime = _ts(nullable=False)


class CannedResponse(Table, table=True):
    """A ready-made answer that admins manage and staff insert into the reply box."""

    __tablename__ = "canned_response"
    id: int | None = Field(default=None, primary_key=True)
    title: str
    body: str
    active: bool = True
    created_at: datetime = _ts(nullable=False)
    updated_at: datetime = _ts(nullable=False)



# The staff queue reads open tickets status by status in due-time order (helpdesk/app/tickets/queue.py); the
# extra columns make these indexes covering for the "breaching soon" count.
Index("ix_ticket_queue_first_due", col(Ticket.status), col(Ticket.first_response_due), col(Ticket.first_response_at),
      col(Ticket.id))
Index("ix_ticket_queue_resolution_due", col(Ticket.status), col(Ticket.resolution_due), col(Ticket.first_response_at),
      col(Ticket.first_response_due), col(Ticket.id))
