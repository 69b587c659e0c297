"""Published data named in a message: queued in the intake transaction, looked up off the request path.

``PublishedDataHook`` finds the references of a requester's message (``helpdesk.published.references``: pure,
bounded) and queues one Outbox row (channel ``published``) per message that has some, atomically with the
message. ``PublishedDataSender`` is the Outbox sender for that channel: it runs the look-up
(``PublishedDataService``: network through the safe fetcher), then writes, in one transaction, an internal
note with the French report; the note's ``meta`` carries the sidebar rows (« Données publiées ») and the
short summary staff may choose to send. A retried job finds its note and does nothing twice. Nothing is
sent to the requester by this job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlmodel import col

from helpdesk.app.intake.service import IntakeContext
from helpdesk.app.tickets.published_sidebar import PUBLISHED
from helpdesk.db import store
from helpdesk.db.engine import Database
from helpdesk.db.tables import Message, Outbox
from helpdesk.domain.errors import NotFound
from helpdesk.domain.events import EventKind
from helpdesk.domain.values import Channel, Direction
from helpdesk.ports import Clock, SendError
from helpdesk.published.references import Reference, RefKind, find_references
from helpdesk.published.service import PublishedDataService
from helpdesk.published.summary import agent_summary, internal_note, sidebar

PUBLISHED_QUEUED = EventKind.PUBLISHED_QUEUED
PUBLISHED_CHECKED = EventKind.PUBLISHED_CHECKED


class PublishedDataHook:
    """In the intake transaction: one look-up job per requester message that names published data."""

    async def after_intake(self, ctx: IntakeContext) -> None:
        await self.after_intake_batch([ctx])

    async def after_intake_batch(self, contexts: Sequence[IntakeContext]) -> None:
        jobs: list[dict[str, Any]] = []
        events: list[store.EventRow] = []
        for ctx in contexts:
            if ctx.inbound.automatic or ctx.message.id is None:
                continue
            refs = find_references(f"{ctx.inbound.subject}\n{ctx.inbound.visible_text}")
            if not refs:
                continue
            payload = {"ticket_number": ctx.ticket.number, "message_id": ctx.message.id,
                       "references": [r.as_json() for r in refs]}
            jobs.append({"channel": PUBLISHED, "payload": payload, "next_attempt_at": ctx.now,
                         "created_at": ctx.now, "idempotency_key": f"published:{ctx.message.id}"})
            events.append(store.event_row(kind=PUBLISHED_QUEUED, now=ctx.now, ticket_id=ctx.ticket.id,
                                          references=len(refs)))
        if jobs:
            session = contexts[0].session
            await session.execute(insert(Outbox), jobs)
            await store.insert_events(session, events)


def references_of(payload: Mapping[str, Any]) -> list[Reference]:
    out = []
    for raw in payload.get("references") or []:
        try:
            out.append(Reference(RefKind(raw["kind"]), str(raw["value"]), raw.get("url"), raw.get("dataset")))
        except (KeyError, ValueError, TypeError):
            continue
    return out


class PublishedDataSender:
    """Outbox sender for ``published`` jobs."""

    def __init__(self, db: Database, clock: Clock, service: PublishedDataService) -> None:
        self.db = db
        self.clock = clock
        self.service = service

    async def send(self, payload: Mapping[str, Any]) -> None:
        try:
            number, source = int(payload["ticket_number"]), int(payload["message_id"])
        except (KeyError, TypeError, ValueError) as exc:
            raise SendError(f"bad published-data payload: {exc}", permanent=True) from exc
        if await self._done(number, source):
            return
        report = await self.service.look_up(references_of(payload), ticket=str(number))
        note = internal_note(report)
        now = self.clock.now()
        async with self.db.transaction() as s:
            try:
                ticket = await store.ticket_by_number(s, number)
            except NotFound as exc:
                raise SendError(str(exc), permanent=True) from exc
            assert ticket.id is not None
            msg = Message(ticket_id=ticket.id, direction=Direction.NOTE.value, channel=Channel.WEB.value,
                          visible_text=note, full_text=note, automatic=True, created_at=now,
                          meta={"kind": PUBLISHED, "source_message_id": source, "sidebar": sidebar(report),
                                "agent_summary": agent_summary(report), "verified": report.verified})
            s.add(msg)
            await s.flush()
            ticket.updated_at = now
            await store.record_event(s, kind=EventKind.NOTE_ADDED, now=now, ticket_id=ticket.id, message_id=msg.id)
            await store.record_event(s, kind=PUBLISHED_CHECKED, now=now, ticket_id=ticket.id,
                                     items=len(report.items), verified=report.verified)

    async def _done(self, number: int, source: int) -> bool:
        """A retry after the note was written: the note of that source message exists."""
        async with self.db.transaction() as s:
            try:
                ticket = await store.ticket_by_number(s, number)
            except NotFound as exc:
                raise SendError(str(exc), permanent=True) from exc
            notes = (await s.scalars(select(Message).where(
                col(Message.ticket_id) == ticket.id, col(Message.direction) == Direction.NOTE.value))).all()
        return any((m.meta or {}).get("kind") == PUBLISHED and (m.meta or {}).get("source_message_id") == source
                   for m in notes)
