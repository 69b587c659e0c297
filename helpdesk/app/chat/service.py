"""Chat use cases: stored updates, conversation state, FAQ suggestions and feedback, hand-over.

The Telegram channel calls these; it never touches the database. The conversation state lives in
``telegram_chat`` so a restart loses nothing (see also hooks.py and link.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from helpdesk.app.faq.proposals import SOURCE_TELEGRAM, propose
from helpdesk.app.metrics import FAQ_SUGGESTIONS
from helpdesk.db.engine import Database
from helpdesk.db.tables import Contact, Ticket
from helpdesk.db.tables_telegram import ChatSuggestion, FaqFeedback, TelegramChat, TelegramUpdate
from helpdesk.domain.chat_policy import ChatRoute, route_chat_message
from helpdesk.domain.values import ChatState, TicketStatus
from helpdesk.ports import Clock

IDLE, AWAITING_EMAIL, AWAITING_ORG = ChatState.IDLE, ChatState.AWAITING_EMAIL, ChatState.AWAITING_ORG
MAX_TRANSCRIPT = 40
MAX_LINE = 2000
MAX_UPDATE_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class ChatView:
    chat_id: int
    state: str
    route: ChatRoute
    reason: str
    ticket_number: int | None
    ticket_status: TicketStatus | None
    linked_email: str | None
    asked_identity: bool
    pending_email: str | None
    code_pending: bool


@dataclass(frozen=True, slots=True)
class Handover:
    subject: str
    text: str
    organization: str | None
    files: tuple[dict[str, Any], ...]


@dataclass(frozen=True, slots=True)
class TicketLine:
    number: int
    subject: str
    status: TicketStatus


async def chat_row(s: AsyncSession, chat_id: int, now: datetime) -> TelegramChat:
    row = await s.get(TelegramChat, chat_id)
    if row is None:
        row = TelegramChat(chat_id=chat_id, created_at=now, updated_at=now)
        s.add(row)
        await s.flush()
    return row


async def chat_contact(s: AsyncSession, chat_id: int) -> Contact | None:
    return (await s.scalars(select(Contact).where(col(Contact.telegram_chat_id) == chat_id))).first()


class ChatService:
    def __init__(self, db: Database, clock: Clock, *, reopen_hours: float = 72) -> None:
        self.db = db
        self.clock = clock
        self.reopen_hours = reopen_hours

    # ---- the update inbox ------------------------------------------------------------------
    async def record_update(self, update_id: int, chat_id: int | None, payload: dict[str, Any]) -> bool:
        """Store an update before it is acknowledged. False when that update id was already stored."""
        try:
            async with self.db.transaction() as s:
                if await s.get(TelegramUpdate, update_id) is not None:
                    return False
                s.add(TelegramUpdate(update_id=update_id, chat_id=chat_id, payload=payload,
                                     received_at=self.clock.now()))
        except IntegrityError:  # a concurrent delivery stored it first
            return False
        return True

    async def mark_update(self, update_id: int, status: str) -> None:
        async with self.db.transaction() as s:
            row = await s.get(TelegramUpdate, update_id)
            if row is not None:
                row.status = status
                row.processed_at = self.clock.now() if status != "received" else None

    async def pending_updates(self, *, exclude: set[int] | frozenset[int] = frozenset(),
                              grace: timedelta = timedelta(seconds=60)) -> list[dict[str, Any]]:
        """Claim stored updates nobody is processing (a crash, a temporary fault), oldest first.

        Safe with several instances: a row is claimable once it has waited ``grace`` (received, or
        claimed and not finished), and the claim is a conditional UPDATE, so one instance wins it.
        """
        now = self.clock.now()
        limit = now - grace
        claimable = or_(
            and_(col(TelegramUpdate.status) == "received", col(TelegramUpdate.received_at) <= limit),
            and_(col(TelegramUpdate.status) == "processing", col(TelegramUpdate.processed_at) <= limit),
        )
        async with self.db.transaction() as s:
            rows = (await s.execute(
                select(col(TelegramUpdate.update_id), col(TelegramUpdate.attempts)).where(claimable)
                .order_by(col(TelegramUpdate.update_id)).limit(100)
            )).all()
        out = []
        for update_id, attempts in rows:
            if update_id in exclude:
                continue
            failed = attempts + 1 > MAX_UPDATE_ATTEMPTS
            async with self.db.transaction() as s:
                claimed = await s.execute(
                    update(TelegramUpdate)
                    .where(col(TelegramUpdate.update_id) == update_id, col(TelegramUpdate.attempts) == attempts,
                           claimable)
                    .values(attempts=attempts + 1, status="failed" if failed else "processing", processed_at=now)
                    .returning(col(TelegramUpdate.payload))
                )
                payload = claimed.scalar_one_or_none()
            if payload is not None and not failed:
                out.append(payload)
        return out

    async def prune_updates(self, older_than: timedelta = timedelta(days=30)) -> int:
        async with self.db.transaction() as s:
            result = await s.execute(delete(TelegramUpdate).where(
                col(TelegramUpdate.status).in_(["done", "failed"]),
                col(TelegramUpdate.received_at) < self.clock.now() - older_than))
            return int(getattr(result, "rowcount", 0) or 0)

    # ---- state -----------------------------------------------------------------------------
    async def view(self, chat_id: int, display_name: str | None = None) -> ChatView:
        now = self.clock.now()
        async with self.db.transaction() as s:
            chat = await chat_row(s, chat_id, now)
            if display_name and chat.display_name != display_name:
                chat.display_name = display_name
            ticket = await s.get(Ticket, chat.current_ticket_id) if chat.current_ticket_id else None
            status = TicketStatus(ticket.status) if ticket else None
            decision = route_chat_message(
                ticket_status=status, resolved_at=ticket.resolved_at if ticket else None, now=now,
                reopen_hours=self.reopen_hours, new_question=chat.new_question,
            )
            contact = await chat_contact(s, chat_id)
            return ChatView(
                chat_id=chat_id, state=chat.state, route=decision.route, reason=decision.reason,
                ticket_number=ticket.number if ticket else None, ticket_status=status,
                linked_email=contact.email if contact else None, asked_identity=chat.asked_identity,
                pending_email=chat.pending_email,
                code_pending=chat.code_hash is not None and (chat.code_expires_at or now) > now,
            )

    async def set_state(self, chat_id: int, state: str) -> None:
        async with self.db.transaction() as s:
            chat = await chat_row(s, chat_id, self.clock.now())
            chat.state, chat.updated_at = state, self.clock.now()
            if state == AWAITING_EMAIL:
                chat.asked_identity = True

    async def set_email(self, chat_id: int, email: str) -> None:
        async with self.db.transaction() as s:
            chat = await chat_row(s, chat_id, self.clock.now())
            chat.pending_email, chat.state, chat.updated_at = email.lower(), AWAITING_ORG, self.clock.now()

    async def set_organization(self, chat_id: int, organization: str) -> None:
        async with self.db.transaction() as s:
            chat = await chat_row(s, chat_id, self.clock.now())
            chat.organization, chat.state, chat.updated_at = organization[:200], IDLE, self.clock.now()

    async def start_fresh(self, chat_id: int) -> None:
        """``/nouvelle``: the next message is a new question, whatever the chat's ticket."""
        async with self.db.transaction() as s:
            chat = await chat_row(s, chat_id, self.clock.now())
            chat.new_question, chat.transcript, chat.state = True, [], IDLE
            chat.updated_at = self.clock.now()

    async def remember(self, chat_id: int, who: str, text: str, file: dict[str, Any] | None = None) -> None:
        async with self.db.transaction() as s:
            await self._remember(s, await chat_row(s, chat_id, self.clock.now()), who, text, file)

    async def _remember(self, s: AsyncSession, chat: TelegramChat, who: str, text: str,
                        file: dict[str, Any] | None = None) -> None:
        line: dict[str, Any] = {"at": self.clock.now().isoformat(), "who": who, "text": text[:MAX_LINE]}
        if file:
            line["file"] = file
        chat.transcript = [*chat.transcript, line][-MAX_TRANSCRIPT:]
        chat.updated_at = self.clock.now()

    # ---- FAQ suggestions and feedback ------------------------------------------------------
    async def record_question(self, chat_id: int, query: str, entries: list[tuple[str, str]]) -> int:
        """Store a question, what the FAQ suggested ((id, title) pairs, empty on abstention), and the transcript."""
        now = self.clock.now()
        async with self.db.transaction() as s:
            chat = await chat_row(s, chat_id, now)
            await self._remember(s, chat, "user", query)
            said = ("Suggestions de la FAQ : " + " ; ".join(f"« {t} »" for _, t in entries)) if entries else \
                "La FAQ n'a pas de réponse sûre."
            await self._remember(s, chat, "bot", said)
            row = ChatSuggestion(chat_id=chat_id, query=query[:MAX_LINE], entry_ids=[i for i, _ in entries],
                                 created_at=now)
            s.add(row)
            await s.flush()
            assert row.id is not None
        FAQ_SUGGESTIONS.labels("telegram", "shown" if entries else "abstained").inc()
        return row.id

    async def feedback(self, chat_id: int, suggestion_id: int, *, helpful_index: int | None) -> str | None:
        """Store button feedback: the chosen entry helped (``helpful_index``), or none did (None).

        Returns the chosen entry id. Idempotent: a second click changes nothing.
        """
        now = self.clock.now()
        async with self.db.transaction() as s:
            sug = await s.get(ChatSuggestion, suggestion_id)
            if sug is None or sug.chat_id != chat_id:
                return None
            chosen = None
            if helpful_index is not None and 0 <= helpful_index < len(sug.entry_ids):
                chosen = sug.entry_ids[helpful_index]
            if sug.outcome is None:
                sug.outcome = "helpful" if chosen else "human"
                for entry_id in sug.entry_ids:
                    if chosen is None or entry_id == chosen:
                        s.add(FaqFeedback(entry_id=entry_id, helpful=chosen is not None, suggestion_id=sug.id,
                                          query=sug.query, created_at=now))
                if chosen is not None:
                    chat = await chat_row(s, chat_id, now)
                    chat.transcript, chat.new_question = [], False
                    # « Ça répond à ma question »: the question becomes a proposed wording of that entry.
                    await propose(s, entry_id=chosen, question=sug.query, source=SOURCE_TELEGRAM, now=now)
                FAQ_SUGGESTIONS.labels("telegram", "accepted" if chosen else "declined").inc()
            return chosen

    async def feedback_by_entry(self) -> dict[str, tuple[int, int]]:
        """(helpful, not helpful) counts per FAQ entry."""
        async with self.db.transaction() as s:
            rows = (await s.execute(select(col(FaqFeedback.entry_id), col(FaqFeedback.helpful)))).all()
        out: dict[str, tuple[int, int]] = {}
        for entry_id, helpful in rows:
            yes, no = out.get(entry_id, (0, 0))
            out[entry_id] = (yes + 1, no) if helpful else (yes, no + 1)
        return out

    # ---- hand-over and the requester's tickets ---------------------------------------------
    async def handover(self, chat_id: int) -> Handover:
        """The conversation so far, as the first message of the ticket the chat opens."""
        async with self.db.transaction() as s:
            chat = await chat_row(s, chat_id, self.clock.now())
            lines = ["Conversation avec l'assistant Telegram :", ""]
            files = []
            first_question = ""
            for item in chat.transcript:
                who = "Demandeur" if item.get("who") == "user" else "Assistant"
                text = item.get("text") or ""
                if item.get("file"):
                    files.append(item["file"])
                    text = f"[fichier joint : {item['file'].get('name', 'fichier')}] {text}".strip()
                elif who == "Demandeur" and not first_question:
                    first_question = text
                lines.append(f"{who} : {text}")
            if len(lines) == 2:
                lines.append("(aucun message avant la demande de conseiller)")
            lines.append("")
            if chat.organization:
                lines.append(f"Collectivité indiquée : {chat.organization}")
            contact = await chat_contact(s, chat_id)
            if chat.pending_email and not (contact and contact.email == chat.pending_email):
                lines.append(f"Adresse e-mail indiquée (pas encore vérifiée) : {chat.pending_email}")
            subject = first_question.splitlines()[0][:120] if first_question else "Demande depuis Telegram"
            return Handover(subject, "\n".join(lines).strip(), chat.organization, tuple(files))

    async def open_tickets(self, chat_id: int, limit: int = 10) -> list[TicketLine]:
        """The requester's tickets that are not closed, newest first (email ones too once linked)."""
        async with self.db.transaction() as s:
            contact = await chat_contact(s, chat_id)
            if contact is None:
                return []
            rows = (await s.scalars(
                select(Ticket).where(col(Ticket.requester_id) == contact.id,
                    col(Ticket.status) != TicketStatus.CLOSED.value)
                .order_by(col(Ticket.number).desc()).limit(limit)
            )).all()
            return [TicketLine(t.number, t.subject, TicketStatus(t.status)) for t in rows]

    async def mark_blocked(self, chat_id: int) -> None:
        """The user blocked the bot (403): mark the contact so staff see why replies stop."""
        async with self.db.transaction() as s:
            contact = await chat_contact(s, chat_id)
            if contact is not None:
                contact.telegram_blocked = True

