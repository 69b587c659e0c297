"""The FAQ as the bot sees it: a small port, and an adapter that follows staff edits.

``knowledge_base.KnowledgeBase`` fits the port as it is (``search(query, limit)`` returning
suggestions with ``id``, ``title``, ``score`` and ``snippet``; an empty list when it is unsure).
Tests pass a tiny in-test implementation.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, runtime_checkable

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


@runtime_checkable
class FaqAnswers(Protocol):
    """Optional: the full answer of an entry, for showing it in the chat (Markdown)."""

    def answer(self, entry_id: str) -> str | None: ...


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
        """The chat's decision: suggestions only when the engine thinks them likely right (purpose "chat")."""
        if self.current is None:
            return []
        if _takes_purpose(self.current):
            return self.current.search(query, limit=limit, purpose="chat")  # type: ignore[call-arg]
        return self.current.search(query, limit=limit)

    def answer(self, entry_id: str) -> str | None:
        get = getattr(self.current, "get", None)  # knowledge_base.KnowledgeBase.get
        entry = get(entry_id) if callable(get) else None
        body = getattr(entry, "body", None)
        return body if isinstance(body, str) else None

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.every)
            except TimeoutError:
                await self.reload()


def _takes_purpose(faq: object) -> bool:
    from knowledge_base import KnowledgeBase

    return isinstance(faq, KnowledgeBase)
