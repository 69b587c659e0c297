"""Canned responses: ready-made answers that admins manage and staff insert into a reply."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import col

from helpdesk.db.engine import Database
from helpdesk.db.store import MAX_ID
from helpdesk.db.tables_web import CannedResponse
from helpdesk.domain.errors import ErrorCode, NotFound, ValidationError
from helpdesk.ports import Clock


@dataclass(frozen=True, slots=True)
class Canned:
    """A canned response as staff pick it and admins edit it."""

    id: int
    title: str
    body: str
    active: bool


class CannedService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def list(self, *, include_retired: bool = False) -> list[Canned]:
        stmt = select(CannedResponse).order_by(col(CannedResponse.title))
        if not include_retired:
            stmt = stmt.where(col(CannedResponse.active).is_(True))
        async with self.db.transaction() as s:
            rows = (await s.scalars(stmt)).all()
        out = []
        for r in rows:
            assert r.id is not None  # stored rows
            out.append(Canned(id=r.id, title=r.title, body=r.body, active=r.active))
        return out

    async def get(self, canned_id: int) -> Canned:
        async with self.db.transaction() as s:
            row = await s.get(CannedResponse, canned_id) if 0 < canned_id <= MAX_ID else None
        if row is None or row.id is None:
            raise NotFound(f"canned response {canned_id} not found", code=ErrorCode.CANNED_NOT_FOUND, id=canned_id)
        return Canned(id=row.id, title=row.title, body=row.body, active=row.active)

    async def save(self, canned_id: int | None, title: str, body: str, active: bool = True) -> int:
        title, body = title.strip(), body.strip()
        if not title or not body:
            raise ValidationError("le titre et le texte sont obligatoires")
        now = self.clock.now()
        async with self.db.transaction() as s:
            if canned_id is None:
                row = CannedResponse(title=title, body=body, active=active, created_at=now, updated_at=now)
                s.add(row)
                await s.flush()
            else:
                found = await s.get(CannedResponse, canned_id) if 0 < canned_id <= MAX_ID else None
                if found is None:
                    raise NotFound(f"canned response {canned_id} not found", code=ErrorCode.CANNED_NOT_FOUND,
                                   id=canned_id)
                row = found
                row.title, row.body, row.active, row.updated_at = title, body, active, now
            assert row.id is not None
            return row.id
