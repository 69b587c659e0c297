"""The quarantine as staff see it: the held items listed (by QuarantineService), discarded with an audit event
naming the staff member who did it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import col

from helpdesk.app.quarantine.service import DISCARDED, HELD, QuarantineService
from helpdesk.db import store
from helpdesk.db.engine import Database
from helpdesk.db.tables import Quarantine
from helpdesk.domain.errors import NotFound, ValidationError
from helpdesk.domain.events import EventKind
from helpdesk.domain.values import ActorKind
from helpdesk.ports import Clock

DISCARD_EVENT = EventKind.QUARANTINE_DISCARDED


@dataclass(frozen=True, slots=True)
class HeldItem:
    """A held message as the quarantine page lists it."""

    id: int
    channel: str
    reason: str
    sender: str | None
    subject: str | None
    received_at: datetime
    size: int


class QuarantineAdmin:
    def __init__(self, db: Database, clock: Clock, service: QuarantineService) -> None:
        self.db = db
        self.clock = clock
        self.service = service

    async def reprocess(self, quarantine_id: int, actor: int) -> int | None:
        """Run a held item through its channel again; returns the ticket number it landed on."""
        result = await self.service.reprocess(quarantine_id, actor)
        return result.ticket_number

    async def held(self) -> list[HeldItem]:
        out = []
        for q in reversed(await self.service.list(HELD)):
            assert q.id is not None  # stored rows
            out.append(HeldItem(id=q.id, channel=q.channel, reason=q.reason, sender=q.sender, subject=q.subject,
                                received_at=q.received_at, size=q.size))
        return out

    async def raw(self, quarantine_id: int) -> bytes:
        async with self.db.transaction() as s:
            row = await s.get(Quarantine, quarantine_id)
            if row is None:
                raise NotFound("élément de quarantaine introuvable")
            return await store.get_blob(s, row.raw_sha256)

    async def discard(self, quarantine_id: int, actor: int) -> None:
        now = self.clock.now()
        async with self.db.transaction() as s:
            row = (await s.scalars(select(Quarantine).where(col(Quarantine.id) == quarantine_id))).first()
            if row is None:
                raise NotFound("élément de quarantaine introuvable")
            if row.status != HELD:
                raise ValidationError("cet élément a déjà été traité")
            row.status, row.resolved_at = DISCARDED, now
            await store.record_event(s, kind=DISCARD_EVENT, now=now, ticket_id=None, actor_kind=ActorKind.STAFF,
                                     actor_id=actor, quarantine_id=row.id, sender=row.sender, reason=row.reason)
