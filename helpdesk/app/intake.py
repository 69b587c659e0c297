"""Intake: the one door every channel uses to turn an inbound message into a ticket.

Idempotent by (channel, external id); finds or creates the contact and organization; threads
onto an existing ticket or opens one (or a follow-up of a closed one); stores the raw original
and attachments — all in one transaction. Hooks (routing, acknowledgement, file checks) run in
that same transaction so anything they queue commits with the message or not at all.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from helpdesk.app import store
from helpdesk.app.messages import InboundMessage, IntakeResult
from helpdesk.app.metrics import MESSAGES_RECEIVED
from helpdesk.db.engine import Database, is_temporary
from helpdesk.db.tables import Attachment, Contact, Message, Ticket, TicketLink
from helpdesk.domain import lifecycle
from helpdesk.domain.errors import StorageUnavailable
from helpdesk.domain.events import EventKind
from helpdesk.domain.threading import (
    ThreadEvidence,
    decide_thread,
    strip_reply_prefixes,
    subject_ticket_number,
)
from helpdesk.domain.values import ActorKind, Direction, IntakeAction, TicketStatus
from helpdesk.ports import Clock

log = logging.getLogger(__name__)

MAX_SUBJECT = 200


@dataclass(slots=True)
class IntakeContext:
    """What a hook sees: the stored ticket and message, and whether the ticket is new."""

    session: AsyncSession
    inbound: InboundMessage
    ticket: Ticket
    message: Message
    contact: Contact
    created: bool
    now: datetime


class IntakeHook(Protocol):
    async def after_intake(self, ctx: IntakeContext) -> None: ...


def derive_subject(msg: InboundMessage) -> str:
    subject = strip_reply_prefixes(msg.subject)
    if not subject:
        first = next((line.strip() for line in msg.visible_text.splitlines() if line.strip()), "")
        subject = first[:80] + ("…" if len(first) > 80 else "") if first else "(sans objet)"
    return subject[:MAX_SUBJECT]


class IntakeService:
    def __init__(self, db: Database, clock: Clock, hooks: Sequence[IntakeHook] = ()) -> None:
        self.db = db
        self.clock = clock
        self.hooks = list(hooks)

    async def receive(self, msg: InboundMessage) -> IntakeResult:
        """Store one message in its own transaction. Raises StorageUnavailable on a temporary fault."""
        outcome = (await self.receive_batch([msg]))[0]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def receive_batch(self, msgs: Sequence[InboundMessage]) -> list[IntakeResult | Exception]:
        """Store several messages in one commit (group commit).

        The whole batch first goes through one transaction without savepoints (the common case,
        two statements cheaper a message). If any message breaks, the batch is redone with one
        savepoint per message: the broken one is rolled back alone and its exception returned in
        its place; the others commit. A failed commit raises StorageUnavailable for them all.
        """
        outcomes: list[IntakeResult | Exception]
        try:
            outcomes = list(await self._in_transaction(msgs, savepoints=False))
        except StorageUnavailable:
            raise
        except Exception as exc:
            if len(msgs) == 1 and not isinstance(exc, IntegrityError):
                log.exception("intake failed for one message (channel=%s)", msgs[0].channel)
                outcomes = [exc]
            else:
                outcomes = await self._in_transaction(msgs, savepoints=True)
        for msg, outcome in zip(msgs, outcomes, strict=True):
            label = outcome.action.value if isinstance(outcome, IntakeResult) else "error"
            MESSAGES_RECEIVED.labels(msg.channel.value, label).inc()
        # A concurrent delivery may have won the race on (channel, external id): ask again,
        # the second pass sees the stored row and answers "duplicate".
        retry = [i for i, o in enumerate(outcomes) if isinstance(o, IntegrityError)]
        if retry:
            again = await self.receive_batch([msgs[i] for i in retry])
            for i, res in zip(retry, again, strict=True):
                outcomes[i] = res
        return outcomes

    async def _in_transaction(
        self, msgs: Sequence[InboundMessage], *, savepoints: bool
    ) -> list[IntakeResult | Exception]:
        outcomes: list[IntakeResult | Exception] = []
        async with self.db.transaction() as s:
            await self._prefetch_known(s, msgs)
            for msg in msgs:
                if not savepoints:
                    outcomes.append(await self._receive_in(s, msg))
                    continue
                try:
                    async with s.begin_nested():
                        outcomes.append(await self._receive_in(s, msg))
                except IntegrityError as exc:
                    outcomes.append(exc)
                except StorageUnavailable:
                    raise
                except Exception as exc:  # a bug on one message must not lose the others
                    if is_temporary(exc):
                        raise StorageUnavailable(f"storage unavailable: {type(exc).__name__}") from exc
                    log.exception("intake failed for one message (channel=%s)", msg.channel)
                    outcomes.append(exc)
        return outcomes

    async def _prefetch_known(self, s: AsyncSession, msgs: Sequence[InboundMessage]) -> None:
        """One query for the whole batch: which (channel, external id) are new for sure.

        A message whose key is in ``intake.new`` skips its own duplicate lookup; the key is taken
        out when the message is stored, so a second copy in the same batch looks it up and finds it.
        """
        keys = {(m.channel.value, m.external_id) for m in msgs if m.external_id}
        fresh: set[tuple[str, str]] = set()
        if len(keys) > 1:
            ids = [ext for _, ext in keys]
            rows = await s.execute(select(Message.channel, Message.external_id).where(Message.external_id.in_(ids)))
            known = {(str(c), str(e)) for c, e in rows.all()}
            fresh = {k for k in keys if k not in known}
        s.info["intake.new"] = fresh

    async def _receive_in(self, s: AsyncSession, msg: InboundMessage) -> IntakeResult:
        now = self.clock.now()
        fresh: set[tuple[str, str]] = s.info.get("intake.new", set())
        key = (msg.channel.value, msg.external_id or "")
        if msg.external_id and key in fresh:
            fresh.discard(key)
        elif msg.external_id:
            existing = (
                await s.execute(
                    select(Message.id, Ticket.number, Ticket.public_ref)
                    .join(Ticket, Ticket.id == Message.ticket_id)
                    .where(Message.channel == msg.channel.value, Message.external_id == msg.external_id)
                )
            ).first()
            if existing is not None:
                return IntakeResult(
                    IntakeAction.DUPLICATE, existing[1], "already received", existing[2], existing[0]
                )

        contact = await store.find_or_create_contact(
            s, email=msg.sender_email, name=msg.sender_name, telegram_chat_id=msg.telegram_chat_id, now=now
        )
        if msg.organization and contact.organization_id is None:
            o = msg.organization
            org = await store.find_or_create_organization(
                s, name=o.name, kind=o.kind.value, insee_code=o.insee_code, siren=o.siren,
                departement=o.departement, pays=o.pays, now=now,
            )
            contact.organization_id = org.id

        decision = decide_thread(await self._evidence(s, msg, contact))
        ticket: Ticket | None = None
        created = False
        follow_up_of: int | None = None
        reason = decision.reason
        if decision.ticket_id is not None:
            ticket = await s.get(Ticket, decision.ticket_id, with_for_update=not self.db.is_sqlite)
        if ticket is not None:
            outcome = lifecycle.on_requester_message(TicketStatus(ticket.status), automatic=msg.automatic)
            if outcome.outcome is lifecycle.InboundOutcome.FOLLOW_UP:
                follow_up_of = ticket.number
                parent = ticket
                ticket = await self._open_ticket(s, msg, contact, now, parent_id=parent.id)
                created = True
                reason = f"{decision.reason}; ticket #{parent.number} closed: follow-up opened"
                await self._link(s, ticket, parent, "follow_up", now)
                await store.record_event(
                    s, kind=EventKind.FOLLOW_UP_OPENED, now=now, ticket_id=parent.id, follow_up=ticket.number
                )
            else:
                assert outcome.new_status is not None
                if outcome.new_status.value != ticket.status:
                    await store.record_event(
                        s, kind=EventKind.STATUS_CHANGED, now=now, ticket_id=ticket.id,
                        actor_kind=ActorKind.CONTACT, actor_id=contact.id,
                        old=ticket.status, new=outcome.new_status.value, reason=outcome.reason,
                    )
                    ticket.status = outcome.new_status.value
                    if outcome.new_status == TicketStatus.OPEN:
                        ticket.resolved_at = None
                if not msg.automatic:
                    ticket.last_inbound_at = now
                ticket.updated_at = now
        else:
            ticket = await self._open_ticket(s, msg, contact, now, parent_id=None)
            created = True
            if decision.link_to is not None:
                other = await s.get(Ticket, decision.link_to)
                if other is not None:
                    await self._link(s, ticket, other, "tag_from_outsider", now)

        message = await self._store_message(s, msg, ticket, contact, now, reason)
        await store.record_event(
            s, kind=EventKind.MESSAGE_RECEIVED, now=now, ticket_id=ticket.id,
            actor_kind=ActorKind.CONTACT, actor_id=contact.id,
            message_id=message.id, channel=msg.channel.value, reason=reason, automatic=msg.automatic,
        )
        ctx = IntakeContext(s, msg, ticket, message, contact, created, now)
        for hook in self.hooks:
            await hook.after_intake(ctx)
        action = IntakeAction.CREATED if created else IntakeAction.APPENDED
        return IntakeResult(action, ticket.number, reason, ticket.public_ref, message.id, follow_up_of)

    async def _evidence(self, s: AsyncSession, msg: InboundMessage, contact: Contact) -> ThreadEvidence:
        explicit = None
        if msg.ticket_number is not None:
            t = (await s.scalars(select(Ticket.id).where(Ticket.number == msg.ticket_number))).first()
            explicit = t
        known = await store.tickets_for_message_ids(s, [*msg.in_reply_to, *msg.references])
        irt = next((known[i] for i in msg.in_reply_to if i in known), None)
        refs = next((known[i] for i in reversed(msg.references) if i in known), None)
        tag_id = None
        participant = False
        tag_number = subject_ticket_number(msg.subject)
        if tag_number is not None:
            tagged = (await s.scalars(select(Ticket).where(Ticket.number == tag_number))).first()
            if tagged is not None:
                tag_id = tagged.id
                participant = contact.id is not None and await store.is_participant(s, tagged, contact.id)
        return ThreadEvidence(
            explicit_ticket=explicit,
            in_reply_to_ticket=irt,
            references_ticket=refs,
            tag_ticket=tag_id,
            tag_from_participant=participant,
            force_new=msg.force_new,
        )

    async def _open_ticket(
        self, s: AsyncSession, msg: InboundMessage, contact: Contact, now: datetime, parent_id: int | None
    ) -> Ticket:
        ticket = Ticket(
            number=await store.next_ticket_number(s),
            public_ref=store.new_public_ref(),
            subject=derive_subject(msg),
            status=TicketStatus.NEW.value,
            channel=msg.channel.value,
            requester_id=contact.id,
            organization_id=contact.organization_id,
            parent_id=parent_id,
            created_at=now,
            updated_at=now,
            last_inbound_at=now,
        )
        s.add(ticket)
        await s.flush()
        await store.record_event(
            s, kind=EventKind.TICKET_CREATED, now=now, ticket_id=ticket.id,
            actor_kind=ActorKind.CONTACT, actor_id=contact.id, channel=msg.channel.value, number=ticket.number,
        )
        return ticket

    async def _link(self, s: AsyncSession, ticket: Ticket, other: Ticket, kind: str, now: datetime) -> None:
        assert ticket.id is not None and other.id is not None
        s.add(TicketLink(ticket_id=ticket.id, other_id=other.id, kind=kind, created_at=now))
        await store.record_event(s, kind=EventKind.LINKED, now=now, ticket_id=ticket.id, other=other.number, link=kind)

    async def _store_message(
        self, s: AsyncSession, msg: InboundMessage, ticket: Ticket, contact: Contact, now: datetime, reason: str
    ) -> Message:
        raw_digest = await store.put_blob(s, msg.raw, now) if msg.raw is not None else None
        assert ticket.id is not None
        meta = dict(msg.meta)
        if msg.automatic_reason:
            meta["automatic_reason"] = msg.automatic_reason
        message = Message(
            ticket_id=ticket.id,
            direction=Direction.INBOUND.value,
            channel=msg.channel.value,
            author_contact_id=contact.id,
            subject=msg.subject or None,
            visible_text=msg.visible_text,
            full_text=msg.full_text or msg.visible_text,
            html_sanitised=msg.html_sanitised,
            external_id=msg.external_id,
            raw_sha256=raw_digest,
            thread_reason=reason,
            automatic=msg.automatic,
            meta=meta,
            created_at=msg.received_at or now,
        )
        s.add(message)
        await s.flush()
        for att in msg.attachments:
            digest = await store.put_blob(s, att.data, now)
            assert message.id is not None
            s.add(
                Attachment(
                    message_id=message.id,
                    filename=att.filename,
                    content_type=att.content_type,
                    size=len(att.data),
                    sha256=digest,
                    inline=att.inline,
                    content_id=att.content_id,
                )
            )
        await s.flush()
        return message


class GroupCommitter:
    """Batches concurrent receive() calls into one transaction, so a burst shares fsyncs.

    The first caller waits ``window`` seconds (or until ``max_batch``), then commits for all.
    Each caller gets its own result or exception.
    """

    def __init__(self, intake: IntakeService, *, window: float = 0.002, max_batch: int = 64) -> None:
        self.intake = intake
        self.window = window
        self.max_batch = max_batch
        self._pending: list[tuple[InboundMessage, asyncio.Future[IntakeResult]]] = []
        self._lock = asyncio.Lock()
        self._full = asyncio.Event()

    async def receive(self, msg: InboundMessage) -> IntakeResult:
        fut: asyncio.Future[IntakeResult] = asyncio.get_running_loop().create_future()
        self._pending.append((msg, fut))
        if len(self._pending) >= self.max_batch:
            self._full.set()
        if len(self._pending) == 1:
            asyncio.create_task(self._flush_soon())  # noqa: RUF006 - the future keeps the outcome
        return await fut

    async def _flush_soon(self) -> None:
        try:
            await asyncio.wait_for(self._full.wait(), timeout=self.window)
        except TimeoutError:
            pass
        async with self._lock:
            batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
            self._full.clear()
            if self._pending:
                asyncio.create_task(self._flush_soon())  # noqa: RUF006
        if not batch:
            return
        await self._run(batch)

    async def _run(self, batch: list[tuple[InboundMessage, asyncio.Future[IntakeResult]]]) -> None:
        try:
            outcomes = await self.intake.receive_batch([m for m, _ in batch])
        except Exception as exc:
            for _, fut in batch:
                if not fut.done():
                    fut.set_exception(exc)
            return
        for (_, fut), outcome in zip(batch, outcomes, strict=True):
            if fut.done():
                continue
            if isinstance(outcome, Exception):
                fut.set_exception(outcome)
            else:
                fut.set_result(outcome)
