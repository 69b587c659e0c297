"""Learning from use: questions become proposed wordings of the FAQ entry that answered them.

A proposal is made when staff inserted an entry into a reply that went out (`record_reply`), or when a
requester answered « Ça répond à ma question » in Telegram (`propose`, called in the chat's transaction).
What is kept is the asking part of the question (`knowledge_base.search.wording_text`: greetings, context and
signatures dropped), so admins judge exactly what the index will learn. The same wording for the same entry
is one row whose `seen` grows. Admins accept or reject each one (audited as events); accepted wordings are
indexed by the caller at once (`FaqIndex.add_wordings`) and by every index built later.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from helpdesk.db import store
from helpdesk.db.engine import Database
from helpdesk.db.tables import FaqProposal, KbEntry, Message, Ticket
from helpdesk.domain.errors import NotFound, ValidationError
from helpdesk.domain.events import EventKind
from helpdesk.domain.values import ActorKind, Direction
from helpdesk.ports import Clock

PENDING, ACCEPTED, REJECTED = "pending", "accepted", "rejected"
SOURCE_TICKET, SOURCE_TELEGRAM = "ticket", "telegram"
# Audit events (ticket-level ones also feed « Ce que la FAQ ne couvre pas encore »).
FAQ_INSERTED = EventKind.FAQ_INSERTED  # a reply went out with these FAQ entries inserted
FAQ_NOT_INSERTED = EventKind.FAQ_NOT_INSERTED  # a reply went out without any FAQ entry
PROPOSAL_ACCEPTED = EventKind.FAQ_PROPOSAL_ACCEPTED
PROPOSAL_REJECTED = EventKind.FAQ_PROPOSAL_REJECTED
MAX_QUESTION_CHARS = 5000  # read of the question before its asking part is extracted
MAX_ENTRIES_PER_REPLY = 3
MAX_PENDING_SHOWN = 200
ASSISTANT_LINE = "Assistant : "  # helpdesk/app/chat/service.py, ChatService.handover


def wording_of(question: str) -> str:
    """The asking part of a question, as the index would learn it (bounded work on any input)."""
    from knowledge_base.search import wording_text

    # Twice: a greeting left at the head of an asking sentence goes on the second pass, as the index's own
    # add_wordings would take it; admins then read exactly what the index learns.
    return wording_text(wording_text(question[:MAX_QUESTION_CHARS]))[:1000]


def asked_text(text: str) -> str:
    """A requester's message without the assistant's lines of a Telegram hand-over transcript (they name
    the FAQ entries the bot suggested, which would bias the search towards them)."""
    return "\n".join(line for line in text.splitlines() if not line.startswith(ASSISTANT_LINE))


def wording_key(wording: str) -> str:
    return hashlib.sha256(" ".join(wording.lower().split()).encode()).hexdigest()


async def propose(s: AsyncSession, *, entry_id: str, question: str, source: str, now: datetime,
                  ticket_id: int | None = None) -> FaqProposal | None:
    """Record (or count again) a proposed wording of `entry_id`, in the caller's transaction.

    None when the question has nothing to learn from or the entry is not in the FAQ. A wording already
    accepted or rejected is only counted again: admins are not asked twice."""
    wording = wording_of(question)
    if not wording.strip() or await s.get(KbEntry, entry_id) is None:
        return None
    key = wording_key(wording)
    row = (await s.scalars(select(FaqProposal).where(col(FaqProposal.entry_id) == entry_id,
                                                     col(FaqProposal.wording_key) == key))).first()
    if row is not None:
        row.seen += 1
        return row
    row = FaqProposal(entry_id=entry_id, wording=wording, wording_key=key, source=source, ticket_id=ticket_id,
                      created_at=now)
    s.add(row)
    await s.flush()
    return row


@dataclass(frozen=True, slots=True)
class PendingProposal:
    """A wording waiting for an admin's decision, as the proposals page lists it."""

    id: int
    entry_id: str
    entry_title: str
    wording: str
    source: str
    seen: int
    created_at: datetime
    ticket: int | None  # the number of the ticket whose reply proposed it


@dataclass(frozen=True, slots=True)
class Decision:
    entry_id: str
    wording: str
    accepted: bool


