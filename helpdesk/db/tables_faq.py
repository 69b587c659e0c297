"""Tables of learning from use: question wordings proposed for FAQ entries, accepted or rejected by admins."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field

from helpdesk.db.base import Table
from helpdesk.db.tables import _ts

__all__ = ["FaqProposal"]


class FaqProposal(Table, table=True):
    """A requester's question proposed as a new wording of an FAQ entry (one row per entry and wording).

    Made when staff inserted the entry into a reply that went out, or when a requester answered « Ça répond
    à ma question » in Telegram. The same wording proposed again only raises ``seen``. Accepted wordings are
    indexed at once and at every start-up, and written as ``questions:`` lines by `helpdesk kb export`.
    """

    __tablename__ = "faq_proposal"
    __table_args__ = (UniqueConstraint("entry_id", "wording_key", name="uq_faq_proposal_entry_wording"),)
    id: int | None = Field(default=None, primary_key=True)
    entry_id: str = Field(index=True, max_length=120)
    wording: str = Field(max_length=1000)
    wording_key: str = Field(max_length=64)  # sha256 of the wording, lower-cased, spaces collapsed
    source: str = Field(max_length=20)  # ticket, telegram
    ticket_id: int | None = None
    status: str = Field(default="pending", index=True, max_length=20)  # pending, accepted, rejected
    seen: int = 1
    created_at: datetime = _ts(nullable=False, index=True)
    decided_at: datetime | None = _ts()
    decided_by: int | None = None
