"""The acknowledgement of a new email ticket, queued in the intake transaction (an IntakeHook).

French text with the ``[#N]`` reference and what happens next; the FAQ suggestions the channel
found (only when the FAQ engine was confident) with their links. Sent with
``Auto-Submitted: auto-replied``. Never sent to automatic mail, to a bouncing address, to our own
addresses or for a ticket staff opened themselves (``taken_by_staff_id`` in the message meta); at
most ``per_sender`` acknowledgements to one address per ``sender_window``; and none once a loop
guard trips (too many messages from that sender, or on that ticket, in a short window).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from helpdesk.app.faq.index import FaqHit
from helpdesk.app.intake.service import IntakeContext
from helpdesk.app.mail_guard import automatic_key, inert
from helpdesk.db import store
from helpdesk.db.engine import Database
from helpdesk.db.tables import Message, Outbox, Ticket
from helpdesk.domain.errors import TemporaryError
from helpdesk.domain.events import EventKind
from helpdesk.domain.values import Channel, Direction, format_ticket_number

log = logging.getLogger(__name__)

ACK_SUPPRESSED = EventKind.ACK_SUPPRESSED
ACK_QUEUED = EventKind.ACK_QUEUED
FAQ_QUERY_CHARS = 2000  # the FAQ search runs on the event loop: its query is bounded, whatever the message


@dataclass(frozen=True, slots=True)
class AckPolicy:
    per_sender: int = 3
    sender_window: timedelta = timedelta(hours=1)
    loop_messages: int = 8
    loop_window: timedelta = timedelta(minutes=15)


@dataclass(slots=True)
class Recent:
    """What the guards count, read for a whole intake batch in three grouped queries."""

    on_ticket: dict[int, int]  # inbound messages per ticket in the loop window
    from_sender: dict[int, int]  # inbound messages per author in the loop window
    acks_to: dict[int, int]  # acknowledgements queued per requester in the sender window

    @classmethod
    async def read(cls, s: AsyncSession, *, tickets: Iterable[int], contacts: Iterable[int], now: datetime,
                   policy: AckPolicy) -> Recent:
        since = now - policy.loop_window
        inbound = (col(Message.direction) == Direction.INBOUND.value, col(Message.created_at) >= since)
        ticket_ids, contact_ids = sorted(set(tickets)), sorted(set(contacts))
        on_ticket = dict((await s.execute(
            select(col(Message.ticket_id), func.count(col(Message.id))).where(col(Message.ticket_id).in_(ticket_ids),
                *inbound)
            .group_by(col(Message.ticket_id)))).all()) if ticket_ids else {}
        from_sender: dict[int, int] = {}
        acks_to: dict[int, int] = {}
        if contact_ids:
            from_sender = {int(c): n for c, n in (await s.execute(
                select(col(Message.author_contact_id), func.count(col(Message.id)))
                .where(col(Message.author_contact_id).in_(contact_ids), *inbound)
                .group_by(col(Message.author_contact_id)))).all() if c is not None}
            # Every automatic mail counts (summaries, ratings, reminders too): one guard, helpdesk/app/mail_guard.py.
            acks_to = {int(c): n for c, n in (await s.execute(
                select(col(Ticket.requester_id), func.count(col(Outbox.id))).join(Outbox,
                    col(Outbox.ticket_id) == col(Ticket.id))
                .where(col(Ticket.requester_id).in_(contact_ids), automatic_key(),
                       col(Outbox.created_at) >= now - policy.sender_window)
                .group_by(col(Ticket.requester_id)))).all() if c is not None}
        return cls(on_ticket, from_sender, acks_to)


def suppression(
    *, on_ticket: int, from_sender: int, acks_to_sender: int, policy: AckPolicy
) -> str | None:
    """Why no acknowledgement may go out now (a loop with a robot, too many to one address), or None."""
    if on_ticket >= policy.loop_messages:
        return f"loop guard: {on_ticket} messages on the ticket in {policy.loop_window}"
    if from_sender >= policy.loop_messages:
        return f"loop guard: {from_sender} messages from this sender in {policy.loop_window}"
    if acks_to_sender >= policy.per_sender:
        return f"rate limit: {acks_to_sender} acknowledgements to this address in {policy.sender_window}"
    return None


def ack_text(number: int, subject: str, suggestions: Sequence[dict[str, Any]], public_url: str) -> str:
    ref = format_ticket_number(number)
    lines = [
        "Bonjour,",
        "",
        f"Nous avons bien reçu votre demande « {inert(subject)} ». Elle est enregistrée sous la référence {ref}.",
        "",
        "Un membre de l'équipe d'assistance du CRAIG l'étudie et vous répondra par courriel, "
        "en général sous deux jours ouvrés.",
        f"Pour compléter votre demande, répondez simplement à ce message en gardant {ref} dans l'objet.",
    ]
    if suggestions:
        lines += ["", "En attendant, ces fiches de notre FAQ répondent peut-être déjà à votre question :"]
        base = public_url.rstrip("/")
        for sug in suggestions:
            lines.append(f"- {sug.get('title', '')} : {base}/faq/{sug.get('id', '')}")
    lines += ["", "Ceci est un message automatique : merci de ne pas modifier l'objet si vous y répondez.", "",
              "L'équipe d'assistance du CRAIG"]
    return "\n".join(lines)


class AcknowledgementHook:
    def __init__(
        self, *, own_addresses: Sequence[str], public_url: str, mail_domain: str,
        policy: AckPolicy | None = None,
    ) -> None:
        self.own = {a.lower() for a in own_addresses}
        self.public_url = public_url
        self.mail_domain = mail_domain
        self.policy = policy or AckPolicy()

    async def after_intake(self, ctx: IntakeContext) -> None:
        await self.after_intake_batch([ctx])

    def _wanted(self, ctx: IntakeContext) -> bool:
        inbound, contact = ctx.inbound, ctx.contact
        if not ctx.created or inbound.channel is not Channel.EMAIL or inbound.automatic:
            return False
        email = (contact.email or "").lower()
        return bool(email) and email not in self.own and not contact.bouncing

    async def after_intake_batch(self, contexts: Sequence[IntakeContext]) -> None:
        """Acknowledge the new email tickets of an intake batch: the guards read once, the rows written at once.

        The counts include every message of the batch (they are stored before the hooks run), and an
        acknowledgement queued for one message counts against the next one to the same address.
        """
        wanted = [ctx for ctx in contexts if self._wanted(ctx)]
        if not wanted:
            return
        s, now = wanted[0].session, wanted[0].now
        recent = await Recent.read(
            s, tickets=[t for c in wanted for t in (c.ticket.id, c.ticket.parent_id) if t is not None],
            contacts=[c.contact.id for c in wanted if c.contact.id is not None], now=now, policy=self.policy,
        )
        events: list[store.EventRow] = []
        going: list[tuple[IntakeContext, dict[str, Any]]] = []
        for ctx in wanted:
            ticket, contact = ctx.ticket, ctx.contact
            assert ticket.id is not None and contact.id is not None
            if ctx.inbound.meta.get("taken_by_staff_id") is not None:  # staff opened it (from kept automatic mail)
                reason: str | None = "ticket opened by staff: no acknowledgement"
            else:
                reason = suppression(
                    on_ticket=sum(recent.on_ticket.get(t, 0) for t in {ticket.id, ticket.parent_id} if t),
                    from_sender=recent.from_sender.get(contact.id, 0),
                    acks_to_sender=recent.acks_to.get(contact.id, 0), policy=self.policy,
                )
            if reason is not None:
                events.append(store.event_row(kind=ACK_SUPPRESSED, now=now, ticket_id=ticket.id, reason=reason))
                continue
            recent.acks_to[contact.id] = recent.acks_to.get(contact.id, 0) + 1
            going.append((ctx, self._compose(ctx)))
        messages = await store.insert_returning(s, Message, [row for _, row in going])
        jobs = []
        for (ctx, row), msg in zip(going, messages, strict=True):
            ticket, contact = ctx.ticket, ctx.contact
            references = [*ctx.inbound.references, *([ctx.inbound.external_id] if ctx.inbound.external_id else [])]
            payload = {
                "to": contact.email, "to_name": contact.name, "subject": row["subject"], "text": row["full_text"],
                "message_id": row["external_id"], "in_reply_to": ctx.inbound.external_id,
                "references": references[-10:], "ticket_number": ticket.number, "ticket_ref": ticket.public_ref,
                "db_message_id": msg.id, "auto_submitted": "auto-replied",
            }
            if ctx.inbound.meta.get("faq_pending"):  # not searched at intake: the sender adds the suggestions
                payload.update(faq_query=f"{ctx.inbound.subject}\n\n{ctx.inbound.visible_text}"[:FAQ_QUERY_CHARS],
                               ticket_subject=ticket.subject)
            jobs.append({"channel": Channel.EMAIL.value, "ticket_id": ticket.id, "message_id": msg.id,
                         "payload": payload, "idempotency_key": f"ack:{(contact.email or '').lower()}:{ticket.number}",
                         "next_attempt_at": now, "created_at": now})
            events.append(store.event_row(kind=ACK_QUEUED, now=now, ticket_id=ticket.id, message_id=msg.id,
                                          suggestions=len(row["meta"]["faq_suggestions"])))
        if jobs:
            await s.execute(insert(Outbox), jobs)
        await store.insert_events(s, events)

    def _compose(self, ctx: IntakeContext) -> dict[str, Any]:
        """The acknowledgement's message row (French text, FAQ suggestions, a Message-ID fixed now)."""
        ticket = ctx.ticket
        suggestions = list(ctx.inbound.meta.get("faq_suggestions") or [])[:3]
        text = ack_text(ticket.number, ticket.subject, suggestions, self.public_url)
        return {
            "ticket_id": ticket.id, "direction": Direction.OUTBOUND.value, "channel": Channel.EMAIL.value,
            "subject": f"{format_ticket_number(ticket.number)} Accusé de réception : {ticket.subject}",
            "visible_text": text, "full_text": text, "automatic": True, "delivery_status": "queued",
            "external_id": f"<ack.{secrets.token_hex(10)}.{ticket.number}@{self.mail_domain}>",
            "meta": {"kind": "acknowledgement", "faq_suggestions": suggestions}, "created_at": ctx.now,
        }


