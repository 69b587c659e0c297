"""Intake: the one door every channel uses to turn an inbound message into a ticket.

Idempotent by (channel, external id); finds or creates the contact and organization; threads
onto an existing ticket or opens one (or a follow-up of a closed one); stores the raw original
and attachments — all in one transaction. Hooks (routing, acknowledgement, file checks) run in
that same transaction so anything they queue commits with the message or not at all.

Concurrent deliveries share a transaction (GroupCommitter), and a batch is written in stages —
each kind of row for all its messages in one statement — rather than message after message; the
decisions (threading, lifecycle) are still taken per message, in arrival order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from helpdesk.app.intake import participants
from helpdesk.app.intake.messages import InboundMessage, IntakeResult
from helpdesk.app.intake.waves import split_waves
from helpdesk.app.metrics import MESSAGES_RECEIVED
from helpdesk.app.tickets import status as ticket_status
from helpdesk.db import store
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
    prepared: dict[str, Any] = field(default_factory=dict)  # what before_open hooks noted for a new ticket


@dataclass(slots=True)
class TicketDraft:
    """A new ticket before it is written: ``before_open`` hooks may fill in ``ticket``'s columns.

    Intake inserts the wave's rows in one statement; ``ticket`` holds the columns routing and the SLA
    set, typed like a stored Ticket's (both satisfy routing.RoutingFields), without building an ORM object
    per message (a SQLModel table object costs some 50 times a dataclass).
    """

    session: AsyncSession
    inbound: InboundMessage
    contact: Contact
    now: datetime
    base: dict[str, Any]  # the row intake built; ``ticket``'s fields override it
    ticket: NewTicket
    notes: dict[str, Any] = field(default_factory=dict)  # handed to the hook's after_intake as ctx.prepared

    def row(self) -> dict[str, Any]:
        """The columns to insert (all but the id, which the database gives)."""
        return {**self.base, **{name: getattr(self.ticket, name) for name in NEW_TICKET_FIELDS}}


@dataclass(slots=True)
class NewTicket:
    """The columns of a new ticket that ``before_open`` hooks may set."""

    number: int
    priority: str
    organization_id: int | None
    team_id: int | None
    assignee_id: int | None
    tags: list[str]
    sla_policy: str | None
    first_response_at: datetime | None
    first_response_due: datetime | None
    resolution_due: datetime | None
    first_response_breached: bool
    resolution_breached: bool
    sla_paused: bool


NEW_TICKET_FIELDS = tuple(f.name for f in fields(NewTicket))


def new_ticket_draft(session: AsyncSession, inbound: InboundMessage, contact: Contact, now: datetime,
                     values: dict[str, Any]) -> TicketDraft:
    base = store.with_defaults(Ticket, values)
    return TicketDraft(session, inbound, contact, now, base, NewTicket(**{n: base[n] for n in NEW_TICKET_FIELDS}))


class IntakeHook(Protocol):
    """Runs in the intake transaction for each stored message.

    A hook may also define ``async def after_intake_batch(self, contexts)``: intake then calls it
    once per batch instead (to read and write for all the messages at once); and
    ``async def before_open(self, drafts)``: called with the rows of the new tickets before they
    are written, to set columns (routing, SLA) without an UPDATE afterwards.
    """

    async def after_intake(self, ctx: IntakeContext) -> None: ...


def derive_subject(msg: InboundMessage) -> str:
    subject = strip_reply_prefixes(msg.subject)
    if not subject:
        first = next((line.strip() for line in msg.visible_text.splitlines() if line.strip()), "")
        subject = first[:80] + ("…" if len(first) > 80 else "") if first else "(sans objet)"
    return subject[:MAX_SUBJECT]


@dataclass(slots=True)
class _Plan:
    """One message on its way: where it goes, and the rows written for it so far."""

    msg: InboundMessage
    contact: Contact
    reason: str
    created: bool = False
    ticket: Ticket | None = None
    parent: Ticket | None = None
    link: tuple[Ticket, str] | None = None
    follow_up_of: int | None = None
    raw_sha256: str | None = None
    attachment_sha256: list[str] = field(default_factory=list)
    message: Message | None = None
    prepared: dict[str, Any] = field(default_factory=dict)

    @property
    def target(self) -> Ticket:
        assert self.ticket is not None, "the ticket is set once it is written"
        return self.ticket

    def result(self) -> IntakeResult:
        assert self.message is not None and self.ticket is not None
        action = IntakeAction.CREATED if self.created else IntakeAction.APPENDED
        return IntakeResult(action, self.ticket.number, self.reason, self.ticket.public_ref, self.message.id,
                            self.follow_up_of)


@dataclass(slots=True)
class _Known:
    """What the database already knows about a wave's messages, read in a few queries."""

    duplicates: dict[tuple[str, str], tuple[int, int, str]]
    by_email: dict[str, Contact]
    by_chat: dict[int, Contact]
    ticket_of_message_id: dict[str, int]
    tickets: dict[int, Ticket]
    by_number: dict[int, Ticket]

    @classmethod
    async def read(cls, s: AsyncSession, msgs: Sequence[InboundMessage], *, lock: bool) -> _Known:
        ext = sorted({m.external_id for m in msgs if m.external_id})
        duplicates: dict[tuple[str, str], tuple[int, int, str]] = {}
        if ext:
            rows = await s.execute(
                select(col(Message.channel), col(Message.external_id), col(Message.id), col(Ticket.number),
                    col(Ticket.public_ref))
                .join(Ticket, col(Ticket.id) == col(Message.ticket_id)).where(col(Message.external_id).in_(ext))
            )
            duplicates = {(str(c), str(e)): (int(i or 0), int(n), str(r)) for c, e, i, n, r in rows.all()}
        emails = sorted({m.sender_email.lower() for m in msgs if m.sender_email})
        chats = sorted({m.telegram_chat_id for m in msgs if m.telegram_chat_id is not None})
        by_email: dict[str, Contact] = {}
        by_chat: dict[int, Contact] = {}
        if emails:
            by_email = {c.email: c for c in (await s.scalars(select(Contact).where(col(Contact.email).in_(emails))))
                .all()
                        if c.email}
        if chats:
            found = (await s.scalars(select(Contact).where(col(Contact.telegram_chat_id).in_(chats)))).all()
            by_chat = {c.telegram_chat_id: c for c in found if c.telegram_chat_id is not None}
        cited = sorted({i for m in msgs for i in (*m.in_reply_to, *m.references)})
        of_id = await store.tickets_for_message_ids(s, cited)
        numbers = {n for m in msgs for n in (m.ticket_number, subject_ticket_number(m.subject)) if n is not None}
        numbers = {n for n in numbers if 0 < n <= store.MAX_ID}
        tickets: dict[int, Ticket] = {}
        if of_id or numbers:
            stmt = select(Ticket).where(or_(col(Ticket.id).in_(sorted(set(of_id.values()))),
                                            col(Ticket.number).in_(sorted(numbers)))).order_by(col(Ticket.id))
            if lock:
                stmt = stmt.with_for_update()
            tickets = {t.id: t for t in (await s.scalars(stmt)).all() if t.id is not None}
        return cls(duplicates, by_email, by_chat, of_id, tickets, {t.number: t for t in tickets.values()})

    def contact(self, s: AsyncSession, msg: InboundMessage, now: datetime) -> Contact:
        """The sender's contact, created (pending, written with the wave's other new contacts) when new."""
        email = msg.sender_email.lower() if msg.sender_email else None
        contact = self.by_email.get(email) if email else None
        if contact is None and msg.telegram_chat_id is not None:
            contact = self.by_chat.get(msg.telegram_chat_id)
        if contact is None:
            contact = Contact(email=email, name=msg.sender_name, telegram_chat_id=msg.telegram_chat_id, created_at=now)
            s.add(contact)
            if email:
                self.by_email[email] = contact
            if msg.telegram_chat_id is not None:
                self.by_chat[msg.telegram_chat_id] = contact
        elif msg.sender_name and not contact.name:
            contact.name = msg.sender_name
        return contact

    async def evidence(self, s: AsyncSession, msg: InboundMessage, contact: Contact) -> ThreadEvidence:
        explicit = self.by_number.get(msg.ticket_number) if msg.ticket_number is not None else None
        irt = next((self.ticket_of_message_id[i] for i in msg.in_reply_to if i in self.ticket_of_message_id), None)
        refs = next((self.ticket_of_message_id[i] for i in reversed(msg.references)
                     if i in self.ticket_of_message_id), None)
        tag_number = subject_ticket_number(msg.subject)
        tagged = self.by_number.get(tag_number) if tag_number is not None else None

        async def participant(ticket: Ticket | None) -> bool:
            # Automatic mail never changes a ticket: it may thread by id (a bounce, a read receipt).
            if ticket is None or msg.automatic:
                return True
            return await participants.is_participant(s, ticket, contact)

        async def tag_participant() -> bool:
            return tagged is not None and await participants.is_participant(s, tagged, contact)

        return ThreadEvidence(
            explicit_ticket=explicit.id if explicit is not None else None,
            in_reply_to_ticket=irt,
            references_ticket=refs,
            tag_ticket=tagged.id if tagged is not None else None,
            tag_from_participant=await tag_participant(),
            force_new=msg.force_new,
            in_reply_to_from_participant=await participant(self.tickets.get(irt) if irt is not None else None),
            references_from_participant=irt is not None or await participant(
                self.tickets.get(refs) if refs is not None else None),
        )


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

    async def receive_batch(
        self, msgs: Sequence[InboundMessage], *, retry_race: bool = True
    ) -> list[IntakeResult | Exception]:
        """Store several messages in one commit (group commit).

        The whole batch first goes through one transaction without savepoints, written in stages
        (the common case). If any message breaks, the batch is redone with one savepoint per
        message: the broken one is rolled back alone and its exception returned in
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
        # A concurrent delivery may have won the race on (channel, external id): ask again, once;
        # the second pass sees the stored row and answers "duplicate". Any other integrity error (a
        # hook's bug, a bad row) is that message's own failure: retrying it would only hold the others.
        retry = [i for i, o in enumerate(outcomes) if retry_race and is_duplicate_delivery(o)]
        if retry:
            again = await self.receive_batch([msgs[i] for i in retry], retry_race=False)
            for i, res in zip(retry, again, strict=True):
                outcomes[i] = res
        return outcomes

    async def _in_transaction(
        self, msgs: Sequence[InboundMessage], *, savepoints: bool
    ) -> list[IntakeResult | Exception]:
        async with self.db.transaction() as s:
            if not savepoints:
                return list(await self._store(s, msgs))
            outcomes: list[IntakeResult | Exception] = []
            for msg in msgs:
                try:
                    async with s.begin_nested():
                        outcomes.extend(await self._store(s, [msg]))
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

    async def _store(self, s: AsyncSession, msgs: Sequence[InboundMessage]) -> list[IntakeResult]:
        results: list[IntakeResult] = []
        for wave in split_waves(msgs):
            results.extend(await self._store_wave(s, wave))
        return results

    async def _store_wave(self, s: AsyncSession, msgs: Sequence[InboundMessage]) -> list[IntakeResult]:
        """Store messages that do not depend on one another, in stages shared by all of them.

        Reads: one query each for duplicates, contacts, the tickets their ids and tags point to.
        Decisions: per message, in order, in memory (threading, lifecycle). Writes: new contacts,
        then new tickets (their numbers reserved in one UPDATE), blobs, messages, attachments and
        the events, each stage one batched statement, before the hooks run on the whole wave.
        """
        now = self.clock.now()
        known = await _Known.read(s, msgs, lock=not self.db.is_sqlite)
        log: list[store.EventRow] = []  # the wave's events, in the order they happened
        plans: list[_Plan | IntakeResult] = []
        for msg in msgs:
            plans.append(await self._plan(s, msg, known, now, log))
        todo = [p for p in plans if isinstance(p, _Plan)]
        if not todo:
            return [p for p in plans if isinstance(p, IntakeResult)]
        if any(p.contact.id is None for p in todo):
            await s.flush()  # new contacts, one batched INSERT
        await self._open_tickets(s, [p for p in todo if p.created], now, log)
        contents = [d for p in todo for d in (*_raw(p.msg), *(a.data for a in p.msg.attachments))]
        digests = iter(await store.put_blobs(s, contents, now))
        for p in todo:
            p.raw_sha256 = next(digests) if p.msg.raw is not None else None
            p.attachment_sha256 = [next(digests) for _ in p.msg.attachments]
        messages = await store.insert_returning(s, Message, [_message_row(p, now) for p in todo])
        for p, message in zip(todo, messages, strict=True):
            p.message = message
        attachments: list[dict[str, object]] = []
        contexts = []
        for p in todo:
            assert p.message is not None and p.message.id is not None and p.target.id is not None
            attachments.extend(
                {"message_id": p.message.id, "filename": att.filename, "content_type": att.content_type,
                 "size": len(att.data), "sha256": digest, "inline": att.inline, "content_id": att.content_id}
                for att, digest in zip(p.msg.attachments, p.attachment_sha256, strict=True)
            )
            log.append(store.event_row(
                kind=EventKind.MESSAGE_RECEIVED, now=now, ticket_id=p.target.id,
                actor_kind=ActorKind.CONTACT, actor_id=p.contact.id, message_id=p.message.id,
                channel=p.msg.channel.value, reason=p.reason, automatic=p.msg.automatic,
            ))
            contexts.append(IntakeContext(s, p.msg, p.target, p.message, p.contact, p.created, now, p.prepared))
        if attachments:  # rows nobody reads back: one executemany, no ids returned
            await s.execute(insert(Attachment), attachments)
        await store.insert_events(s, log)
        await self._run_hooks(contexts)
        return [p if isinstance(p, IntakeResult) else p.result() for p in plans]

    async def _run_hooks(self, contexts: Sequence[IntakeContext]) -> None:
        for hook in self.hooks:
            batch = getattr(hook, "after_intake_batch", None)
            if batch is not None:
                await batch(contexts)
                continue
            for ctx in contexts:
                await hook.after_intake(ctx)

    async def _plan(
        self, s: AsyncSession, msg: InboundMessage, known: _Known, now: datetime, log: list[store.EventRow]
    ) -> _Plan | IntakeResult:
        """Decide where one message goes; changes to existing tickets are made here, in memory."""
        if msg.external_id:
            dup = known.duplicates.get((msg.channel.value, msg.external_id))
            if dup is not None:
                return IntakeResult(IntakeAction.DUPLICATE, dup[1], "already received", dup[2], dup[0])
        contact = known.contact(s, msg, now)
        if msg.organization and contact.organization_id is None:
            o = msg.organization
            org = await store.find_or_create_organization(
                s, name=o.name, kind=o.kind.value, insee_code=o.insee_code, siren=o.siren,
                departement=o.departement, pays=o.pays, now=now,
            )
            contact.organization_id = org.id
        decision = decide_thread(await known.evidence(s, msg, contact))
        plan = _Plan(msg, contact, decision.reason)
        ticket = known.tickets.get(decision.ticket_id) if decision.ticket_id is not None else None
        if ticket is None:
            plan.created = True
            if decision.link_to is not None and decision.link_to in known.tickets:
                plan.link = (known.tickets[decision.link_to], "tag_from_outsider")  # a tag or a Message-ID
            return plan
        outcome = lifecycle.on_requester_message(TicketStatus(ticket.status), automatic=msg.automatic)
        if outcome.outcome is lifecycle.InboundOutcome.FOLLOW_UP:
            plan.created = True
            plan.parent = ticket
            plan.link = (ticket, "follow_up")
            plan.follow_up_of = ticket.number
            plan.reason = f"{decision.reason}; ticket #{ticket.number} closed: follow-up opened"
            return plan
        if not msg.automatic:  # automatic mail never changes the status
            change = ticket_status.plan(ticket, lifecycle.Action.REQUESTER_REPLY, now, outcome.reason)
            event = ticket_status.write(ticket, change, now, actor_kind=ActorKind.CONTACT, actor_id=contact.id)
            if event is not None:
                log.append(event)
        if not msg.automatic:
            ticket.last_inbound_at = now
        ticket.updated_at = now
        plan.ticket = ticket
        return plan

    async def _open_tickets(
        self, s: AsyncSession, plans: Sequence[_Plan], now: datetime, log: list[store.EventRow]
    ) -> None:
        """The new tickets of a wave: numbers in one UPDATE, rows in one INSERT, then their events."""
        if not plans:
            return
        numbers = await store.reserve_ticket_numbers(s, len(plans))
        drafts = [new_ticket_draft(s, p.msg, p.contact, now, {
            "number": number, "public_ref": store.new_public_ref(), "subject": derive_subject(p.msg),
            "status": TicketStatus.NEW.value, "channel": p.msg.channel.value, "requester_id": p.contact.id,
            "organization_id": p.contact.organization_id, "parent_id": p.parent.id if p.parent is not None else None,
            "created_at": now, "updated_at": now, "last_inbound_at": now,
        }) for p, number in zip(plans, numbers, strict=True)]
        for hook in self.hooks:
            before = getattr(hook, "before_open", None)
            if before is not None:
                await before(drafts)
        tickets = await store.insert_returning(s, Ticket, [d.row() for d in drafts])
        for p, ticket, draft in zip(plans, tickets, drafts, strict=True):
            p.ticket, p.prepared = ticket, draft.notes
        for p in plans:
            log.append(store.event_row(
                kind=EventKind.TICKET_CREATED, now=now, ticket_id=p.target.id,
                actor_kind=ActorKind.CONTACT, actor_id=p.contact.id, channel=p.msg.channel.value,
                number=p.target.number,
            ))
            if p.link is not None:
                other, kind = p.link
                assert p.target.id is not None and other.id is not None
                s.add(TicketLink(ticket_id=p.target.id, other_id=other.id, kind=kind, created_at=now))
                log.append(store.event_row(
                    kind=EventKind.LINKED, now=now, ticket_id=p.target.id, other=other.number, link=kind,
                ))
            if p.parent is not None:
                log.append(store.event_row(kind=EventKind.FOLLOW_UP_OPENED, now=now, ticket_id=p.parent.id,
                                           follow_up=p.target.number))


def is_duplicate_delivery(outcome: object) -> bool:
    """Whether ``outcome`` is the unique (channel, external id) of a message stored meanwhile."""
    if not isinstance(outcome, IntegrityError):
        return False
    text = str(outcome.orig)
    return "uq_message_channel_external_id" in text or "message.external_id" in text


def _raw(msg: InboundMessage) -> tuple[bytes, ...]:
    return (msg.raw,) if msg.raw is not None else ()


def _message_row(p: _Plan, now: datetime) -> dict[str, Any]:
    msg = p.msg
    meta = dict(msg.meta)
    if msg.automatic_reason:
        meta["automatic_reason"] = msg.automatic_reason
    return {
        "ticket_id": p.target.id,
        "direction": Direction.INBOUND.value,
        "channel": msg.channel.value,
        "author_contact_id": p.contact.id,
        "subject": msg.subject or None,
        "visible_text": msg.visible_text,
        "full_text": msg.full_text or msg.visible_text,
        "html_sanitised": msg.html_sanitised,
        "external_id": msg.external_id,
        "raw_sha256": p.raw_sha256,
        "thread_reason": p.reason,
        "automatic": msg.automatic,
        "meta": meta,
        "created_at": msg.received_at or now,
    }


class GroupCommitter:
    """Batches concurrent receive() calls into shared transactions, so a burst shares commits.

    A drainer takes what is pending (up to ``max_batch``) and stores it in one transaction; what
    arrives meanwhile waits for the next batch, taken as soon as the current one is done. When the
    drainer starts from idle it first waits ``window`` seconds for company. At most ``concurrency``
    batches run at once. One is the default on both databases: SQLite has one writer anyway, and
    on PostgreSQL concurrent batches measured no faster (a burst arrives together and leaves
    together) while they could lock the same tickets and the number counter in opposite orders.
    Each caller gets its own result or exception.
    """

    def __init__(
        self, intake: IntakeService, *, window: float = 0.002, max_batch: int = 64, concurrency: int = 1
    ) -> None:
        self.intake = intake
        self.window = window
        self.max_batch = max_batch
        self.concurrency = concurrency
        self._pending: list[tuple[InboundMessage, asyncio.Future[IntakeResult]]] = []
        self._drainers = 0
        self._full = asyncio.Event()

    @property
    def queued(self) -> int:
        """Messages waiting for the next batch."""
        return len(self._pending)

    async def receive(self, msg: InboundMessage) -> IntakeResult:
        fut: asyncio.Future[IntakeResult] = asyncio.get_running_loop().create_future()
        self._pending.append((msg, fut))
        if len(self._pending) >= self.max_batch:
            self._full.set()
        if self._drainers < self.concurrency:
            self._drainers += 1
            asyncio.create_task(self._drain())  # noqa: RUF006 - the futures keep the outcomes
        return await fut

    async def _drain(self) -> None:
        try:
            if self.window > 0 and len(self._pending) < self.max_batch:
                try:
                    await asyncio.wait_for(self._full.wait(), timeout=self.window)
                except TimeoutError:
                    pass
            while self._pending:
                batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
                if len(self._pending) < self.max_batch:
                    self._full.clear()
                await self._run(batch)
        finally:
            self._drainers -= 1

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
