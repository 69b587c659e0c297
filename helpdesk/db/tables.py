"""The persistent model. Every table is created by an Alembic migration, never by create_all."""

from __future__ import annotations

import importlib
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, BigInteger, Column, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from helpdesk.db.base import Table
from helpdesk.db.types import UTCDateTime

# Naming convention so that migrations get stable constraint names on both backends.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _ts(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


def _json_list() -> Any:
    return Field(default_factory=list, sa_column=Column(JSON, nullable=False))


def _json_dict() -> Any:
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Organization(Table, table=True):
    __tablename__ = "organization"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True)
    kind: str = Field(default="other")
    insee_code: str | None = Field(default=None, index=True)
    siren: str | None = Field(default=None, index=True)
    departement: str | None = None
    pays: str | None = Field(default=None, index=True)
    created_at: datetime = _ts(nullable=False)
    portal_shared: bool = False  # staff allow its agents to see each other's tickets in /espace


class Contact(Table, table=True):
    __tablename__ = "contact"
    id: int | None = Field(default=None, primary_key=True)
    email: str | None = Field(default=None, unique=True)
    name: str | None = None
    telegram_chat_id: int | None = Field(default=None, sa_type=BigInteger, unique=True)
    organization_id: int | None = Field(default=None, foreign_key="organization.id", index=True)
    bouncing: bool = False
    bounce_reason: str | None = None
    telegram_blocked: bool = False
    created_at: datetime = _ts(nullable=False)


class Team(Table, table=True):
    __tablename__ = "team"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)


class StaffUser(Table, table=True):
    __tablename__ = "staff_user"
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True)
    name: str = ""
    role: str = Field(default="agent")
    password_hash: str = ""
    is_active: bool = True
    available: bool = True
    created_at: datetime = _ts(nullable=False)


class TeamMember(Table, table=True):
    __tablename__ = "team_member"
    team_id: int = Field(foreign_key="team.id", primary_key=True)
    staff_id: int = Field(foreign_key="staff_user.id", primary_key=True)
    is_lead: bool = False


class Counter(Table, table=True):
    """Named counters (the human ticket number) incremented with UPDATE … RETURNING."""

    __tablename__ = "counter"
    name: str = Field(primary_key=True)
    value: int = 0


class Ticket(Table, table=True):
    __tablename__ = "ticket"
    __table_args__ = (Index("ix_ticket_status_due", "status", "first_response_due"),)
    id: int | None = Field(default=None, primary_key=True)
    number: int = Field(unique=True)
    public_ref: str = Field(unique=True)
    subject: str = ""
    status: str = Field(default="new", index=True)
    priority: str = Field(default="normal")
    channel: str = Field(default="email")
    requester_id: int | None = Field(default=None, foreign_key="contact.id", index=True)
    organization_id: int | None = Field(default=None, foreign_key="organization.id", index=True)
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    assignee_id: int | None = Field(default=None, foreign_key="staff_user.id", index=True)
    tags: list[str] = _json_list()
    parent_id: int | None = Field(default=None, foreign_key="ticket.id")
    merged_into_id: int | None = Field(default=None, foreign_key="ticket.id")
    created_at: datetime = _ts(nullable=False, index=True)
    updated_at: datetime = _ts(nullable=False)
    last_inbound_at: datetime | None = _ts()
    first_response_at: datetime | None = _ts()
    resolved_at: datetime | None = _ts()
    closed_at: datetime | None = _ts()
    # SLA fields, recomputed from the event log by the SLA module.
    sla_policy: str | None = None
    first_response_due: datetime | None = _ts()
    resolution_due: datetime | None = _ts()
    sla_paused: bool = False
    first_response_breached: bool = False
    resolution_breached: bool = False


class TicketLink(Table, table=True):
    __tablename__ = "ticket_link"
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    other_id: int = Field(foreign_key="ticket.id", index=True)
    kind: str = "related"  # follow_up, related, merged, tag_from_outsider
    created_at: datetime = _ts(nullable=False)


class Blob(Table, table=True):
    """Raw originals and attachment bytes, content-addressed, stored in the same transaction."""

    __tablename__ = "blob"
    sha256: str = Field(primary_key=True, max_length=64)
    size: int
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = _ts(nullable=False)


