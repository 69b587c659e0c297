"""Notices as NOTIFY payloads: JSON arrays of the compact form (helpdesk.domain.live), each under the limit."""

from __future__ import annotations

import json

from helpdesk.domain.live import Notice, decode, encode

NOTIFY_LIMIT = 7900  # PostgreSQL refuses a NOTIFY payload of 8000 bytes or more; a margin for safety


def pack(notices: list[Notice], limit: int = NOTIFY_LIMIT) -> list[str]:
    """Notices as JSON arrays, each under ``limit`` bytes (one NOTIFY payload each)."""
    payloads: list[str] = []
    batch: list[str] = []
    size = 2
    for notice in notices:
        item = json.dumps(encode(notice), separators=(",", ":"), ensure_ascii=False)
        cost = len(item.encode()) + 1
        if batch and size + cost > limit:
            payloads.append("[" + ",".join(batch) + "]")
            batch, size = [], 2
        batch.append(item)
        size += cost
    if batch:
        payloads.append("[" + ",".join(batch) + "]")
    return payloads


def unpack(payload: str) -> list[Notice]:
    try:
        items = json.loads(payload)
    except ValueError:
        return []
    if not isinstance(items, list):
        return []
    return [n for n in (decode(i) for i in items[:1000]) if n is not None]
