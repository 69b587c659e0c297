"""Value types shared by every layer."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    EMAIL = "email"
    TELEGRAM = "telegram"
    WEB = "web"
    PHONE = "phone"
    API = "api"
    PORTAL = "portal"  # the requester portal /espace


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    NOTE = "note"


class TicketStatus(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class OrgKind(StrEnum):
    COMMUNE = "commune"
    EPCI = "epci"
    DEPARTEMENT = "departement"
    SYNDICAT = "syndicat"
    PNR = "pnr"
    PAYS = "pays"
    OTHER = "other"


class StaffRole(StrEnum):
    AGENT = "agent"
    ADMIN = "admin"


class ActorKind(StrEnum):
    STAFF = "staff"
    CONTACT = "contact"
    SYSTEM = "system"


class IntakeAction(StrEnum):
    CREATED = "created"
    APPENDED = "appended"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"


class OutboxStatus(StrEnum):
    """An Outbox row: waiting (or retrying), leased by a dispatcher, delivered, given up."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DEAD = "dead"


class QuarantineState(StrEnum):
    HELD = "held"
    REPROCESSED = "reprocessed"
    DISCARDED = "discarded"


class ChatState(StrEnum):
    """Where a Telegram conversation stands in the hand-over to staff."""

    IDLE = "idle"
    AWAITING_EMAIL = "awaiting_email"
    AWAITING_ORG = "awaiting_org"


OPEN_STATUSES: frozenset[TicketStatus] = frozenset(
    {TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING}
)

# French labels for what users read.
STATUS_LABELS_FR: dict[TicketStatus, str] = {
    TicketStatus.NEW: "Nouveau",
    TicketStatus.OPEN: "En cours",
    TicketStatus.PENDING: "En attente de votre réponse",
    TicketStatus.RESOLVED: "Résolu",
    TicketStatus.CLOSED: "Fermé",
}

PRIORITY_LABELS_FR: dict[Priority, str] = {
    Priority.LOW: "Basse",
    Priority.NORMAL: "Normale",
    Priority.HIGH: "Haute",
    Priority.URGENT: "Urgente",
}


def format_ticket_number(number: int) -> str:
    """The human reference shown in subjects and messages, e.g. ``[#1042]``."""
    return f"[#{number}]"
