"""File checks on attachments: queued in the intake transaction, run off the request path.

``FileCheckHook`` queues one Outbox row (channel ``filecheck``) per checkable attachment of an
inbound message, atomically with the message. ``FileCheckSender`` is the Outbox sender for that
channel: it reads the blob, runs the check in a thread under a time limit, then, in one transaction,
writes the full report as an internal note and queues a short French summary to the requester
(email or Telegram, as the ticket's channel). A retried job finds its note and does nothing twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from helpdesk.app import mail_guard
from helpdesk.app.intake.service import IntakeContext
from helpdesk.checks import Limits, Report, Severity, check_file, is_checkable
from helpdesk.checks.render import FAQ_BY_CODE, full_text, summary_text
from helpdesk.db import store
from helpdesk.db.engine import Database
from helpdesk.db.tables import Contact, KbEntry, Message, Outbox, Ticket
from helpdesk.domain.errors import NotFound
from helpdesk.domain.events import EventKind
from helpdesk.domain.values import Channel, Direction, format_ticket_number
from helpdesk.ports import Clock, FileChecker, SendError

FILECHECK = "filecheck"
FILE_CHECK_QUEUED = EventKind.FILE_CHECK_QUEUED
FILE_CHECKED = EventKind.FILE_CHECKED


class FileCheckHook:
    """In the intake transaction: one check job per checkable attachment of a requester's message."""

    def __init__(self, *, max_bytes: int | None = None) -> None:
        self.max_bytes = max_bytes or Limits().max_bytes

    async def after_intake(self, ctx: IntakeContext) -> None:
        await self.after_intake_batch([ctx])

    async def after_intake_batch(self, contexts: Sequence[IntakeContext]) -> None:
        """The jobs and events of a whole intake batch, each kind in one executemany."""
        jobs: list[dict[str, Any]] = []
        events: list[store.EventRow] = []
        for ctx in contexts:
            if ctx.inbound.automatic or ctx.message.id is None:
                continue
            seen: set[str] = set()
            for att in ctx.inbound.attachments:
                if att.inline or not is_checkable(att.filename):
                    continue
                digest = hashlib.sha256(att.data).hexdigest()
                if digest in seen:
                    continue
                seen.add(digest)
                payload = {"sha256": digest, "filename": att.filename, "ticket_number": ctx.ticket.number,
                           "message_id": ctx.message.id}
                jobs.append({"channel": FILECHECK, "payload": payload, "next_attempt_at": ctx.now,
                             "created_at": ctx.now, "idempotency_key": f"filecheck:{ctx.message.id}:{digest}"})
                events.append(store.event_row(kind=FILE_CHECK_QUEUED, now=ctx.now, ticket_id=ctx.ticket.id,
                                              filename=att.filename, sha256=digest))
        if jobs:
            session = contexts[0].session
            await session.execute(insert(Outbox), jobs)
            await store.insert_events(session, events)


