"""The bot's FAQ port: follows the loader, keeps the last good index when a reload fails."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from channels.telegram.faq import ReloadingFaq


@dataclass(frozen=True)
class Hit:
    id: str
    title: str
    score: float
    snippet: str


class Index:
    def __init__(self, name: str) -> None:
        self.name = name

    def search(self, query: str, limit: int = 3) -> list[Hit]:
        return [Hit(self.name, query, 1.0, "")][:limit]


async def test_reloads_follow_the_loader_and_survive_a_failure() -> None:
    versions = iter([Index("v1"), RuntimeError("database down"), Index("v2")])

    async def load() -> Index:
        item = next(versions)
        if isinstance(item, Exception):
            raise item
        return item

    faq = ReloadingFaq(load, every=0.01)
    assert faq.search("budget") == []  # nothing loaded yet: the bot abstains
    assert await faq.reload() is True
    assert [h.id for h in faq.search("budget")] == ["v1"]
    assert await faq.reload() is False
    assert [h.id for h in faq.search("budget")] == ["v1"]  # the previous index keeps answering
    stop = asyncio.Event()
    task = asyncio.create_task(faq.run(stop))
    for _ in range(100):
        if faq.search("x")[0].id == "v2":
            break
        await asyncio.sleep(0.01)
    stop.set()
    await task
    assert [h.id for h in faq.search("budget")] == ["v2"]