class ProposalService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def record_reply(self, number: int, staff_id: int, message_id: int, entry_ids: list[str]) -> int:
        """After a staff reply went to the Outbox: the entries inserted into it learn the question it answers.

        The question is the requester's messages since the previous staff reply (the subject heads the
        first message of the ticket). Every reply is also audited as FAQ_INSERTED or FAQ_NOT_INSERTED.
        Returns the number of proposals made or counted again."""
        now = self.clock.now()
        entry_ids = list(dict.fromkeys(entry_ids))[:MAX_ENTRIES_PER_REPLY]
        async with self.db.transaction() as s:
            t = await store.ticket_by_number(s, number)
            question = await _question_before(s, t, message_id)
            made = 0
            for entry_id in entry_ids:
                if question and await propose(s, entry_id=entry_id, question=question, source=SOURCE_TICKET,
                                              now=now, ticket_id=t.id) is not None:
                    made += 1
            kind = FAQ_INSERTED if entry_ids else FAQ_NOT_INSERTED
            await store.insert_events(s, [store.event_row(
                kind=kind, now=now, ticket_id=t.id, actor_kind=ActorKind.STAFF, actor_id=staff_id,
                message_id=message_id, entries=entry_ids)])
        return made

    async def pending(self) -> list[PendingProposal]:
        async with self.db.transaction() as s:
            rows = (await s.execute(
                select(FaqProposal, col(KbEntry.title), col(Ticket.number))
                .join(KbEntry, col(KbEntry.id) == col(FaqProposal.entry_id))
                .join(Ticket, col(Ticket.id) == col(FaqProposal.ticket_id), isouter=True)
                .where(col(FaqProposal.status) == PENDING)
                .order_by(col(FaqProposal.seen).desc(), col(FaqProposal.id)).limit(MAX_PENDING_SHOWN)
            )).all()
        out = []
        for p, title, number in rows:
            assert p.id is not None  # a stored row
            out.append(PendingProposal(id=p.id, entry_id=p.entry_id, entry_title=title, wording=p.wording,
                                       source=p.source, seen=p.seen, created_at=p.created_at, ticket=number))
        return out

    async def count_pending(self) -> int:
        async with self.db.transaction() as s:
            pending = select(col(FaqProposal.id)).where(col(FaqProposal.status) == PENDING)
            return len((await s.scalars(pending)).all())

    async def decide(self, proposal_id: int, *, accept: bool, staff_id: int) -> Decision:
        """Accept or reject a pending proposal (audited). The caller indexes an accepted wording."""
        now = self.clock.now()
        async with self.db.transaction() as s:
            row = await s.get(FaqProposal, proposal_id)
            if row is None:
                raise NotFound(f"proposition {proposal_id} introuvable")
            if row.status != PENDING:
                raise ValidationError("cette proposition a déjà été traitée")
            row.status = ACCEPTED if accept else REJECTED
            row.decided_at, row.decided_by = now, staff_id
            await store.insert_events(s, [store.event_row(
                kind=PROPOSAL_ACCEPTED if accept else PROPOSAL_REJECTED, now=now, ticket_id=None,
                actor_kind=ActorKind.STAFF, actor_id=staff_id, proposal_id=row.id, entry_id=row.entry_id,
                wording=row.wording)])
            return Decision(row.entry_id, row.wording, accept)


async def _question_before(s: AsyncSession, ticket: Ticket, message_id: int) -> str:
    """The requester's messages since the last staff reply before `message_id` (with the subject when none)."""
    msgs = (await s.execute(
        select(col(Message.direction), col(Message.automatic), col(Message.visible_text))
        .where(col(Message.ticket_id) == ticket.id, col(Message.id) < message_id).order_by(col(Message.id))
    )).all()
    asked: list[str] = []
    answered_before = False
    for direction, automatic, text in msgs:
        if direction == Direction.OUTBOUND.value and not automatic:
            asked, answered_before = [], True  # answered already: the question is what came after
        elif direction == Direction.INBOUND.value and asked_text(text or "").strip():
            asked.append(asked_text(text))
    if not asked:
        return ""
    text = "\n\n".join(asked)
    return text if answered_before or not ticket.subject else f"{ticket.subject}\n\n{text}"
