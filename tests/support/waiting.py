"""Waiting on events, not on time: poll a condition until it holds, within a generous bound."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest


async def wait_until(check: Callable[[], Awaitable[bool] | bool], what: str, *, within: float = 20.0,
                     every: float = 0.005) -> None:
    """Return as soon as ``check()`` is true; fail the test naming ``what`` after ``within`` seconds.

    The bound is a safety net for a loaded machine, not an ordering device: nothing is assumed to have
    happened until the condition says so.
    """
    deadline = time.monotonic() + within
    while True:
        outcome = check()
        if await outcome if isinstance(outcome, Awaitable) else outcome:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"never happened within {within:g} s: {what}")
        await asyncio.sleep(every)