class Message(Table, table=True):
    __tablename__ = "message"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_message_channel_external_id"),)
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    direction: str
    channel: str
    author_contact_id: int | None = Field(default=None, foreign_key="contact.id", index=True)
    author_staff_id: int | None = Field(default=None, foreign_key="staff_user.id")
    subject: str | None = None
    visible_text: str = ""
    full_text: str = ""
    html_sanitised: str | None = None
    external_id: str | None = Field(default=None, index=True)
    raw_sha256: str | None = Field(default=None, foreign_key="blob.sha256")
    thread_reason: str | None = None
    automatic: bool = False
    delivery_status: str | None = None  # queued, sent, failed (outbound)
    meta: dict[str, Any] = _json_dict()
    created_at: datetime = _ts(nullable=False, index=True)


class Attachment(Table, table=True):
    __tablename__ = "attachment"
    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", index=True)
    filename: str
    content_type: str = "application/octet-stream"
    size: int = 0
    sha256: str = Field(foreign_key="blob.sha256")
    inline: bool = False
    content_id: str | None = None


class Event(Table, table=True):
    """Append-only audit log: who did what to which ticket, when."""

    __tablename__ = "event"
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    kind: str = Field(index=True)
    actor_kind: str = "system"
    actor_id: int | None = None
    data: dict[str, Any] = _json_dict()
    created_at: datetime = _ts(nullable=False, index=True)


class Outbox(Table, table=True):
    """A message waiting to go out. Claimed with a lease; dead after too many attempts."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    channel: str
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    message_id: int | None = Field(default=None, foreign_key="message.id")
    payload: dict[str, Any] = _json_dict()
    idempotency_key: str = Field(unique=True)
    status: str = "pending"  # pending, sending, sent, dead
    attempts: int = 0
    next_attempt_at: datetime = _ts(nullable=False)
    lease_owner: str | None = None
    lease_until: datetime | None = _ts()
    sent_at: datetime | None = _ts()
    last_error: str | None = None
    created_at: datetime = _ts(nullable=False)


class Quarantine(Table, table=True):
    """Inbound input that could not be turned into a ticket: kept, visible, reprocessable."""

    __tablename__ = "quarantine"
    id: int | None = Field(default=None, primary_key=True)
    channel: str
    raw_sha256: str = Field(foreign_key="blob.sha256")
    reason: str
    sender: str | None = None
    subject: str | None = None
    status: str = Field(default="held", index=True)  # held, reprocessed, discarded
    received_at: datetime = _ts(nullable=False)
    resolved_at: datetime | None = _ts()
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id")


class KbEntry(Table, table=True):
    """An FAQ entry at run time. Seeded from knowledge_base/entries by `helpdesk kb import`."""

    __tablename__ = "kb_entry"
    id: str = Field(primary_key=True, max_length=120)
    title: str
    tags: list[str] = _json_list()
    questions: list[str] = _json_list()
    lang: str = "fr"
    body: str = ""
    status: str = Field(default="published", index=True)  # published, draft, retired
    source: str = "bundled"  # bundled, staff
    edited_by_staff: bool = False
    content_hash: str = ""
    updated_at: datetime = _ts(nullable=False)
    # Provenance from the Markdown file, kept so that `helpdesk kb export` writes it back unchanged.
    sources: list[str] = _json_list()
    reviewed: str | None = Field(default=None, max_length=10)  # YYYY-MM-DD
    replaces: list[str] = _json_list()
# The other table modules load on first use of one of their names (PEP 562 below), so a short command that
# only needs the core tables (``helpdesk user add``) does not build thirty table classes it never touches.
# Their tables only point at core tables or at their own module's, so a flush never needs a table that
# is not loaded. Whatever needs the whole schema (``db copy``, migrations) calls ``load_all()``.
_PARTS = ("tables_faq", "tables_login", "tables_portal", "tables_sla", "tables_telegram", "tables_web")

if TYPE_CHECKING:
    from helpdesk.db.tables_faq import *  # noqa: F401,F403
    from helpdesk.db.tables_login import *  # noqa: F401,F403
    from helpdesk.db.tables_portal import *  # noqa: F401,F403
    from helpdesk.db.tables_sla import *  # noqa: F401,F403
    from helpdesk.db.tables_telegram import *  # noqa: F401,F403
    from helpdesk.db.tables_web import *  # noqa: F401,F403


def load_all() -> None:
    """Import every table module: each table class registers itself on ``SQLModel.metadata``."""
    for part in _PARTS:
        importlib.import_module(f"helpdesk.db.{part}")


def __getattr__(name: str) -> Any:
    for part in _PARTS:
        module = importlib.import_module(f"helpdesk.db.{part}")
        if name in module.__all__:
            return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
