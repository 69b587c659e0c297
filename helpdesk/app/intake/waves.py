"""Which messages of an intake batch can be stored together (pure).

A batch is written in stages (all contacts, then all tickets, then all messages), so a message
must not depend on another message of the same stage. Two dependencies exist: a second copy of
the same message (same channel and external id: the second one is a duplicate of the first),
and a reply to a message of the same batch (its In-Reply-To or References names the other's
Message-ID, so it threads onto the ticket the first one opens). Such a message starts a new
wave; waves run one after the other in the same transaction, so each sees what the earlier
ones wrote. Nearly every batch is one wave.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar


class Keyed(Protocol):
    @property
    def external_id(self) -> str | None: ...
    @property
    def in_reply_to(self) -> tuple[str, ...]: ...
    @property
    def references(self) -> tuple[str, ...]: ...
    @property
    def channel(self) -> object: ...


M = TypeVar("M", bound=Keyed)


def split_waves(msgs: Sequence[M]) -> list[list[M]]:
    """Consecutive groups, in order, none holding a message that depends on another of its group."""
    waves: list[list[M]] = []
    current: list[M] = []
    keys: set[tuple[object, str]] = set()
    ids: set[str] = set()
    for msg in msgs:
        refs = {*msg.in_reply_to, *msg.references}
        key = (msg.channel, msg.external_id) if msg.external_id else None
        if current and ((key is not None and key in keys) or (refs & ids)):
            waves.append(current)
            current, keys, ids = [], set(), set()
        current.append(msg)
        if key is not None:
            keys.add(key)
            ids.add(msg.external_id or "")
    if current:
        waves.append(current)
    return waves
