"""Tables of the requester portal (/espace): sign-in link tokens and requester sessions.

Separate from the staff sessions (web_session): a requester's cookie or bearer token never opens a
staff page, and revoking one side leaves the other alone. Only SHA-256 digests of tokens are stored.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field

from helpdesk.db.base import Table
from helpdesk.db.tables import _ts

__all__ = ["PortalSession", "PortalToken"]


class PortalToken(Table, table=True):
    """A sign-in link: bound to one address, short-lived, single use (``used_at`` set on first use)."""

    __tablename__ = "portal_token"
    token_hash: str = Field(primary_key=True, max_length=64)
    email: str = Field(max_length=320, index=True)
    purpose: str = Field(default="signin", max_length=20)  # signin (asked for), mail (in a mail we sent)
    created_at: datetime = _ts(nullable=False)
    expires_at: datetime = _ts(nullable=False, index=True)
    used_at: datetime | None = _ts()


class PortalSession(Table, table=True):
    """A signed-in requester (browser cookie or API bearer token)."""

    __tablename__ = "portal_session"
    id: str = Field(primary_key=True, max_length=64)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    kind: str = Field(default="web", max_length=10)  # web (cookie, with CSRF), api (bearer)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = _ts(nullable=False)
    last_seen_at: datetime = _ts(nullable=False)
    expires_at: datetime = _ts(nullable=False, index=True)
