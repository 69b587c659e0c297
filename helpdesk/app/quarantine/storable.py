"""Text that both databases can store, made so the same way on SQLite and PostgreSQL.

PostgreSQL refuses NUL in text and JSON; SQLite's driver cannot encode a lone surrogate (a UTF-7
or broken header can decode to one). Both become U+FFFD (the replacement character staff see as
« � »), in linear time; the raw bytes of the message are stored untouched beside.
"""

from __future__ import annotations

import re
from typing import Any

REPLACEMENT = "\ufffd"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> str:
    """``text`` with NUL and lone surrogates replaced; unchanged (same object) when already storable."""
    return _UNSTORABLE.sub(REPLACEMENT, text) if _UNSTORABLE.search(text) else text


def storable_opt(text: str | None) -> str | None:
    return None if text is None else storable(text)


def storable_json(value: Any) -> Any:
    """A JSON-like value (dicts, lists, strings) with every string, keys included, made storable."""
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {storable_json(k): storable_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable_json(v) for v in value]
    return value
