"""The ticket sidebar « Données publiées », read from the published-data notes (no network, no heavy import)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from helpdesk.db.tables import Message
from helpdesk.domain.values import Direction

PUBLISHED = "published"  # the Outbox channel of the look-up job and the ``kind`` of its notes


def published_rows(messages: Sequence[Message]) -> dict[str, list[dict[str, Any]]]:
    """The sidebar « Données publiées » of a ticket, from its published-data notes, newest first: one row per
    reference (the newest look-up of a reference wins), and each note's short summary for the requester
    (staff choose whether to insert it in a reply)."""
    rows: list[dict[str, Any]] = []
    summaries: list[dict[str, Any]] = []
    seen: set[str] = set()
    for m in sorted(messages, key=lambda m: m.id or 0, reverse=True):
        meta = m.meta or {}
        if m.direction != Direction.NOTE.value or meta.get("kind") != PUBLISHED:
            continue
        fresh = False
        for row in meta.get("sidebar") or []:
            if not isinstance(row, dict):
                continue
            key = str(row.get("link") or row.get("reference"))
            if key in seen:
                continue
            seen.add(key)
            fresh = True
            rows.append({**row, "note_id": m.id})
        if fresh and meta.get("agent_summary"):
            summaries.append({"note_id": m.id, "text": str(meta["agent_summary"])})
    return {"rows": rows, "summaries": summaries}
