"""The fetcher's vocabulary and in-process state: its errors, its answers, its rate limits, its cache.

Errors carry a stable ``code`` and a French ``reason`` (shown as « non vérifié : … »). The rate limits are
sliding windows; the cache is an LRU with a time to live, bounded in entries and bytes.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass


class FetchError(Exception):
    """A fetch that did not happen or did not finish. ``code`` is stable, ``reason`` is French."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


class FetchRefused(FetchError):
    """Our rules said no: host not allowed, private address, rate limit, size cap, fetching disabled."""


class FetchFailed(FetchError):
    """The peer did not answer in time or could not be reached."""


@dataclass(frozen=True, slots=True)
class Fetched:
    url: str  # after redirects
    status: int
    content_type: str
    body: bytes
    from_cache: bool = False


class RateLimiter:
    """Sliding windows: ``per_ticket`` requests per ticket per hour, ``global_per_minute`` overall."""

    def __init__(self, per_ticket: int, global_per_minute: int, monotonic: Callable[[], float] = time.monotonic
                 ) -> None:
        self.per_ticket = per_ticket
        self.global_per_minute = global_per_minute
        self.monotonic = monotonic
        self._global: deque[float] = deque()
        self._tickets: dict[str, deque[float]] = {}

    def take(self, ticket: str | None) -> None:
        now = self.monotonic()
        _expire(self._global, now - 60.0)
        if len(self._global) >= self.global_per_minute:
            raise FetchRefused("rate-limited", "trop de vérifications en ce moment (limite globale atteinte)")
        window: deque[float] | None = None
        if ticket is not None:
            if len(self._tickets) > 10_000:  # forget idle tickets; bounded memory
                for key in [k for k, q in self._tickets.items() if not q or q[-1] < now - 3600.0]:
                    del self._tickets[key]
            window = self._tickets.setdefault(ticket, deque())
            _expire(window, now - 3600.0)
            if len(window) >= self.per_ticket:
                raise FetchRefused("rate-limited", "trop de vérifications pour ce ticket dans l'heure")
            window.append(now)
        self._global.append(now)


def _expire(window: deque[float], before: float) -> None:
    while window and window[0] < before:
        window.popleft()


class TtlCache:
    """LRU with a time to live; bounded in entries and bytes."""

    def __init__(self, ttl: float, max_entries: int, max_bytes: int,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.max_entries, self.max_bytes, self.monotonic = ttl, max_entries, max_bytes, monotonic
        self._items: OrderedDict[tuple[str, str], tuple[float, Fetched]] = OrderedDict()
        self._bytes = 0

    def get(self, key: tuple[str, str]) -> Fetched | None:
        hit = self._items.get(key)
        if hit is None:
            return None
        if hit[0] < self.monotonic():
            self._drop(key)
            return None
        self._items.move_to_end(key)
        return hit[1]

    def put(self, key: tuple[str, str], value: Fetched) -> None:
        size = len(value.body)
        if size > self.max_bytes // 4:
            return
        if key in self._items:
            self._drop(key)
        self._items[key] = (self.monotonic() + self.ttl, value)
        self._bytes += size
        while self._items and (len(self._items) > self.max_entries or self._bytes > self.max_bytes):
            self._drop(next(iter(self._items)))

    def _drop(self, key: tuple[str, str]) -> None:
        _, old = self._items.pop(key)
        self._bytes -= len(old.body)