Search = Callable[[str], Awaitable[Sequence[FaqHit]]]


class AckFinisher:
    """Adds FAQ suggestions to an acknowledgement queued without them, just before it is sent.

    Intake searches the FAQ only when a routing rule needs the tags of the best suggestion; otherwise
    the search runs here, in the Outbox worker, after the sender's server already has its 250. The
    stored copy of the acknowledgement on the ticket is updated to the text that goes out. A retried
    send searches again and writes the same text.
    """

    def __init__(self, db: Database, search: Search, public_url: str) -> None:
        self.db = db
        self.search = search
        self.public_url = public_url

    async def finish(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(payload)
        query = out.pop("faq_query", None)
        if not query:
            return out
        try:
            found = await self.search(str(query))
        except TemporaryError:
            raise
        except Exception:  # noqa: BLE001 - suggestions are a bonus; the acknowledgement goes anyway
            log.exception("FAQ suggestions failed; acknowledging without them")
            found = []
        suggestions = [{"id": f.id, "title": f.title, "score": f.score} for f in found][:3]
        out["text"] = ack_text(int(out["ticket_number"]), str(out.pop("ticket_subject", "")), suggestions,
                               self.public_url)
        if out.get("db_message_id"):
            async with self.db.transaction() as s:
                msg = await s.get(Message, int(out["db_message_id"]))
                if msg is not None:
                    msg.visible_text = msg.full_text = out["text"]
                    msg.meta = {**msg.meta, "faq_suggestions": suggestions}
        return out


class AckFinishingSender:
    """The email Outbox sender, with acknowledgements completed by an AckFinisher first."""

    def __init__(self, inner: Any, finisher: AckFinisher) -> None:
        self.inner = inner
        self.finisher = finisher

    async def send(self, payload: Mapping[str, Any]) -> None:
        await self.inner.send(await self.finisher.finish(payload))
