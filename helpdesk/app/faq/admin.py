"""FAQ management by staff: admins create, edit, publish and retire entries; agents propose drafts.

Every change marks the entry as edited by staff (so `helpdesk kb import` keeps it unless --force).
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import col

from helpdesk.db import store
from helpdesk.db.engine import Database
from helpdesk.db.tables import KbEntry, Message
from helpdesk.domain.errors import NotFound, ValidationError
from helpdesk.domain.values import Direction
from helpdesk.ports import Clock

STATUSES = ("published", "draft", "retired")


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:80] or "entree"


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _hash(title: str, tags: list[str], questions: list[str], body: str) -> str:
    blob = json.dumps([title, tags, questions, body], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class KbEntryRow:
    """A FAQ entry as the admin pages list and edit it (any status)."""

    id: str
    title: str
    tags: tuple[str, ...]
    questions: tuple[str, ...]
    body: str  # Markdown
    status: str  # one of STATUSES
    source: str  # "bundled" (imported) or "staff"
    edited_by_staff: bool
    updated_at: datetime


def _row(r: KbEntry) -> KbEntryRow:
    return KbEntryRow(id=r.id, title=r.title, tags=tuple(r.tags), questions=tuple(r.questions), body=r.body,
                      status=r.status, source=r.source, edited_by_staff=r.edited_by_staff, updated_at=r.updated_at)


class KbAdminService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def all(self) -> list[KbEntryRow]:
        async with self.db.transaction() as s:
            rows = (await s.scalars(select(KbEntry).order_by(KbEntry.status, KbEntry.title))).all()
        return [_row(r) for r in rows]

    async def get(self, entry_id: str) -> KbEntryRow:
        async with self.db.transaction() as s:
            row = await s.get(KbEntry, entry_id)
            if row is None:
                raise NotFound(f"entrée {entry_id} introuvable")
            return _row(row)

    async def save(self, entry_id: str | None, *, title: str, questions: str, tags: str, body: str,
                   status: str) -> str:
        """Create (entry_id None) or update an entry. Returns its id."""
        title, body = title.strip(), body.strip()
        if not title or not body:
            raise ValidationError("le titre et la réponse sont obligatoires")
        if status not in STATUSES:
            raise ValidationError(f"statut inconnu : {status}")
        q = _lines(questions)
        t = sorted({tag.strip().lower() for tag in tags.split(",") if tag.strip()})
        now = self.clock.now()
        async with self.db.transaction() as s:
            if entry_id is None:
                base = slugify(title)
                entry_id, n = base, 2
                while await s.get(KbEntry, entry_id) is not None:
                    entry_id, n = f"{base}-{n}", n + 1
                s.add(KbEntry(id=entry_id, title=title, tags=t, questions=q, body=body, status=status,
                              source="staff", edited_by_staff=True, content_hash=_hash(title, t, q, body),
                              updated_at=now))
                return entry_id
            row = await s.get(KbEntry, entry_id)
            if row is None:
                raise NotFound(f"entrée {entry_id} introuvable")
            row.title, row.tags, row.questions, row.body, row.status = title, t, q, body, status
            row.edited_by_staff, row.updated_at = True, now
            return entry_id

    async def set_status(self, entry_id: str, status: str) -> None:
        if status not in STATUSES:
            raise ValidationError(f"statut inconnu : {status}")
        async with self.db.transaction() as s:
            row = await s.get(KbEntry, entry_id)
            if row is None:
                raise NotFound(f"entrée {entry_id} introuvable")
            row.status, row.edited_by_staff, row.updated_at = status, True, self.clock.now()

    async def draft_from_ticket(self, number: int) -> str:
        """A draft entry from a ticket: the question from its first request, the answer from the last reply."""
        async with self.db.transaction() as s:
            t = await store.ticket_by_number(s, number)
            first_in = (await s.scalars(select(Message).where(
                col(Message.ticket_id) == t.id, col(Message.direction) == Direction.INBOUND.value)
                .order_by(col(Message.id)))).first()
            last_out = (await s.scalars(select(Message).where(
                col(Message.ticket_id) == t.id, col(Message.direction) == Direction.OUTBOUND.value)
                .order_by(col(Message.id).desc()))).first()
            subject = t.subject
        if first_in is None or last_out is None:
            raise ValidationError("il faut une demande et une réponse pour proposer une entrée de FAQ")
        question = first_in.visible_text.strip().split("\n\n")[0][:500]
        return await self.save(None, title=subject, questions=question, tags="", body=last_out.visible_text,
                               status="draft")
