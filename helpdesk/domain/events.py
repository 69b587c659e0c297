"""Kinds of audit events. Every change to a ticket writes one, in the same transaction."""

from __future__ import annotations

from enum import StrEnum


class EventKind(StrEnum):
    TICKET_CREATED = "ticket.created"
    MESSAGE_RECEIVED = "message.received"
    MESSAGE_DUPLICATE = "message.duplicate"
    REPLY_QUEUED = "reply.queued"
    REPLY_SENT = "reply.sent"
    REPLY_FAILED = "reply.failed"
    REPLY_RESENT = "reply.resent"  # a staff member pressed « Renvoyer » on a failed delivery
    NOTE_ADDED = "note.added"
    STATUS_CHANGED = "status.changed"
    ASSIGNED = "ticket.assigned"
    TEAM_CHANGED = "ticket.team_changed"
    PRIORITY_CHANGED = "ticket.priority_changed"
    TAGS_CHANGED = "ticket.tags_changed"
    FOLLOW_UP_OPENED = "ticket.follow_up_opened"
    LINKED = "ticket.linked"
    MERGED = "ticket.merged"
    SPLIT = "ticket.split"
    VIEWED = "ticket.viewed"
    SLA_WARNING = "sla.warning"
    SLA_BREACH = "sla.breach"
    QUARANTINED = "message.quarantined"
