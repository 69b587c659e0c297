"""SLA figures from a ticket's events: first response, pause and resume, breach, reopen, explain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from helpdesk.domain.sla import Calendar, ClockEvent, ClockEventKind, Targets, compute_sla, explain

PARIS = ZoneInfo("Europe/Paris")
CAL = Calendar()
K = ClockEventKind
H = timedelta(hours=1)


def paris(mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(2026, mo, d, h, mi, tzinfo=PARIS).astimezone(UTC)


def created(at: datetime) -> ClockEvent:
    return ClockEvent(at, K.CREATED)


def status(at: datetime, new: str, reason: str = "") -> ClockEvent:
    return ClockEvent(at, K.STATUS, status=new, reason=reason)


def reply(at: datetime, automatic: bool = False) -> ClockEvent:
    return ClockEvent(at, K.STAFF_REPLY, automatic=automatic)


TARGETS = Targets(first_response=4 * H, resolution=15 * H)


def test_new_ticket_has_both_due_times_and_warnings_at_75_percent() -> None:
    st = compute_sla([created(paris(3, 2, 9))], TARGETS, CAL, now=paris(3, 2, 10))
    assert st.first_response_due == paris(3, 2, 14)  # 9:00-12:30 then 13:30-14:00
    assert st.first_response_warn_at == paris(3, 2, 12)  # 3h of 4h, before lunch
    assert st.resolution_due == paris(3, 3, 17, 30)  # 7h30 on Monday, 7h30 more on Tuesday
    assert not st.first_response_breached and not st.resolution_breached and not st.paused
    assert st.first_response_elapsed == H


def test_automatic_acknowledgement_is_not_a_first_response() -> None:
    events = [created(paris(3, 2, 9)), reply(paris(3, 2, 9, 1), automatic=True)]
    st = compute_sla(events, TARGETS, CAL, now=paris(3, 2, 15))
    assert st.first_response_at is None and st.first_response_breached
    assert st.first_response_due == paris(3, 2, 14)


def test_first_response_in_time_clears_the_due_time() -> None:
    events = [created(paris(3, 2, 9)), reply(paris(3, 2, 11)), status(paris(3, 2, 11), "open")]
    st = compute_sla(events, TARGETS, CAL, now=paris(3, 3, 9))
    assert st.first_response_due is None and not st.first_response_breached
    assert st.first_response_at == paris(3, 2, 11) and st.first_response_elapsed == 2 * H
    assert st.resolution_due == paris(3, 3, 17, 30)


def test_late_first_response_stays_breached_with_its_due_time() -> None:
    events = [created(paris(3, 2, 9)), reply(paris(3, 2, 16))]
    st = compute_sla(events, TARGETS, CAL, now=paris(3, 2, 17))
    assert st.first_response_breached and st.first_response_due == paris(3, 2, 14)


def test_ticket_paused_over_a_weekend() -> None:
    # Created Friday 6 March 10:00; pending from 16:00 (5h spent); the requester answers Monday 10:00.
    events = [
        created(paris(3, 6, 10)),
        reply(paris(3, 6, 16)),
        status(paris(3, 6, 16), "pending", "waiting for the requester"),
    ]
    paused = compute_sla(events, TARGETS, CAL, now=paris(3, 7, 12))
    assert paused.paused and paused.resolution_due is None and not paused.resolution_breached
    assert paused.resolution_elapsed == 5 * H
    resumed = compute_sla([*events, status(paris(3, 9, 10), "open")], TARGETS, CAL, now=paris(3, 9, 10))
    # 10h left from Monday 10:00: 6h30 on Monday, 3h30 on Tuesday -> Tuesday 12:30.
    assert not resumed.paused and resumed.resolution_due == paris(3, 10, 12, 30)
    never_paused = compute_sla([created(paris(3, 6, 10))], TARGETS, CAL, now=paris(3, 6, 10))
    assert never_paused.resolution_due == paris(3, 10, 10)  # the pause moved it by 2h30 of working time


def test_breach_before_a_pause_is_kept() -> None:
    events = [created(paris(3, 2, 9)), status(paris(3, 2, 15), "pending")]
    st = compute_sla(events, TARGETS, CAL, now=paris(3, 3, 9))
    assert st.paused and st.first_response_breached and st.first_response_due == paris(3, 2, 14)


def test_resolution_in_time_then_reopen_keeps_time_spent() -> None:
    events = [created(paris(3, 2, 9)), reply(paris(3, 2, 10)), status(paris(3, 2, 10), "open"),
              status(paris(3, 2, 12), "resolved")]
    done = compute_sla(events, TARGETS, CAL, now=paris(3, 20, 9))
    assert done.resolved_at == paris(3, 2, 12) and done.resolution_due is None and not done.resolution_breached
    assert done.resolution_elapsed == 3 * H
    reopened = compute_sla([*events, status(paris(3, 4, 9), "open")], TARGETS, CAL, now=paris(3, 4, 9))
    assert reopened.resolved_at is None and reopened.resolution_due == paris(3, 5, 14, 30)  # 12h left from Wed 9:00


def test_resolved_late_is_breached() -> None:
    events = [created(paris(3, 2, 9)), status(paris(3, 4, 9), "resolved"), status(paris(3, 10, 9), "closed")]
    st = compute_sla(events, TARGETS, CAL, now=paris(3, 20, 9))
    assert st.resolution_breached and st.resolution_due == paris(3, 3, 17, 30)
    assert st.resolved_at == paris(3, 4, 9)


def test_changed_policy_counts_the_time_already_spent() -> None:
    events = [created(paris(3, 2, 9))]
    loose = compute_sla(events, Targets(None, 30 * H), CAL, now=paris(3, 3, 11))
    strict = compute_sla(events, Targets(None, 8 * H), CAL, now=paris(3, 3, 11))
    assert not loose.resolution_breached and strict.resolution_breached
    assert strict.resolution_due == paris(3, 3, 9, 30) and strict.resolution_elapsed == 9.5 * H


def test_explain_lists_due_times_per_priority() -> None:
    out = explain(paris(3, 6, 17, 25), {"urgent": Targets(H, None), "normal": TARGETS}, CAL)
    assert out["urgent"] == {"first_response_due": paris(3, 9, 9, 55), "resolution_due": None}
    assert out["normal"]["first_response_due"] == paris(3, 9, 13, 55)
