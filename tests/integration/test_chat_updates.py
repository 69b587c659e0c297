"""The Telegram update inbox on both backends: stored once, claimed by one instance, retried, pruned."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from helpdesk.app.chat.service import MAX_UPDATE_ATTEMPTS, ChatService
from helpdesk.db.engine import Database
from helpdesk.db.tables_telegram import TelegramUpdate
from helpdesk.ports import FixedClock


async def status(db: Database, update_id: int) -> tuple[str, int]:
    async with db.transaction() as s:
        row = await s.get(TelegramUpdate, update_id)
        assert row is not None
        return row.status, row.attempts


async def test_an_update_id_is_stored_once(db: Database, clock: FixedClock) -> None:
    chat = ChatService(db, clock)
    results = await asyncio.gather(*(chat.record_update(1, 42, {"update_id": 1}) for _ in range(4)))
    assert sorted(results) == [False, False, False, True]


async def test_two_instances_never_claim_the_same_stored_update(db: Database, clock: FixedClock) -> None:
    a, b = ChatService(db, clock), ChatService(db, clock)
    for i in range(1, 11):
        await a.record_update(i, 42, {"update_id": i})
    assert await a.pending_updates() == []  # just stored: whoever stored it is processing it
    clock.advance(seconds=61)
    got_a, got_b = await asyncio.gather(a.pending_updates(), b.pending_updates())
    ids_a, ids_b = {p["update_id"] for p in got_a}, {p["update_id"] for p in got_b}
    assert ids_a | ids_b == set(range(1, 11)) and not ids_a & ids_b
    assert await a.pending_updates() == []  # claimed: not again within the grace period
    await a.mark_update(3, "done")
    await a.mark_update(4, "received")  # a temporary fault: back in the inbox
    clock.advance(seconds=61)
    again = {p["update_id"] for p in await b.pending_updates()}
    assert again == set(range(1, 11)) - {3}  # unfinished claims and the retry, never the done one
    assert await status(db, 3) == ("done", 1) and await status(db, 4) == ("processing", 2)


async def test_an_update_that_keeps_failing_ends_as_failed(db: Database, clock: FixedClock) -> None:
    chat = ChatService(db, clock)
    await chat.record_update(9, 42, {"update_id": 9})
    for _ in range(MAX_UPDATE_ATTEMPTS):
        clock.advance(seconds=61)
        assert [p["update_id"] for p in await chat.pending_updates()] == [9]
    clock.advance(seconds=61)
    assert await chat.pending_updates() == []
    assert await status(db, 9) == ("failed", MAX_UPDATE_ATTEMPTS + 1)


async def test_old_finished_updates_are_pruned(db: Database, clock: FixedClock) -> None:
    chat = ChatService(db, clock)
    for i in (1, 2, 3):
        await chat.record_update(i, 42, {"update_id": i})
    await chat.mark_update(1, "done")
    await chat.mark_update(2, "failed")
    clock.advance(days=31)
    assert await chat.prune_updates(timedelta(days=30)) == 2
    assert await status(db, 3) == ("received", 0)
