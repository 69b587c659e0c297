"""The live queue's pure rules: presence expiry (injected time), what staff hear of, notice payloads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from helpdesk.app.live.codec import NOTIFY_LIMIT, pack, unpack
from helpdesk.domain.events import EventKind
from helpdesk.domain.live import (
    Beat,
    LiveKind,
    Notice,
    PresenceState,
    decode,
    describe,
    live_kind,
    notices_for_commit,
    others,
    state_at,
)

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
VIEWING, TYPING, LEFT = PresenceState.VIEWING, PresenceState.TYPING, PresenceState.LEFT


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_viewing_lasts_thirty_seconds() -> None:
    beat = Beat(1, "Claire", VIEWING, T0)
    assert state_at(beat, at(0)) is VIEWING
    assert state_at(beat, at(29.9)) is VIEWING
    assert state_at(beat, at(30)) is None


def test_typing_lasts_eight_seconds_then_counts_as_viewing() -> None:
    beat = Beat(1, "Claire", TYPING, T0)
    assert state_at(beat, at(7.9)) is TYPING
    assert state_at(beat, at(8)) is VIEWING
    assert state_at(beat, at(30)) is None


def test_left_is_never_present() -> None:
    assert state_at(Beat(1, "Claire", LEFT, T0), at(0)) is None


def test_others_never_lists_me_and_puts_typing_first() -> None:
    beats = [Beat(1, "Moi", TYPING, T0), Beat(2, "Zoé", VIEWING, T0), Beat(3, "Bruno", VIEWING, T0),
             Beat(4, "Alice", TYPING, T0), Beat(5, "Ancien", VIEWING, at(-31))]
    assert others(beats, me=1, now=at(1)) == [("Alice", TYPING), ("Bruno", VIEWING), ("Zoé", VIEWING)]
    assert others(beats, me=1, now=at(9)) == [("Alice", VIEWING), ("Bruno", VIEWING), ("Zoé", VIEWING)]
    assert others(beats, me=1, now=at(31)) == []


def test_the_sentences_in_french() -> None:
    assert describe([]) == ""
    assert describe([("Claire Martin", VIEWING)]) == "Claire Martin consulte ce ticket."
    assert describe([("Claire Martin", TYPING)]) == "Claire Martin est en train de répondre."
    assert describe([("Claire", TYPING), ("Bruno", VIEWING), ("Zoé", VIEWING)]) == (
        "Claire est en train de répondre ; Bruno et Zoé consultent ce ticket.")


def test_what_staff_browsers_hear_of() -> None:
    assert live_kind(EventKind.TICKET_CREATED) is LiveKind.QUEUE
    assert live_kind(EventKind.MESSAGE_RECEIVED) is LiveKind.MESSAGE
    assert live_kind(EventKind.NOTE_ADDED) is LiveKind.MESSAGE
    assert live_kind(EventKind.STATUS_CHANGED) is LiveKind.TICKET
    assert live_kind(EventKind.VIEWED) is None  # opening a page is not news
    assert live_kind("staff.changed") is None


def test_one_notice_per_ticket_and_kind_in_a_transaction() -> None:
    audit = [(7, "ticket.created"), (7, "message.received"), (7, "ticket.assigned"), (7, "status.changed"),
             (8, "ticket.created"), (None, "team.created"), (7, "ticket.viewed")]
    assert notices_for_commit(audit) == [Notice(LiveKind.QUEUE, 7), Notice(LiveKind.MESSAGE, 7),
                                         Notice(LiveKind.TICKET, 7), Notice(LiveKind.QUEUE, 8)]


def test_payloads_stay_under_the_notify_limit_and_round_trip() -> None:
    notices = [Notice(LiveKind.PRESENCE, n, n, TYPING, "N" * 200, "host:1:abcd") for n in range(1, 3000)]
    payloads = pack(notices)
    assert len(payloads) > 1
    assert all(len(p.encode()) < NOTIFY_LIMIT for p in payloads)
    back = [n for p in payloads for n in unpack(p)]
    assert [n.ticket_id for n in back] == list(range(1, 3000))
    assert back[0].name == "N" * 60 and back[0].state is TYPING and back[0].origin == "host:1:abcd"


def test_hostile_payloads_are_dropped() -> None:
    assert unpack("not json") == []
    assert unpack('{"k": "queue"}') == []
    assert unpack(json.dumps([{"k": "nope"}, {"k": "queue", "t": "7"}, {"k": "queue", "t": 2**40},
                              {"k": "presence", "t": 3}, {"k": "presence", "t": 3, "s": 4, "p": "dancing"},
                              [1], {"k": "queue", "t": True}])) == [
        Notice(LiveKind.QUEUE, None), Notice(LiveKind.QUEUE, None), Notice(LiveKind.QUEUE, None)]
    assert decode({"k": "presence", "t": 3, "s": 4, "p": "typing", "n": 5}) is None
