"""The FAQ in the database: import from Markdown (idempotent), export back, and an index that follows.

Export writes each published entry with its provenance (`sources`, `reviewed`, `replaces`, kept in the
database since import) and with the question wordings admins accepted from use (`faq_proposal`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from sqlalchemy import select
from sqlmodel import col

from helpdesk.db.engine import Database
from helpdesk.db.tables import FaqProposal, KbEntry
from helpdesk.ports import Clock

if TYPE_CHECKING:
    from knowledge_base import Entry, KnowledgeBase


def bundled_kb_dir() -> Path:
    import knowledge_base

    return Path(knowledge_base.__file__).with_name("entries")


def _hash(title: str, tags: list[str], questions: list[str], body: str) -> str:
    blob = json.dumps([title, tags, questions, body], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ImportReport:
    created: int
    updated: int
    unchanged: int
    kept_staff_edits: int


class KbStore:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def import_dir(self, directory: Path, *, force: bool = False,
                         on_progress: Callable[[int, int | None], None] | None = None) -> ImportReport:
        from knowledge_base import KbLoadError
        from knowledge_base.loader import load_entries

        entries, errors = load_entries(directory)
        if errors:
            raise KbLoadError(errors)
        created = updated = unchanged = kept = 0
        now = self.clock.now()
        async with self.db.transaction() as s:
            for e in entries:
                if on_progress is not None:
                    on_progress(1, len(entries))
                digest = _hash(e.title, list(e.tags), list(e.questions), e.body)
                row = await s.get(KbEntry, e.id)
                sources, reviewed, replaces = _provenance(e)
                if row is None:
                    s.add(KbEntry(id=e.id, title=e.title, tags=list(e.tags), questions=list(e.questions),
                                  lang=e.lang, body=e.body, content_hash=digest, updated_at=now, sources=sources,
                                  reviewed=reviewed, replaces=replaces))
                    created += 1
                    continue
                # Staff cannot edit the provenance: it follows the files even when the content is kept.
                if (list(row.sources), row.reviewed, list(row.replaces)) != (sources, reviewed, replaces):
                    row.sources, row.reviewed, row.replaces = sources, reviewed, replaces
                if row.content_hash == digest and not row.edited_by_staff:
                    unchanged += 1
                elif row.edited_by_staff and not force:
                    kept += 1
                else:
                    row.title, row.tags, row.questions = e.title, list(e.tags), list(e.questions)
                    row.lang, row.body, row.content_hash = e.lang, e.body, digest
                    row.edited_by_staff, row.status, row.updated_at = False, "published", now
                    updated += 1
        return ImportReport(created, updated, unchanged, kept)

    async def published(self) -> list[Entry]:
        from knowledge_base import Entry

        async with self.db.transaction() as s:
            rows = (await s.scalars(select(KbEntry).where(col(KbEntry.status) == "published")
                .order_by(col(KbEntry.id)))).all()
        return [
            Entry(id=r.id, title=r.title, tags=tuple(r.tags), questions=tuple(r.questions), lang=r.lang,
                  body=r.body, path=None, sources=tuple(r.sources), replaces=tuple(r.replaces),
                  reviewed=_date(r.reviewed))
            for r in rows
        ]

    async def accepted_wordings(self) -> list[tuple[str, str]]:
        """(entry id, wording) of every accepted proposal, oldest first: what the index adds at start-up."""
        async with self.db.transaction() as s:
            rows = (await s.execute(select(col(FaqProposal.entry_id), col(FaqProposal.wording))
                                    .where(col(FaqProposal.status) == "accepted").order_by(col(FaqProposal.id)))).all()
        return [(str(entry_id), str(wording)) for entry_id, wording in rows]

    async def knowledge_base(self) -> KnowledgeBase:
        from knowledge_base import KnowledgeBase

        return KnowledgeBase.from_entries(await self.published())

    async def export_texts(self) -> dict[str, str]:
        """Every published entry rendered back to the Markdown format, by file name, with the accepted
        wordings as further `questions:` lines (deduplicated as the index does) and its provenance."""
        from knowledge_base import KnowledgeBase

        kb = KnowledgeBase.from_entries(await self.published())
        kb.add_wordings(await self.accepted_wordings())
        return {f"{e.id}.md": entry_markdown(e) for e in kb.entries}


def entry_markdown(entry: Entry) -> str:
    """The entry's file: front matter (the required fields, then the provenance when present), the answer."""
    front: dict[str, object] = {"id": entry.id, "title": entry.title, "tags": list(entry.tags),
                                "questions": list(entry.questions), "lang": entry.lang}
    if entry.sources:
        front["sources"] = list(entry.sources)
    if entry.reviewed is not None:
        front["reviewed"] = entry.reviewed
    if entry.replaces:
        front["replaces"] = list(entry.replaces)
    return "---\n" + yaml.safe_dump(front, allow_unicode=True, sort_keys=False) + "---\n" + entry.body.strip() + "\n"


def _provenance(entry: Entry) -> tuple[list[str], str | None, list[str]]:
    """(sources, reviewed as YYYY-MM-DD, replaces) as the database keeps them."""
    return list(entry.sources), entry.reviewed.isoformat() if entry.reviewed else None, list(entry.replaces)


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None
