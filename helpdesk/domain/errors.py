"""The exception tree of the helpdesk.

Two families, caught in one place per edge (CLI, SMTP, web, Telegram):

HelpdeskError
├── UserError              the sender's fault: answer clearly, never retry
│   ├── NotFound           no such ticket, contact, user…
│   ├── InvalidTransition  a lifecycle change the rules forbid
│   ├── ValidationError    a bad value (email address, priority, tag…)
│   └── Conflict           already exists / stale write
└── TemporaryError         ours: the storage or a peer is unavailable; the sender retries
    └── StorageUnavailable the database did not answer or could not commit

Anything else is a bug: logged with a traceback, answered as temporary at the edge.

A user error may carry a stable ``code`` (and its ``params``): the edges then show the French text of
that code from one catalogue (helpdesk/domain/messages_fr.py); the message itself is for logs.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    TICKET_NOT_FOUND = "ticket_not_found"
    REPLY_EMPTY = "reply_empty"
    NOTE_EMPTY = "note_empty"
    NO_REQUESTER = "no_requester"
    REQUESTER_NO_EMAIL = "requester_no_email"
    STAFF_NOT_FOUND = "staff_not_found"
    TEAM_NOT_FOUND = "team_not_found"
    INVALID_TRANSITION = "invalid_transition"
    QUARANTINE_ITEM_NOT_FOUND = "quarantine_item_not_found"
    SLA_POLICY_NOT_FOUND = "sla_policy_not_found"
    CLOSURE_NOT_FOUND = "closure_not_found"
    ROUTING_RULE_NOT_FOUND = "routing_rule_not_found"
    CALENDAR_NOT_FOUND = "calendar_not_found"
    CANNED_NOT_FOUND = "canned_not_found"
    INVALID_EMAIL = "invalid_email"
    STAFF_EXISTS = "staff_exists"
    OWN_ROLE = "own_role"
    OWN_DEACTIVATION = "own_deactivation"
    LAST_ADMIN = "last_admin"
    TEAM_EXISTS = "team_exists"
    TEAM_NAME_EMPTY = "team_name_empty"
    TEAM_NAME_TOO_LONG = "team_name_too_long"
    QUARANTINE_STILL_FAILS = "quarantine_still_fails"
    QUARANTINE_ALREADY_HANDLED = "quarantine_already_handled"


class HelpdeskError(Exception):
    """Base of every error the helpdesk raises on purpose."""


class UserError(HelpdeskError):
    """The caller's fault: a clear message, no retry."""

    def __init__(self, message: str = "", *, code: ErrorCode | None = None, **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


class NotFound(UserError):
    pass


class InvalidTransition(UserError):
    def __init__(self, status: str, action: str) -> None:
        super().__init__(f"cannot {action} a ticket that is {status}", code=ErrorCode.INVALID_TRANSITION,
                         status=status, action=action)
        self.status = status
        self.action = action


class ValidationError(UserError):
    pass


class Conflict(UserError):
    pass


class TemporaryError(HelpdeskError):
    """Our fault or a peer's, expected to pass: the sender should retry later."""


class StorageUnavailable(TemporaryError):
    pass
