"""Where a chat message goes: onto the chat's ticket, into a new linked ticket, or to the FAQ.

The reopen policy, explicit and configurable (``HELPDESK_TELEGRAM_REOPEN_HOURS``):

- no ticket for this chat, or the requester asked for a new question (``/nouvelle``) → FAQ first;
- the chat's ticket is new, open or pending → the message goes onto it;
- the ticket is resolved, and the message comes within ``reopen_hours`` of the resolution → onto it
  (the lifecycle reopens it);
- resolved longer ago (or when the resolution time is unknown), or closed → a new ticket linked to
  the previous one, so a ticket is never reopened forever.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from helpdesk.domain.values import OPEN_STATUSES, TicketStatus


class ChatRoute(StrEnum):
    FAQ = "faq"
    APPEND = "append"
    NEW_LINKED = "new_linked"


@dataclass(frozen=True, slots=True)
class ChatDecision:
    route: ChatRoute
    reason: str


def route_chat_message(
    *,
    ticket_status: TicketStatus | None,
    resolved_at: datetime | None,
    now: datetime,
    reopen_hours: float,
    new_question: bool,
) -> ChatDecision:
    """Decide where a requester's chat message goes (see the module docstring)."""
    if ticket_status is None:
        return ChatDecision(ChatRoute.FAQ, "no ticket for this chat")
    if new_question:
        return ChatDecision(ChatRoute.FAQ, "the requester started a new question")
    if ticket_status in OPEN_STATUSES:
        return ChatDecision(ChatRoute.APPEND, f"ticket is {ticket_status.value}")
    if ticket_status == TicketStatus.RESOLVED:
        if resolved_at is None:
            return ChatDecision(ChatRoute.NEW_LINKED, "resolved at an unknown time: new linked ticket")
        if now - resolved_at <= timedelta(hours=reopen_hours):
            return ChatDecision(ChatRoute.APPEND, f"resolved less than {reopen_hours:g} h ago: reopened")
        return ChatDecision(ChatRoute.NEW_LINKED, f"resolved more than {reopen_hours:g} h ago: new linked ticket")
    return ChatDecision(ChatRoute.NEW_LINKED, "ticket closed: new linked ticket")
