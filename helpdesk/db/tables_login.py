"""Tables of login protection: one throttle counter per account, client address or device; known devices."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field

from helpdesk.db.base import Table
from helpdesk.db.tables import _ts

__all__ = ["KnownDevice", "LoginThrottle"]


class LoginThrottle(Table, table=True):
    """Sign-in attempts of one key ("account:…", "client:…", "device:…"), counted before the password check.

    Changed only by a compare-and-set UPDATE (helpdesk/app/staff/throttle.py), so concurrent attempts
    cannot all read "below the limit" and pass together.
    """

    __tablename__ = "login_throttle"
    key: str = Field(primary_key=True, max_length=400)
    attempts: int = 0
    last_at: datetime = _ts(nullable=False)
    blocked_until: datetime | None = _ts()


class KnownDevice(Table, table=True):
    """A browser that signed in to an account before (cookie value stored as SHA-256)."""

    __tablename__ = "known_device"
    token_hash: str = Field(primary_key=True, max_length=64)
    staff_id: int = Field(foreign_key="staff_user.id", index=True)
    created_at: datetime = _ts(nullable=False)
    last_used_at: datetime = _ts(nullable=False)
