from __future__ import annotations

import pytest

from helpdesk.domain import lifecycle
from helpdesk.domain.errors import InvalidTransition
from helpdesk.domain.lifecycle import Action, InboundOutcome
from helpdesk.domain.values import TicketStatus as S


@pytest.mark.parametrize(
    ("start", "action", "end"),
    [
        (S.NEW, Action.STAFF_REPLY, S.OPEN),
        (S.OPEN, Action.MARK_PENDING, S.PENDING),
        (S.PENDING, Action.REQUESTER_REPLY, S.OPEN),
        (S.OPEN, Action.RESOLVE, S.RESOLVED),
        (S.RESOLVED, Action.REQUESTER_REPLY, S.OPEN),
        (S.RESOLVED, Action.CLOSE, S.CLOSED),
        (S.RESOLVED, Action.REOPEN, S.OPEN),
    ],
)
def test_allowed_transitions(start: S, action: Action, end: S) -> None:
    assert lifecycle.apply(start, action) == end


@pytest.mark.parametrize(
    ("start", "action"),
    [
        (S.CLOSED, Action.REOPEN),
        (S.CLOSED, Action.REQUESTER_REPLY),
        (S.CLOSED, Action.STAFF_REPLY),
        (S.RESOLVED, Action.RESOLVE),
        (S.PENDING, Action.MARK_PENDING),
        (S.NEW, Action.REOPEN),
    ],
)
def test_forbidden_transitions_raise_a_clear_error(start: S, action: Action) -> None:
    with pytest.raises(InvalidTransition) as err:
        lifecycle.apply(start, action)
    assert start.value in str(err.value) and action.value in str(err.value)


def test_closed_is_terminal() -> None:
    assert not any(lifecycle.can(S.CLOSED, a) for a in Action)


def test_inbound_on_closed_opens_follow_up() -> None:
    decision = lifecycle.on_requester_message(S.CLOSED)
    assert decision.outcome is InboundOutcome.FOLLOW_UP


def test_inbound_reopens_resolved_but_automatic_does_not() -> None:
    assert lifecycle.on_requester_message(S.RESOLVED).new_status == S.OPEN
    assert lifecycle.on_requester_message(S.RESOLVED, automatic=True).new_status == S.RESOLVED
    assert lifecycle.on_requester_message(S.PENDING).new_status == S.OPEN


def test_status_choice_maps_to_reopen_from_resolved() -> None:
    assert lifecycle.action_for_target(S.RESOLVED, S.OPEN) is Action.REOPEN
    assert lifecycle.action_for_target(S.NEW, S.PENDING) is Action.MARK_PENDING
    with pytest.raises(InvalidTransition):
        lifecycle.action_for_target(S.OPEN, S.NEW)


# ---- the one status-change rule ---------------------------------------------------------------
from datetime import UTC, datetime, timedelta  # noqa: E402

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EARLIER = T0 - timedelta(days=3)


def test_resolving_stamps_resolved_at_and_names_the_change() -> None:
    change = lifecycle.transition(S.OPEN, Action.RESOLVE, now=T0, resolved_at=None, closed_at=None, reason="r")
    assert (change.old, change.new, change.resolved_at, change.closed_at) == (S.OPEN, S.RESOLVED, T0, None)
    assert change.changed and change.event_data() == {"old": "open", "new": "resolved", "reason": "r"}


def test_closing_keeps_an_earlier_resolution_or_stamps_both() -> None:
    after_resolution = lifecycle.transition(S.RESOLVED, Action.CLOSE, now=T0, resolved_at=EARLIER, closed_at=None,
                                            reason="auto")
    assert (after_resolution.resolved_at, after_resolution.closed_at) == (EARLIER, T0)
    never_resolved = lifecycle.transition(S.NEW, Action.CLOSE, now=T0, resolved_at=None, closed_at=None,
                                          reason="merged")
    assert (never_resolved.resolved_at, never_resolved.closed_at) == (T0, T0)


def test_reopening_clears_the_resolution() -> None:
    for action in (Action.REOPEN, Action.REQUESTER_REPLY):
        change = lifecycle.transition(S.RESOLVED, action, now=T0, resolved_at=EARLIER, closed_at=None, reason="")
        assert change.new == S.OPEN and change.resolved_at is None


def test_an_action_that_keeps_the_status_changes_nothing() -> None:
    change = lifecycle.transition(S.PENDING, Action.STAFF_REPLY, now=T0, resolved_at=None, closed_at=None, reason="")
    assert not change.changed and change.resolved_at is None


def test_a_forbidden_transition_raises_before_anything_is_computed() -> None:
    with pytest.raises(InvalidTransition):
        lifecycle.transition(S.CLOSED, Action.REOPEN, now=T0, resolved_at=EARLIER, closed_at=EARLIER, reason="")
