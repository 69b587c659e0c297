"""Editorial rules on where an answer comes from: every entry cites sources and is re-checked yearly.

Pure functions over loaded entries; `helpdesk kb check` prints what they find. Missing sources is an error
(the entry cannot be trusted as it stands); a review older than `MAX_AGE_YEARS` is a warning (the entry is
probably still right, but a person should re-read it against its sources).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from knowledge_base.loader import Entry

MAX_AGE_YEARS = 1


@dataclass(frozen=True, slots=True)
class Review:
    errors: list[str]
    warnings: list[str]


def _name(entry: Entry) -> str:
    return entry.path.name if entry.path is not None else f"{entry.id}.md"


def years_before(day: date, years: int) -> date:
    """The same calendar day `years` earlier (28 February for a 29 February with no match)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def review(entries: Iterable[Entry], today: date) -> Review:
    """Errors for entries without sources, warnings for entries never reviewed or reviewed too long ago."""
    oldest_fresh = years_before(today, MAX_AGE_YEARS)
    errors: list[str] = []
    warnings: list[str] = []
    for entry in sorted(entries, key=_name):
        name = _name(entry)
        if not entry.sources:
            errors.append(f"{name}: no sources (add 'sources:' with the URL of at least one official page "
                          "that backs the answer)")
        if entry.reviewed is None:
            warnings.append(f"{name}: never reviewed (add 'reviewed: YYYY-MM-DD' once checked against its sources)")
        elif entry.reviewed < oldest_fresh:
            warnings.append(f"{name}: last reviewed on {entry.reviewed.isoformat()}, more than "
                            f"{MAX_AGE_YEARS} year ago: check it against its sources and update 'reviewed'")
    return Review(errors, warnings)
