"""Where each bundled FAQ answer comes from: its sources, review date and former ids.

The database keeps the answers shown at run time; the provenance lives in the front matter of the bundled
Markdown files, read once per process (the files only change with a new release).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from knowledge_base.loader import aliases, load_entries


@dataclass(frozen=True, slots=True)
class Provenance:
    sources: dict[str, tuple[str, ...]] = field(default_factory=dict)
    reviewed: dict[str, date] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # old id -> id of the entry that absorbed it


def bundled_dir() -> Path:
    import knowledge_base

    return Path(knowledge_base.__file__).with_name("entries")


@functools.cache
def provenance(directory: Path | None = None) -> Provenance:
    """Read the entries' front matter (blocking: call it off the event loop the first time)."""
    entries, _ = load_entries(directory or bundled_dir())  # invalid files are `kb check`'s business
    return Provenance(sources={e.id: e.sources for e in entries if e.sources},
                      reviewed={e.id: e.reviewed for e in entries if e.reviewed is not None},
                      aliases=aliases(entries))
