"""CSV cells that a spreadsheet would run as formulas are written as text."""

from __future__ import annotations

import csv
import io

import pytest

from helpdesk.app.reports.service import to_csv
from helpdesk.domain.spreadsheet import neutralise


@pytest.mark.parametrize("cell", ['=HYPERLINK("http://evil.example","x")', "+33 4 73", "-2+3", "@SUM(A1)",
                                  "\tcmd", "\r=1"])
def test_formula_starts_get_a_quote(cell: str) -> None:
    assert neutralise(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["Mairie de Murat", "", "1 = 1", 42, -3, 2.5, None])
def test_other_cells_are_unchanged(cell: object) -> None:
    assert neutralise(cell) == cell


def test_to_csv_neutralises_header_and_cells() -> None:
    text = to_csv(["=titre", "n"], [['=HYPERLINK("http://x")', -1], ["@a", 2]])
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert rows == [["'=titre", "n"], ["'=HYPERLINK(\"http://x\")", "-1"], ["'@a", "2"]]
