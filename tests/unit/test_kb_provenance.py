"""Editorial rules on sources and review dates, on entries built by the test."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from knowledge_base import Entry
from knowledge_base.provenance import review, years_before


def entry(entry_id: str, *, sources: tuple[str, ...] = ("https://www.cada.fr",), reviewed: date | None = None,
          path: Path | None = None) -> Entry:
    return Entry(id=entry_id, title="T", tags=("t",), questions=("q",), lang="fr", body="B", path=path,
                 sources=sources, reviewed=reviewed)


def test_an_entry_without_sources_is_an_error_naming_its_file() -> None:
    found = review([entry("a", reviewed=date(2026, 12, 2)),
                    entry("b", sources=(), reviewed=date(2026, 12, 2), path=Path("/kb/b.md"))], date(2026, 12, 2))
    assert found.errors == ["b.md: no sources (add 'sources:' with the URL of at least one official page "
                            "that backs the answer)"]
    assert found.warnings == []


def test_a_review_older_than_a_year_is_a_warning() -> None:
    today = date(2026, 12, 2)
    found = review([entry("pile-un-an", reviewed=date(2025, 12, 2)), entry("un-an-et-un-jour",
                   reviewed=date(2025, 12, 1)), entry("jamais")], today)
    assert found.errors == []
    assert found.warnings == [
        "jamais.md: never reviewed (add 'reviewed: YYYY-MM-DD' once checked against its sources)",
        "un-an-et-un-jour.md: last reviewed on 2025-12-01, more than 1 year ago: check it against its sources "
        "and update 'reviewed'",
    ]


def test_a_year_before_a_leap_day() -> None:
    assert years_before(date(2028, 2, 29), 1) == date(2027, 2, 28)
    assert years_before(date(2026, 12, 2), 1) == date(2025, 12, 2)
