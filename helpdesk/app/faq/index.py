"""The FAQ search index at run time: built from the published kb_entry rows and the accepted wordings
(faq_proposal), rebuilt when they change; a wording accepted here is added at once (`add_wordings`).

Staleness is checked against a cheap fingerprint of the table (count and newest update) at most
every ``check_every`` seconds, so edits from another instance or from `helpdesk kb import` are
picked up without a restart; an edit made here invalidates the cache at once.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlmodel import col

from helpdesk.app.faq.sync import KbStore
from helpdesk.db.engine import Database
from helpdesk.db.tables import FaqProposal, KbEntry

if TYPE_CHECKING:
    from knowledge_base import Entry, KnowledgeBase, Purpose, Suggestion, WordingsAdded


@dataclass(frozen=True, slots=True)
class FaqHit:
    """One FAQ search result as the edges read it: the engine's `knowledge_base.Suggestion` plus the entry's full
    answer (for one-click insertion) and tags (for routing)."""

    id: str
    title: str
    score: float  # confidence in [0, 1], rounded to 3 decimals
    label: str  # « probable », « possible » or « peu probable »
    snippet: str  # the opening of the answer, plain text
    body: str  # the full answer, Markdown ("" if the entry is gone)
    tags: tuple[str, ...]


def _build(entries: list[Entry], wordings: list[tuple[str, str]]) -> KnowledgeBase:
    from knowledge_base import KnowledgeBase

    kb = KnowledgeBase.from_entries(entries)
    if wordings:
        kb.add_wordings(wordings)
    kb.search("publier des données", limit=1)  # the first search loads lazy parts of the engine
    return kb


def insert_text(body: str, channel: str) -> str:
    """What « Insérer dans la réponse » puts into a staff reply on `channel`.

    Email is plain text (bare URLs, lists as dashes, no `**`). A Telegram staff reply is sent as text that
    the channel escapes (channels/telegram/compose.staff_reply), Telegram itself making the bare URLs
    clickable: so the same plain text is the channel's markup there; HTML tags would be shown as typed."""
    from knowledge_base import to_plain_text

    return to_plain_text(body)


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
            accepted = (await s.execute(
                select(func.count(col(FaqProposal.id)), func.max(col(FaqProposal.decided_at)))
                .where(col(FaqProposal.status) == "accepted")
            )).one()
        return (int(row[0] or 0), str(row[1]), int(accepted[0] or 0), str(accepted[1]))

    async def knowledge_base(self) -> KnowledgeBase:
        async with self._lock:
            stale = self._kb is None or self._fingerprint is None
            if not stale and time.monotonic() - self._checked > self.check_every:
                stale = await self._current_fingerprint() != self._fingerprint
                self._checked = time.monotonic()
            if stale:
                fingerprint = await self._current_fingerprint()
                entries = await self.kb_store.published()
                wordings = await self.kb_store.accepted_wordings()
                # Building and warming the index takes a CPU second or two: keep it off the event loop.
                self._kb = await asyncio.to_thread(_build, entries, wordings)
                self._entries = {e.id: e for e in entries}
                self._fingerprint = fingerprint
                self._checked = time.monotonic()
            assert self._kb is not None
            return self._kb

    async def add_wordings(self, pairs: list[tuple[str, str]]) -> WordingsAdded | None:
        """Index accepted wordings at once (off the event loop); None when no index is built yet (the next
        build reads them from the database)."""
        async with self._lock:
            if self._kb is None:
                return None
            kb = self._kb
            done = await asyncio.to_thread(kb.add_wordings, pairs)
            if self._fingerprint is not None:  # this change is already in: no rebuild for it
                self._fingerprint = await self._current_fingerprint()
                self._checked = time.monotonic()
            return done

    async def search(self, query: str, limit: int = 3, purpose: Purpose = "chat") -> list[FaqHit]:
        """Suggestions with score, label, snippet and the full answer (for one-click insertion)."""
        if not query.strip():
            return []
        kb = await self.knowledge_base()
        # the sentence encoder takes 30-250 ms of CPU per message: off the event loop
        return self._hits(await asyncio.to_thread(kb.search, query, limit, purpose))

    async def search_conversation(self, messages: list[str], limit: int = 3,
                                  purpose: Purpose = "staff") -> list[FaqHit]:
        """Suggestions for a ticket: its inbound messages, oldest first (the engine weights the latest most)."""
        messages = [m for m in messages if m.strip()]
        if not messages:
            return []
        kb = await self.knowledge_base()
        return self._hits(await asyncio.to_thread(kb.search_conversation, messages, limit, purpose))

    def _hits(self, found: list[Suggestion]) -> list[FaqHit]:
        out = []
        for sug in found:
            entry = self._entries.get(sug.id)
            out.append(FaqHit(id=sug.id, title=sug.title, score=round(float(sug.score), 3), label=sug.label,
                              snippet=sug.snippet, body=entry.body if entry else "",
                              tags=tuple(entry.tags) if entry else ()))
        return out

    async def entry(self, entry_id: str) -> Entry | None:
        await self.knowledge_base()
        return self._entries.get(entry_id)

    async def entries(self) -> list[Entry]:
        await self.knowledge_base()
        return sorted(self._entries.values(), key=lambda e: e.title.lower())
