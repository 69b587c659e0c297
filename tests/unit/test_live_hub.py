"""The live hub over the in-memory bus: heartbeats relayed without flooding, the board, stream bounds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from helpdesk.app.live import hub as hub_module
from helpdesk.app.live.hub import LiveHub, TooManyStreams
from helpdesk.db.engine import Database
from helpdesk.domain.live import LiveKind, Notice, PresenceState
from tests.support.fakes import FixedClock, RecordingBus


@pytest.fixture
async def hub() -> AsyncIterator[tuple[LiveHub, RecordingBus, FixedClock]]:
    bus, clock = RecordingBus(), FixedClock(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
    db = Database("sqlite+aiosqlite://")
    yield LiveHub(bus, db, clock), bus, clock
    await db.dispose()


async def test_heartbeats_are_relayed_without_flooding(hub: tuple[LiveHub, RecordingBus, FixedClock]) -> None:
    live, bus, clock = hub
    for _ in range(50):
        live.beat(7, 1, "Claire", PresenceState.VIEWING)
    assert len(bus.published) == 1  # the same heartbeat again within 2 s stays here
    live.beat(7, 1, "Claire", PresenceState.TYPING)  # a new state goes out at once
    clock.advance(seconds=2)
    live.beat(7, 1, "Claire", PresenceState.TYPING)
    assert [n.state for n in bus.published] == [PresenceState.VIEWING, PresenceState.TYPING, PresenceState.TYPING]
    assert live.others(7, me=2) == [("Claire", PresenceState.TYPING)]
    assert live.others(7, me=1) == []


async def test_the_board_follows_the_notices_and_forgets_expired_ones(
        hub: tuple[LiveHub, RecordingBus, FixedClock]) -> None:
    live, _, clock = hub
    live.apply(Notice(LiveKind.PRESENCE, 7, 3, PresenceState.VIEWING, "Thomas"), clock.now())
    assert live.others(7, me=1) == [("Thomas", PresenceState.VIEWING)]
    clock.advance(seconds=31)
    assert live.others(7, me=1) == []
    live.apply(Notice(LiveKind.PRESENCE, 7, 3, PresenceState.VIEWING, "Thomas"), clock.now())
    live.apply(Notice(LiveKind.PRESENCE, 7, 3, PresenceState.LEFT, "Thomas"), clock.now())
    assert live.others(7, me=1) == [] and 7 not in live.board


async def test_committed_audit_events_become_notices(hub: tuple[LiveHub, RecordingBus, FixedClock]) -> None:
    live, bus, _ = hub
    audit: list[tuple[int | None, str]] = [(7, "message.received"), (7, "note.added"), (7, "ticket.viewed"),
                                           (8, "ticket.created")]
    await live.committing(None, audit)  # type: ignore[arg-type]  # the in-memory bus needs no session
    assert bus.within == [Notice(LiveKind.MESSAGE, 7), Notice(LiveKind.QUEUE, 8)] and bus.published == []
    live.committed(audit)
    assert bus.published == [Notice(LiveKind.MESSAGE, 7), Notice(LiveKind.QUEUE, 8)]


async def test_streams_are_bounded_per_user_and_end_when_closed(
        hub: tuple[LiveHub, RecordingBus, FixedClock], monkeypatch: pytest.MonkeyPatch) -> None:
    live, bus, _ = hub
    monkeypatch.setattr(hub_module, "STREAMS_PER_USER", 1)
    async with live.stream(1, tick=0.01) as events:
        with pytest.raises(TooManyStreams):
            async with live.stream(1):
                pass
        async with live.stream(2, tick=0.01):  # another staff member still may
            assert live.open_streams == 2
        bus.publish(Notice(LiveKind.QUEUE, 9))
        got = [item async for item in _until_notice(events)]
        assert got[-1] == Notice(LiveKind.QUEUE, 9)
        live.close_streams()
        assert [item async for item in events if item is not None] == []  # ends instead of waiting
    assert live.open_streams == 0


async def _until_notice(events: AsyncIterator[Notice | None]) -> AsyncIterator[Notice | None]:
    async for item in events:
        yield item
        if item is not None:
            return
