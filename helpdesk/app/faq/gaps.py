"""« Ce que la FAQ ne couvre pas encore »: the questions the FAQ did not answer, grouped by theme.

A question counts when, over the chosen period:
- the Telegram assistant had no suggestion for it, or the requester touched « Parler à un conseiller »;
- a new email's acknowledgement went out without any FAQ suggestion;
- staff replied on its ticket without inserting any FAQ entry (and never inserted one on that ticket).
A ticket counted by several of these is one question with several reasons.

The grouping is meant to be read and checked: each question goes to the entry the FAQ engine ranks first
for it, however low its confidence (purpose "staff" always ranks), so a group reads « proche de l'entrée
X »; a question nothing in the FAQ resembles goes to « Sans rapprochement ». Bounded work: the newest
MAX_PER_SOURCE questions of each kind, ranked off the event loop.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlmodel import col

from helpdesk.app.faq.proposals import FAQ_INSERTED, FAQ_NOT_INSERTED, asked_text, wording_of
from helpdesk.db.engine import Database
from helpdesk.db.tables import ChatSuggestion, Event, Message, Ticket
from helpdesk.domain.values import Channel, Direction
from helpdesk.ports import Clock

if TYPE_CHECKING:
    from helpdesk.app.faq.index import FaqIndex
    from knowledge_base import KnowledgeBase

MAX_PER_SOURCE = 500
PERIODS = (7, 30, 90, 365)
DEFAULT_DAYS = 30
SHOWN_PER_GROUP = 30
DRAFT_QUESTIONS = 20
NO_THEME = ""

REASON_CHAT_NONE = "Telegram : aucune suggestion"
REASON_CHAT_HANDOVER = "Telegram : « Parler à un conseiller »"
REASON_MAIL_NONE = "Courriel : accusé de réception sans suggestion"
REASON_TICKET_NONE = "Ticket : réponse sans entrée de FAQ"


@dataclass
class GapQuestion:
    text: str
    at: datetime
    reasons: list[str]
    ticket: int | None = None


@dataclass
class GapGroup:
    key: str  # the closest entry's id, or NO_THEME
    title: str  # the closest entry's title ("" without one)
    tags: list[str]
    questions: list[GapQuestion] = field(default_factory=list)
    best_score: float = 0.0

    @property
    def count(self) -> int:
        return len(self.questions)

    @property
    def reasons(self) -> list[tuple[str, int]]:
        return Counter(r for q in self.questions for r in q.reasons).most_common()

    def draft_questions(self) -> list[str]:
        """Distinct asking parts of the group's questions, newest first: the draft entry's `questions:`."""
        out: list[str] = []
        for q in sorted(self.questions, key=lambda q: q.at, reverse=True):
            wording = wording_of(q.text)[:300]
            if wording and wording.lower() not in {w.lower() for w in out}:
                out.append(wording)
            if len(out) >= DRAFT_QUESTIONS:
                break
        return out


def clamp_days(raw: str | None) -> int:
    return int(raw) if raw and raw.isdigit() and int(raw) in PERIODS else DEFAULT_DAYS


class GapsService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def questions(self, days: int) -> list[GapQuestion]:
        since = self.clock.now() - timedelta(days=days)
        out = await self._chat(since)
        by_ticket: dict[int, GapQuestion] = {}
        async with self.db.transaction() as s:
            acks = (await s.execute(
                select(col(Message.ticket_id), col(Message.meta), col(Message.created_at), col(Message.delivery_status))
                .where(col(Message.created_at) >= since, col(Message.direction) == Direction.OUTBOUND.value,
                       col(Message.channel) == Channel.EMAIL.value, col(Message.automatic).is_(True))
                .order_by(col(Message.id).desc()).limit(MAX_PER_SOURCE * 4)
            )).all()
            reasons: dict[int, tuple[list[str], datetime]] = {}
            for ticket_id, meta, at, status in acks:
                # A queued acknowledgement may still get its suggestions from the Outbox sender.
                if (meta or {}).get("kind") == "acknowledgement" and not (meta or {}).get("faq_suggestions") \
                        and status != "queued":
                    reasons.setdefault(ticket_id, ([], at))[0].append(REASON_MAIL_NONE)
            events = (await s.execute(
                select(col(Event.ticket_id), col(Event.kind), col(Event.created_at))
                .where(col(Event.kind).in_([FAQ_INSERTED, FAQ_NOT_INSERTED]), col(Event.ticket_id).is_not(None))
                .where(col(Event.created_at) >= since).order_by(col(Event.id).desc()).limit(MAX_PER_SOURCE * 4)
            )).all()
            asked = {t for t, _, _ in events}
            helped = set((await s.scalars(select(col(Event.ticket_id)).where(
                col(Event.kind) == FAQ_INSERTED, col(Event.ticket_id).in_(asked)))).all()) if asked else set()
            for ticket_id, kind, at in events:
                if kind == FAQ_NOT_INSERTED and ticket_id is not None and ticket_id not in helped:
                    got = reasons.setdefault(ticket_id, ([], at))[0]
                    if REASON_TICKET_NONE not in got:
                        got.append(REASON_TICKET_NONE)
            ids = list(reasons)[:MAX_PER_SOURCE * 2]
            if ids:
                tickets = {i: (n, subj) for i, n, subj in (await s.execute(
                    select(col(Ticket.id), col(Ticket.number), col(Ticket.subject))
                    .where(col(Ticket.id).in_(ids)))).all()}
                firsts: dict[int, str] = {}
                for ticket_id, text in (await s.execute(
                        select(col(Message.ticket_id), col(Message.visible_text))
                        .where(col(Message.ticket_id).in_(ids), col(Message.direction) == Direction.INBOUND.value)
                        .order_by(col(Message.id)))).all():
                    firsts.setdefault(ticket_id, asked_text(text or ""))
                for ticket_id in ids:
                    if ticket_id not in tickets or ticket_id in by_ticket:
                        continue
                    number, subject = tickets[ticket_id]
                    text = f"{subject}\n\n{firsts.get(ticket_id, '')}".strip()
                    why, at = reasons[ticket_id]
                    by_ticket[ticket_id] = GapQuestion(text[:2000], at, why, number)
        return out + list(by_ticket.values())

    async def _chat(self, since: datetime) -> list[GapQuestion]:
        async with self.db.transaction() as s:
            rows = (await s.execute(
                select(col(ChatSuggestion.query), col(ChatSuggestion.entry_ids), col(ChatSuggestion.outcome),
                       col(ChatSuggestion.created_at))
                .where(col(ChatSuggestion.created_at) >= since)
                .order_by(col(ChatSuggestion.id).desc()).limit(MAX_PER_SOURCE)
            )).all()
        out = []
        for query, entry_ids, outcome, at in rows:
            why = ([REASON_CHAT_NONE] if not entry_ids else []) + ([REASON_CHAT_HANDOVER] if outcome == "human" else [])
            if why and (query or "").strip():
                out.append(GapQuestion(query, at, why))
        return out

    async def report(self, faq: FaqIndex, days: int) -> list[GapGroup]:
        """The period's questions grouped by their closest entry, largest groups first."""
        questions = await self.questions(days)
        if not questions:
            return []
        kb = await faq.knowledge_base()
        return await asyncio.to_thread(group, kb, questions)


