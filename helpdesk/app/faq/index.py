"""The FAQ search index at run time: built from the published kb_entry rows, rebuilt when they change.

Staleness is checked against a cheap fingerprint of the table (count and newest update) at most
every ``check_every`` seconds, so edits from another instance or from `helpdesk kb import` are
picked up without a restart; an edit made here invalidates the cache at once.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlmodel import col

from helpdesk.app.faq.sync import KbStore
from helpdesk.db.engine import Database
from helpdesk.db.tables import KbEntry

if TYPE_CHECKING:
    from knowledge_base import Entry, KnowledgeBase


def _build(entries: list[Entry]) -> KnowledgeBase:
    from knowledge_base import KnowledgeBase

    kb = KnowledgeBase.from_entries(entries)
    kb.search("publier des données", limit=1)  # the first search loads lazy parts of the engine
    return kb


class FaqIndex:
    def __init__(self, db: Database, kb_store: KbStore, *, check_every: float = 5.0) -> None:
        self.db = db
        self.kb_store = kb_store
        self.check_every = check_every
        self._kb: KnowledgeBase | None = None
        self._entries: dict[str, Entry] = {}
        self._fingerprint: tuple[Any, ...] | None = None
        self._checked = 0.0
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        self._fingerprint = None

    async def _current_fingerprint(self) -> tuple[Any, ...]:
        async with self.db.transaction() as s:
            row = (await s.execute(
                select(func.count(col(KbEntry.id)),
                    func.max(col(KbEntry.updated_at))).where(col(KbEntry.status) == "published")
            )).one()
        return (int(row[0] or 0), str(row[1]))

    async def knowledge_base(self) -> KnowledgeBase:
        async with self._lock:
            stale = self._kb is None or self._fingerprint is None
            if not stale and time.monotonic() - self._checked > self.check_every:
                stale = await self._current_fingerprint() != self._fingerprint
                self._checked = time.monotonic()
            if stale:
                fingerprint = await self._current_fingerprint()
                entries = await self.kb_store.published()
                # Building and warming the index takes a CPU second or two: keep it off the event loop.
                self._kb = await asyncio.to_thread(_build, entries)
                self._entries = {e.id: e for e in entries}
                self._fingerprint = fingerprint
                self._checked = time.monotonic()
            assert self._kb is not None
            return self._kb

    async def search(self, query: str, limit: int = 3) -> list[dict[str, Any]]:
        """Suggestions with score, snippet and the full answer (for one-click insertion)."""
        if not query.strip():
            return []
        kb = await self.knowledge_base()
        out = []
        for sug in kb.search(query, limit=limit):
            entry = self._entries.get(sug.id)
            out.append({"id": sug.id, "title": sug.title, "score": round(float(sug.score), 3),
                        "snippet": sug.snippet, "body": entry.body if entry else "",
                        "tags": list(entry.tags) if entry else []})
        return out

    async def entry(self, entry_id: str) -> Entry | None:
        await self.knowledge_base()
        return self._entries.get(entry_id)

    async def entries(self) -> list[Entry]:
        await self.knowledge_base()
        return sorted(self._entries.values(), key=lambda e: e.title.lower())
