"""A PublishedReport as JSON (for the Outbox note payload, the sidebar and ``helpdesk ticket N --json``)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from helpdesk.published.model import PublishedReport


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def report_json(report: PublishedReport) -> dict[str, Any]:
    items = []
    for item in report.items:
        d = _plain(item)
        d["type"] = type(item).__name__.removesuffix("Check").lower()  # dataset, record, file
        items.append(d)
    return {"checked_at": report.checked_at.isoformat(), "items": items}