class FileCheckSender:
    """Outbox sender for ``filecheck`` jobs."""

    def __init__(self, db: Database, clock: Clock, *, public_url: str, mail_domain: str = "craig.fr",
                 limits: Limits | None = None, checker: FileChecker = check_file) -> None:
        self.db = db
        self.checker = checker
        self.clock = clock
        self.public_url = public_url
        self.mail_domain = mail_domain
        self.limits = limits or Limits()

    async def send(self, payload: Mapping[str, Any]) -> None:
        digest, filename = str(payload["sha256"]), str(payload["filename"])
        async with self.db.transaction() as s:
            try:
                data = await store.get_blob(s, digest)
            except NotFound as exc:
                raise SendError(f"attachment {digest[:12]} is gone", permanent=True) from exc
        report = await self.run(filename, data)
        try:
            await self.record(payload, report)
        except NotFound as exc:
            raise SendError(str(exc), permanent=True) from exc

    async def run(self, filename: str, data: bytes) -> Report:
        """The check in a worker thread; past the time limit (plus a margin) the job gives up waiting."""
        try:
            return await asyncio.wait_for(asyncio.to_thread(self.checker, filename, data, self.limits),
                                          timeout=self.limits.seconds + 5)
        except TimeoutError:
            report = Report(filename)
            report.add("timeout", Severity.ERROR, f"Vérification interrompue après {self.limits.seconds:g} s : "
                       "le fichier sera regardé par une personne.")
            return report

    async def record(self, payload: Mapping[str, Any], report: Report) -> None:
        now = self.clock.now()
        note = full_text([report])
        async with self.db.transaction() as s:
            ticket = await store.ticket_by_number(s, int(payload["ticket_number"]))
            assert ticket.id is not None
            done = await s.scalar(select(col(Message.id)).where(
                col(Message.ticket_id) == ticket.id, col(Message.direction) == Direction.NOTE.value,
                col(Message.visible_text) == note).limit(1))
            if done is not None:
                return  # a retry after the note was written
            msg = Message(ticket_id=ticket.id, direction=Direction.NOTE.value, channel=Channel.WEB.value,
                          visible_text=note, full_text=note, automatic=True, created_at=now,
                          meta={"kind": FILECHECK, "file": report.filename, "sha256": payload["sha256"],
                                "codes": report.codes()})
            s.add(msg)
            await s.flush()
            ticket.updated_at = now
            await store.record_event(s, kind=EventKind.NOTE_ADDED, now=now, ticket_id=ticket.id, message_id=msg.id)
            await store.record_event(s, kind=FILE_CHECKED, now=now, ticket_id=ticket.id, filename=report.filename,
                                     to_fix=len(report.to_fix), codes=sorted(set(report.codes())))
            if report.kind != "unsupported":
                await self._summary(s, ticket, payload, report)

    async def _summary(self, s: AsyncSession, ticket: Ticket, payload: Mapping[str, Any], report: Report) -> None:
        contact = await s.get(Contact, ticket.requester_id) if ticket.requester_id else None
        if contact is None or ticket.id is None:
            return
        now = self.clock.now()
        if await mail_guard.refusal(s, ticket, contact, now, kind="filecheck-summary") is not None:
            return  # the note stays on the ticket for staff; the requester is not written to
        known = set((await s.scalars(select(col(KbEntry.id)).where(
            col(KbEntry.id).in_(sorted(set(FAQ_BY_CODE.values()))), col(KbEntry.status) == "published"))).all())
        ref = format_ticket_number(ticket.number)
        text = summary_text(report, ticket_ref=ref, public_url=self.public_url, known_faq=known)
        key = f"filecheck-summary:{payload.get('message_id')}:{payload['sha256']}"
        out: dict[str, Any]
        if ticket.channel == Channel.TELEGRAM.value and contact.telegram_chat_id and not contact.telegram_blocked:
            channel, external_id, subject = Channel.TELEGRAM, None, None
            out = {"chat_id": contact.telegram_chat_id, "text": text, "ticket_number": ticket.number}
        elif contact.email and not contact.bouncing:
            inbound = await s.get(Message, int(payload["message_id"])) if payload.get("message_id") else None
            in_reply_to = inbound.external_id if inbound is not None else None
            channel, subject = Channel.EMAIL, f"{ref} Vérification de « {mail_guard.inert(report.filename)} »"
            external_id = f"<check.{secrets.token_hex(10)}.{ticket.number}@{self.mail_domain}>"
            out = {"to": contact.email, "to_name": contact.name, "subject": subject, "text": text,
                   "message_id": external_id, "in_reply_to": in_reply_to,
                   "references": [in_reply_to] if in_reply_to else [], "ticket_number": ticket.number,
                   "ticket_ref": ticket.public_ref, "auto_submitted": "auto-replied"}
        else:
            return
        msg = Message(ticket_id=ticket.id, direction=Direction.OUTBOUND.value, channel=channel.value,
                      subject=subject, visible_text=text, full_text=text, external_id=external_id, automatic=True,
                      delivery_status="queued", meta={"kind": "filecheck-summary", "file": report.filename},
                      created_at=now)
        s.add(msg)
        await s.flush()
        out["db_message_id"] = msg.id
        s.add(Outbox(channel=channel.value, ticket_id=ticket.id, message_id=msg.id, payload=out,
                     idempotency_key=key, next_attempt_at=now, created_at=now))
