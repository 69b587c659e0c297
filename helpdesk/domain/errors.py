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
"""

from __future__ import annotations


class HelpdeskError(Exception):
    """Base of every error the helpdesk raises on purpose."""


class UserError(HelpdeskError):
    """The caller's fault: a clear message, no retry."""


class NotFound(UserError):
    pass


class InvalidTransition(UserError):
    def __init__(self, status: str, action: str) -> None:
        super().__init__(f"cannot {action} a ticket that is {status}")
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
