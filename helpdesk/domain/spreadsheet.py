"""Cells written to CSV files people open in a spreadsheet: never a formula.

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a formula by
Excel and LibreOffice (``=HYPERLINK(…)`` from a public form, DDE payloads); such text cells get a
leading single quote, which the spreadsheet shows as text. Numbers stay numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: Any) -> Any:
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def neutralise_rows(rows: Iterable[Sequence[Any]]) -> Iterable[list[Any]]:
    return ([neutralise(c) for c in row] for row in rows)
