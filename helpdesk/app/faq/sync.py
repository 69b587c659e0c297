"""The FAQ in the database: import from Markdown (idempotent), export back, and an index that follows."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from sqlalchemy import select
from sqlmodel import col

from helpdesk.db.engine import Database
from helpdesk.db.tables import KbEntry
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

    async def import_dir(self, directory: Path, *, force: bool = False) -> ImportReport:
        from knowledge_base import KbLoadError
        from knowledge_base.loader import load_entries

        entries, errors = load_entries(directory)
        if errors:
            raise KbLoadError(errors)
        created = updated = unchanged = kept = 0
        now = self.clock.now()
        async with self.db.transaction() as s:
            for e in entries:
                digest = _hash(e.title, list(e.tags), list(e.questions), e.body)
                row = await s.get(KbEntry, e.id)
                if row is None:
                    s.add(KbEntry(id=e.id, title=e.title, tags=list(e.tags), questions=list(e.questions),
                                  lang=e.lang, body=e.body, content_hash=digest, updated_at=now))
                    created += 1
                elif row.content_hash == digest and not row.edited_by_staff:
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
                  body=r.body, path=None)
            for r in rows
        ]

    async def knowledge_base(self) -> KnowledgeBase:
        from knowledge_base import KnowledgeBase

        return KnowledgeBase.from_entries(await self.published())

    async def export_texts(self) -> dict[str, str]:
        """Every published entry rendered back to the Markdown format, by file name."""
        out: dict[str, str] = {}
        for e in await self.published():
            front = {"id": e.id, "title": e.title, "tags": list(e.tags), "questions": list(e.questions),
                     "lang": e.lang}
            text = "---\n" + yaml.safe_dump(front, allow_unicode=True, sort_keys=False) + "---\n" + e.body.strip()
            out[f"{e.id}.md"] = text + "\n"
        return out
