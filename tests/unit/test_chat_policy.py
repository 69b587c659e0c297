"""The chat reopen policy: a pure function, every branch and the window boundary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from helpdesk.domain.chat_policy import ChatRoute, route_chat_message
from helpdesk.domain.values import TicketStatus

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def route(status: TicketStatus | None, *, hours_ago: float | None = None, window: float = 72,
          new_question: bool = False) -> ChatRoute:
    resolved_at = NOW - timedelta(hours=hours_ago) if hours_ago is not None else None
    return route_chat_message(
        ticket_status=status, resolved_at=resolved_at, now=NOW, reopen_hours=window, new_question=new_question
    ).route


def test_no_ticket_goes_to_the_faq() -> None:
    assert route(None) is ChatRoute.FAQ


@pytest.mark.parametrize("status", [TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING])
def test_open_ticket_takes_the_message(status: TicketStatus) -> None:
    assert route(status) is ChatRoute.APPEND


def test_new_question_goes_to_the_faq_even_with_an_open_ticket() -> None:
    assert route(TicketStatus.OPEN, new_question=True) is ChatRoute.FAQ
    assert route(TicketStatus.RESOLVED, hours_ago=1, new_question=True) is ChatRoute.FAQ


def test_resolved_within_the_window_reopens_up_to_the_boundary() -> None:
    assert route(TicketStatus.RESOLVED, hours_ago=1) is ChatRoute.APPEND
    assert route(TicketStatus.RESOLVED, hours_ago=72) is ChatRoute.APPEND
    assert route(TicketStatus.RESOLVED, hours_ago=72.01) is ChatRoute.NEW_LINKED


def test_window_is_configurable_and_zero_never_reopens() -> None:
    assert route(TicketStatus.RESOLVED, hours_ago=5, window=4) is ChatRoute.NEW_LINKED
    assert route(TicketStatus.RESOLVED, hours_ago=5, window=6) is ChatRoute.APPEND
    assert route(TicketStatus.RESOLVED, hours_ago=0.01, window=0) is ChatRoute.NEW_LINKED


def test_closed_or_unknown_resolution_opens_a_linked_ticket() -> None:
    assert route(TicketStatus.CLOSED, hours_ago=1) is ChatRoute.NEW_LINKED
    assert route(TicketStatus.RESOLVED) is ChatRoute.NEW_LINKED


def test_decision_says_why() -> None:
    d = route_chat_message(ticket_status=TicketStatus.RESOLVED, resolved_at=NOW - timedelta(hours=100), now=NOW,
                           reopen_hours=72, new_question=False)
    assert "72 h" in d.reason
