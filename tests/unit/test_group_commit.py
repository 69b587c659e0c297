"""GroupCommitter's batching, with a recording stand-in for the intake (no database needed)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from helpdesk.app.intake.messages import InboundMessage, IntakeResult
from helpdesk.app.intake.service import GroupCommitter
from helpdesk.domain.errors import StorageUnavailable
from helpdesk.domain.values import Channel, IntakeAction
from tests.support.waiting import wait_until


class Recorder:
    """Answers each message with its position; each batch takes one event-loop turn per await."""

    def __init__(self, *, fail: bool = False, gate: asyncio.Event | None = None) -> None:
        self.batches: list[list[str]] = []
        self.running = 0
        self.most_at_once = 0
        self.fail = fail
        self.gate = gate

    async def receive_batch(self, msgs: Sequence[InboundMessage]) -> list[IntakeResult | Exception]:
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            self.batches.append([m.external_id or "" for m in msgs])
            if self.gate is not None:
                await self.gate.wait()
            await asyncio.sleep(0)
            if self.fail:
                raise StorageUnavailable("database down")
            return [ValueError("bad") if m.external_id == "bad" else
                    IntakeResult(IntakeAction.CREATED, int((m.external_id or "0").lstrip("m") or 0), "ok")
                    for m in msgs]
        finally:
            self.running -= 1


def msg(ext: str) -> InboundMessage:
    return InboundMessage(channel=Channel.EMAIL, external_id=ext)


def committer(intake: Any, **kw: Any) -> GroupCommitter:
    return GroupCommitter(intake, **kw)


async def test_a_burst_is_cut_into_batches_of_at_most_max_batch_and_each_caller_gets_its_answer() -> None:
    rec = Recorder()
    group = committer(rec, window=0.01, max_batch=4)
    results = await asyncio.gather(*(group.receive(msg(f"m{i}")) for i in range(10)))
    assert [r.ticket_number for r in results] == list(range(10))
    assert [len(b) for b in rec.batches] == [4, 4, 2]
    assert rec.most_at_once == 1


async def test_what_arrives_during_a_batch_goes_into_the_next_one() -> None:
    gate = asyncio.Event()
    rec = Recorder(gate=gate)
    group = committer(rec, window=0.0)
    first = asyncio.create_task(group.receive(msg("m1")))
    await wait_until(lambda: rec.batches == [["m1"]], "the first batch is running, held at the gate")
    later = [asyncio.create_task(group.receive(msg(f"m{i}"))) for i in (2, 3, 4)]
    await wait_until(lambda: group.queued == 3, "the later messages wait for the next batch")
    assert rec.batches == [["m1"]] and rec.most_at_once == 1
    gate.set()
    await asyncio.gather(first, *later)
    assert rec.batches == [["m1"], ["m2", "m3", "m4"]] and rec.most_at_once == 1


async def test_a_failed_batch_fails_each_of_its_callers_and_one_bad_message_only_its_own() -> None:
    group = committer(Recorder(fail=True), window=0.0)
    outcomes = await asyncio.gather(group.receive(msg("m1")), group.receive(msg("m2")), return_exceptions=True)
    assert all(isinstance(o, StorageUnavailable) for o in outcomes)
    group = committer(Recorder(), window=0.0)
    good, bad = await asyncio.gather(group.receive(msg("m1")), group.receive(msg("bad")), return_exceptions=True)
    assert isinstance(good, IntakeResult) and isinstance(bad, ValueError)
    with pytest.raises(ValueError):
        await group.receive(msg("bad"))
