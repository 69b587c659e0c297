"""The FAQ as the bot sees it: a small port, and an adapter that follows staff edits.

``knowledge_base.KnowledgeBase`` fits the port as it is (``search(query, limit)`` returning
suggestions with ``id``, ``title``, ``score`` and ``snippet``; an empty list when it is unsure).
Tests pass a tiny in-test implementation.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

log = logging.getLogger(__name__)


class SuggestionLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def score(self) -> float: ...
    @property
    def snippet(self) -> str: ...


class FaqSearch(Protocol):
    def search(self, query: str, limit: int = 3) -> Sequence[SuggestionLike]: ...


class ReloadingFaq:
    """Searches the latest published FAQ; asks the loader again every ``every`` seconds (staff edits)."""

    def __init__(self, load: Callable[[], Awaitable[FaqSearch]], *, every: float = 300.0) -> None:
        self._load = load
        self.every = every
        self.current: FaqSearch | None = None

    async def reload(self) -> bool:
        try:
            self.current = await self._load()
            return True
        except Exception:  # keep answering from the previous index
            log.exception("FAQ reload failed; keeping the previous index")
            return False

    def search(self, query: str, limit: int = 3) -> Sequence[SuggestionLike]:
        return self.current.search(query, limit=limit) if self.current is not None else []

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.every)
            except TimeoutError:
                await self.reload()
