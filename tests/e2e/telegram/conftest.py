"""Fixtures of the Telegram tests: the fake Bot API on 127.0.0.1 and a started channel on the test database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from helpdesk.db.engine import Database
from helpdesk.ports import FixedClock
from tests.e2e.telegram.fake_api import FakeBotApi
from tests.e2e.telegram.harness import Harness, make_harness


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    fake = FakeBotApi()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
async def tg(db: Database, api: FakeBotApi, clock: FixedClock) -> AsyncIterator[Harness]:
    harness = await make_harness(db.url, api, clock)
    try:
        yield harness
    finally:
        await harness.close()
