"""Linking a chat to an email address with a one-time code sent by email.

Once the code is confirmed, the chat and that person's email tickets share one contact, hence one
history: the chat-only contact's tickets move to the email contact. An address that was only typed
(never confirmed) is never used to find someone else's tickets.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from helpdesk.app.chat.service import chat_contact, chat_row
from helpdesk.db import store
from helpdesk.db.engine import Database
from helpdesk.db.tables import Contact, Message, Outbox, Ticket
from helpdesk.domain.events import EventKind
from helpdesk.domain.values import Channel
from helpdesk.ports import Clock

CODE_TTL = timedelta(minutes=30)
MAX_ATTEMPTS = 5
EMAIL_RE = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]{2,}$")


class LinkOutcome(StrEnum):
    LINKED = "linked"
    WRONG = "wrong"
    EXPIRED = "expired"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class LinkResult:
    outcome: LinkOutcome
    email: str | None = None
    attempts_left: int = 0


def valid_email(text: str) -> bool:
    return bool(EMAIL_RE.match(text.strip()))


def _digest(chat_id: int, code: str) -> str:
    return hashlib.sha256(f"{chat_id}:{code}".encode()).hexdigest()


class ChatLinkService:
    def __init__(self, db: Database, clock: Clock, *, mail_domain: str = "craig.fr",
                 from_name: str = "Assistance CRAIG") -> None:
        self.db = db
        self.clock = clock
        self.mail_domain = mail_domain
        self.from_name = from_name

    async def issue_code(self, chat_id: int) -> str | None:
        """Queue an email with a fresh 6-digit code to the address the chat gave. Returns that address."""
        now = self.clock.now()
        code = f"{secrets.randbelow(1_000_000):06d}"
        async with self.db.transaction() as s:
            chat = await chat_row(s, chat_id, now)
            if not chat.pending_email:
                return None
            chat.code_hash, chat.code_expires_at, chat.code_attempts = _digest(chat_id, code), now + CODE_TTL, 0
            text = (
                "Bonjour,\n\n"
                f"Voici votre code de confirmation pour l'assistance du CRAIG sur Telegram : {code}\n\n"
                "Envoyez-le dans la conversation Telegram pour relier vos demandes par e-mail et par Telegram. "
                f"Il est valable {int(CODE_TTL.total_seconds() // 60)} minutes.\n\n"
                "Si vous n'êtes pas à l'origine de cette demande, ignorez ce message.\n\n"
                f"{self.from_name}"
            )
            s.add(Outbox(
                channel=Channel.EMAIL.value,
                payload={
                    "to": chat.pending_email, "to_name": chat.display_name,
                    "subject": "Votre code de confirmation Telegram", "text": text,
                    "message_id": f"<{secrets.token_hex(12)}.code@{self.mail_domain}>",
                    "in_reply_to": None, "references": [], "ticket_number": None, "ticket_ref": None,
                },
                idempotency_key=f"telegram-code:{chat_id}:{secrets.token_hex(8)}",
                next_attempt_at=now, created_at=now,
            ))
            return chat.pending_email

    async def verify_code(self, chat_id: int, code: str) -> LinkResult:
        now = self.clock.now()
        async with self.db.transaction() as s:
            chat = await chat_row(s, chat_id, now)
            if chat.code_hash is None or not chat.pending_email:
                return LinkResult(LinkOutcome.NONE)
            if chat.code_expires_at is None or chat.code_expires_at <= now or chat.code_attempts >= MAX_ATTEMPTS:
                chat.code_hash = None
                return LinkResult(LinkOutcome.EXPIRED, chat.pending_email)
            if not hmac.compare_digest(chat.code_hash, _digest(chat_id, code.strip())):
                chat.code_attempts += 1
                left = MAX_ATTEMPTS - chat.code_attempts
                if left <= 0:
                    chat.code_hash = None
                return LinkResult(LinkOutcome.WRONG, chat.pending_email, left)
            email = chat.pending_email
            chat.code_hash, chat.code_expires_at, chat.updated_at = None, None, now
            await self._link(s, chat_id, email, chat.display_name)
            return LinkResult(LinkOutcome.LINKED, email)

    async def _link(self, s: AsyncSession, chat_id: int, email: str, name: str | None) -> None:
        by_email = (await s.scalars(select(Contact).where(col(Contact.email) == email))).first()
        by_chat = await chat_contact(s, chat_id)
        if by_email is None:
            if by_chat is not None:
                by_chat.email = email
                target = by_chat
            else:
                target = Contact(email=email, name=name, telegram_chat_id=chat_id, created_at=self.clock.now())
                s.add(target)
        else:
            target = by_email
            if by_chat is not None and by_chat.id != by_email.id:
                # The same person, proven by the code: one contact, one history.
                await s.execute(update(Ticket).where(col(Ticket.requester_id) == by_chat.id)
                                .values(requester_id=by_email.id))
                await s.execute(update(Message).where(col(Message.author_contact_id) == by_chat.id)
                                .values(author_contact_id=by_email.id))
                if by_email.organization_id is None:
                    by_email.organization_id = by_chat.organization_id
                by_chat.telegram_chat_id = None
                await s.flush()
            by_email.telegram_chat_id = chat_id
            if not by_email.name and name:
                by_email.name = name
        await s.flush()
        await store.record_event(s, kind=EventKind.TELEGRAM_LINKED, now=self.clock.now(), ticket_id=None,
                                 contact_id=target.id, chat_id=chat_id)
