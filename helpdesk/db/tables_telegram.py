"""Tables of the chat channel: stored updates, conversation state, FAQ suggestions and feedback."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, UniqueConstraint
from sqlmodel import Field

from helpdesk.db.base import Table
from helpdesk.db.tables import _json_dict, _json_list, _ts

__all__ = ["ChatSuggestion", "FaqFeedback", "TelegramChat", "TelegramUpdate"]


class TelegramUpdate(Table, table=True):
    """Every Bot API update, stored before it is acknowledged; a repeated update id is ignored."""

    __tablename__ = "telegram_update"
    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    chat_id: int | None = Field(default=None, sa_type=BigInteger, index=True)
    payload: dict[str, Any] = _json_dict()
    status: str = Field(default="received", index=True)  # received, done, failed
    attempts: int = 0
    received_at: datetime = _ts(nullable=False)
    processed_at: datetime | None = _ts()


class TelegramChat(Table, table=True):
    """The conversation state of one chat, so that a restart loses nothing."""

    __tablename__ = "telegram_chat"
    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    state: str = "idle"  # idle, awaiting_email, awaiting_org
    display_name: str | None = None
    current_ticket_id: int | None = Field(default=None, foreign_key="ticket.id")
    new_question: bool = False
    asked_identity: bool = False
    transcript: list[dict[str, Any]] = _json_list()
    pending_email: str | None = None
    organization: str | None = None
    code_hash: str | None = None
    code_expires_at: datetime | None = _ts()
    code_attempts: int = 0
    created_at: datetime = _ts(nullable=False)
    updated_at: datetime = _ts(nullable=False)


class ChatSuggestion(Table, table=True):
    """One set of FAQ suggestions shown in a chat (empty when the engine abstained)."""

    __tablename__ = "chat_suggestion"
    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_type=BigInteger, index=True)
    query: str = ""
    entry_ids: list[str] = _json_list()
    outcome: str | None = None  # helpful, human
    created_at: datetime = _ts(nullable=False, index=True)


class FaqFeedback(Table, table=True):
    """Whether an FAQ entry answered a question, per entry (reports and the engine's evaluation)."""

    __tablename__ = "faq_feedback"
    __table_args__ = (UniqueConstraint("suggestion_id", "entry_id", name="uq_faq_feedback_suggestion_entry"),)
    id: int | None = Field(default=None, primary_key=True)
    entry_id: str = Field(index=True, max_length=120)
    channel: str = "telegram"
    helpful: bool
    suggestion_id: int | None = Field(default=None, foreign_key="chat_suggestion.id")
    query: str = ""
    created_at: datetime = _ts(nullable=False, index=True)
