"""Database identifiers read from untrusted text: ASCII digits within the 64-bit signed range.

``int()`` accepts far more than an identifier ("²" passes ``str.isdigit`` and then fails, " 12" and
"١٢" are numbers to it, 5,000 digits cost time); PostgreSQL refuses values past 2^63-1 with an error.
"""

from __future__ import annotations

DB_INT_MAX = 2**63 - 1
_MAX_DIGITS = len(str(DB_INT_MAX))


def parse_id(raw: str | None, *, minimum: int = 1) -> int | None:
    """The identifier written in ``raw``, or None when it is not one (empty, not ASCII digits, out of range)."""
    if not raw or len(raw) > _MAX_DIGITS or not raw.isascii() or not raw.isdigit():
        return None
    value = int(raw)
    return value if minimum <= value <= DB_INT_MAX else None


def in_range(value: int, *, minimum: int = 1) -> bool:
    return minimum <= value <= DB_INT_MAX
