"""The bot's FAQ port: follows the loader, keeps the last good index when a reload fails."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from channels.telegram.faq import ReloadingFaq
from tests.support.waiting import wait_until


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
    await wait_until(lambda: faq.search("x")[0].id == "v2", "the reloaded index answering")
    stop.set()
    await task
    assert [h.id for h in faq.search("budget")] == ["v2"]


async def test_the_bot_searches_the_real_engine_with_purpose_chat_and_reads_full_answers() -> None:
    from helpdesk.app.faq.sync import bundled_kb_dir
    from knowledge_base import KnowledgeBase
    from knowledge_base.search import out_of_scope_messages

    kb = KnowledgeBase.load(bundled_kb_dir())

    async def load() -> KnowledgeBase:
        return kb

    faq = ReloadingFaq(load)
    await faq.reload()
    off_topic = out_of_scope_messages()
    chat = [m for m in off_topic if not faq.search(m)]
    staff = [m for m in off_topic if not kb.search(m, purpose="staff")]
    assert len(chat) > len(staff)  # the chat abstains where a ranked list would still show entries
    for m in off_topic[:20]:
        assert [s.id for s in faq.search(m)] == [s.id for s in kb.search(m, purpose="chat")]
    first = kb.entries[0]
    assert faq.answer(first.id) == first.body and faq.answer("pas-une-entree") is None
