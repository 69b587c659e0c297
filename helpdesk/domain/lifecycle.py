"""The ticket lifecycle as a transition table.

new ──staff_reply──▶ open ──mark_pending──▶ pending ──requester_reply──▶ open
 │                    │                       │
 └──────resolve───────┴────────resolve────────┴──▶ resolved ──close──▶ closed
                                                   │    ▲
                             requester_reply/reopen┘    │
                                                 (open again)
A closed ticket never reopens: a new inbound message opens a follow-up ticket linked to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from helpdesk.domain.errors import InvalidTransition
from helpdesk.domain.values import TicketStatus

S = TicketStatus


class Action(StrEnum):
    STAFF_REPLY = "staff_reply"
    REQUESTER_REPLY = "requester_reply"
    OPEN = "open"
    MARK_PENDING = "mark_pending"
    RESOLVE = "resolve"
    REOPEN = "reopen"
    CLOSE = "close"


TRANSITIONS: dict[tuple[TicketStatus, Action], TicketStatus] = {
    (S.NEW, Action.STAFF_REPLY): S.OPEN,
    (S.OPEN, Action.STAFF_REPLY): S.OPEN,
    (S.PENDING, Action.STAFF_REPLY): S.PENDING,
    (S.RESOLVED, Action.STAFF_REPLY): S.RESOLVED,
    (S.NEW, Action.REQUESTER_REPLY): S.NEW,
    (S.OPEN, Action.REQUESTER_REPLY): S.OPEN,
    (S.PENDING, Action.REQUESTER_REPLY): S.OPEN,
    (S.RESOLVED, Action.REQUESTER_REPLY): S.OPEN,
    (S.NEW, Action.OPEN): S.OPEN,
    (S.PENDING, Action.OPEN): S.OPEN,
    (S.NEW, Action.MARK_PENDING): S.PENDING,
    (S.OPEN, Action.MARK_PENDING): S.PENDING,
    (S.NEW, Action.RESOLVE): S.RESOLVED,
    (S.OPEN, Action.RESOLVE): S.RESOLVED,
    (S.PENDING, Action.RESOLVE): S.RESOLVED,
    (S.RESOLVED, Action.REOPEN): S.OPEN,
    (S.NEW, Action.CLOSE): S.CLOSED,
    (S.OPEN, Action.CLOSE): S.CLOSED,
    (S.PENDING, Action.CLOSE): S.CLOSED,
    (S.RESOLVED, Action.CLOSE): S.CLOSED,
}

# A staff member picking a status in the UI maps to one action.
STATUS_TO_ACTION: dict[TicketStatus, Action] = {
    S.OPEN: Action.OPEN,
    S.PENDING: Action.MARK_PENDING,
    S.RESOLVED: Action.RESOLVE,
    S.CLOSED: Action.CLOSE,
}


def apply(status: TicketStatus, action: Action) -> TicketStatus:
    """The status after ``action``; raises InvalidTransition when the table forbids it."""
    try:
        return TRANSITIONS[(status, action)]
    except KeyError:
        raise InvalidTransition(status.value, action.value) from None


def can(status: TicketStatus, action: Action) -> bool:
    return (status, action) in TRANSITIONS


def action_for_target(current: TicketStatus, target: TicketStatus) -> Action:
    """The action that moves a ticket to ``target`` when staff choose a status.

    ``open`` from ``resolved`` is a reopen; otherwise the table of STATUS_TO_ACTION.
    """
    if target == S.OPEN and current == S.RESOLVED:
        return Action.REOPEN
    if target not in STATUS_TO_ACTION:
        raise InvalidTransition(current.value, f"set status {target.value}")
    return STATUS_TO_ACTION[target]


@dataclass(frozen=True, slots=True)
class StatusChange:
    """What a transition writes on a ticket (status and its timestamps) and what the audit event says."""

    old: TicketStatus
    new: TicketStatus
    resolved_at: datetime | None
    closed_at: datetime | None
    reason: str

    @property
    def changed(self) -> bool:
        return self.old != self.new

    def event_data(self) -> dict[str, str]:
        """The data of the ``status.changed`` event."""
        return {"old": self.old.value, "new": self.new.value, "reason": self.reason}


def transition(current: TicketStatus, action: Action, *, now: datetime, resolved_at: datetime | None,
               closed_at: datetime | None, reason: str) -> StatusChange:
    """The one rule for a status change: the new status from the table, and the timestamps that follow.

    Resolving stamps ``resolved_at``; closing stamps ``closed_at`` (and ``resolved_at`` when the ticket
    was never resolved); opening again clears ``resolved_at``. Raises InvalidTransition when the
    table forbids the action. An action that keeps the status changes nothing.
    """
    new = apply(current, action)
    if new == current:
        return StatusChange(current, new, resolved_at, closed_at, reason)
    if new == S.RESOLVED:
        resolved_at = now
    elif new == S.CLOSED:
        closed_at = now
        resolved_at = resolved_at or now
    elif new == S.OPEN:
        resolved_at = None
    return StatusChange(current, new, resolved_at, closed_at, reason)


class InboundOutcome(StrEnum):
    APPEND = "append"
    FOLLOW_UP = "follow_up"


@dataclass(frozen=True, slots=True)
class InboundDecision:
    outcome: InboundOutcome
    new_status: TicketStatus | None
    reason: str


def on_requester_message(status: TicketStatus, *, automatic: bool = False) -> InboundDecision:
    """What a new inbound message from the requester does to a ticket it threads onto.

    Automatic messages (out-of-office, bounces) are stored without changing the status.
    """
    if status == S.CLOSED:
        return InboundDecision(InboundOutcome.FOLLOW_UP, None, "ticket closed: follow-up opened")
    if automatic:
        return InboundDecision(InboundOutcome.APPEND, status, "automatic message: status unchanged")
    new = apply(status, Action.REQUESTER_REPLY)
    reason = "reopened by the requester" if status == S.RESOLVED else "requester replied"
    return InboundDecision(InboundOutcome.APPEND, new, reason)