def group(kb: KnowledgeBase, questions: list[GapQuestion]) -> list[GapGroup]:
    groups: dict[str, GapGroup] = {}
    for q in questions:
        # grouping up to 1,000 questions: the lexical ranking (the encoder would cost 30-250 ms each)
        found = kb.search(q.text, limit=1, purpose="staff", encode=False)
        if found:
            top = found[0]
            entry = kb.get(top.id)
            g = groups.setdefault(top.id, GapGroup(top.id, top.title, list(entry.tags) if entry else []))
            g.best_score = max(g.best_score, float(top.score))
        else:
            g = groups.setdefault(NO_THEME, GapGroup(NO_THEME, "", []))
        g.questions.append(q)
    for g in groups.values():
        g.questions.sort(key=lambda q: q.at, reverse=True)
    return sorted(groups.values(), key=lambda g: (-g.count, g.key == NO_THEME, g.title))


def draft_fields(g: GapGroup) -> dict[str, Any]:
    """The fields of the draft entry a group opens (French), for KbAdminService.save."""
    if g.key:
        title = f"À rédiger : questions proches de « {g.title} »"
    else:
        first = " ".join(g.questions[0].text.split())[:80] if g.questions else ""
        title = f"À rédiger : {first}" if first else "À rédiger"
    body = ("Réponse à rédiger. Questions posées par les demandeurs :\n\n"
            + "\n".join(f"- {q}" for q in g.draft_questions()))
    return {"title": title[:200], "questions": "\n".join(g.draft_questions()), "tags": ", ".join(g.tags),
            "body": body, "status": "draft"}
