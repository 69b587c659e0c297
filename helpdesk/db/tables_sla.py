"""Tables of the SLA area: calendars and closures, policies, routing rules, notifications, ratings."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field

from helpdesk.db.base import Table
from helpdesk.db.types import UTCDateTime

__all__ = ["Rating", "RoutingRule", "SlaCalendar", "SlaClosure", "SlaNotification", "SlaPolicy"]


def _json(default: Any) -> Any:
    return Field(default_factory=default, sa_column=Column(JSON, nullable=False))


class SlaCalendar(Table, table=True):
    """Working hours in a time zone: ``hours`` maps a weekday (0 = Monday) to [["09:00", "12:30"], …]."""

    __tablename__ = "sla_calendar"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    timezone: str = "Europe/Paris"
    hours: dict[str, Any] = _json(dict)
    holidays_country: str | None = "FR"


class SlaClosure(Table, table=True):
    """Days the centre is closed, inclusive local dates (added by admins)."""

    __tablename__ = "sla_closure"
    id: int | None = Field(default=None, primary_key=True)
    calendar_id: int = Field(foreign_key="sla_calendar.id", index=True)
    starts_on: date
    ends_on: date
    label: str = ""


class SlaPolicy(Table, table=True):
    """Targets per priority in business minutes: {"normal": {"first_response": 450, "resolution": 2250}}.

    ``overrides`` maps an organization kind to targets of the same shape, priority by priority.
    """

    __tablename__ = "sla_policy"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    is_default: bool = False
    calendar_id: int = Field(foreign_key="sla_calendar.id")
    targets: dict[str, Any] = _json(dict)
    overrides: dict[str, Any] = _json(dict)
    warn_ratio: float = 0.75
    pending_reminder_days: int = 3
    auto_close_days: int = 7
    updated_at: datetime = Field(default=None, sa_type=UTCDateTime, nullable=False)


class RoutingRule(Table, table=True):
    """One routing rule; conditions are lists (empty: any), evaluated by ``position``."""

    __tablename__ = "routing_rule"
    id: int | None = Field(default=None, primary_key=True)
    position: int = Field(default=0, index=True)
    name: str
    enabled: bool = True
    channels: list[str] = _json(list)
    organizations: list[str] = _json(list)
    pays: list[str] = _json(list)
    organization_kinds: list[str] = _json(list)
    faq_tags: list[str] = _json(list)
    team_id: int | None = Field(default=None, foreign_key="team.id")
    priority: str | None = None
    tags: list[str] = _json(list)
    assign: str | None = None  # round_robin, manual
    sla_policy: str | None = None
    stop: bool = False


class SlaNotification(Table, table=True):
    """A notice sent once: the unique key (ticket, target, threshold) stops a second instance."""

    __tablename__ = "sla_notification"
    __table_args__ = (
        UniqueConstraint("ticket_id", "target", "threshold", name="uq_sla_notification_ticket_target_threshold"),
    )
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    target: str  # first_response, resolution, pending, resolved
    threshold: str  # warning, breach, reminder:<ISO start of the pause>, auto_close
    created_at: datetime = Field(default=None, sa_type=UTCDateTime, nullable=False)


class Rating(Table, table=True):
    """Satisfaction after resolution: one rating per ticket (the last click counts)."""

    __tablename__ = "rating"
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", unique=True)
    score: int  # 1 (bad) to 5 (very good)
    comment: str | None = None
    channel: str = "email"
    created_at: datetime = Field(default=None, sa_type=UTCDateTime, nullable=False)
