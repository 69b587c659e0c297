"""What staff and operators see of the Outbox: each reply's delivery, its reason in French, « Renvoyer ».

Outbox states (docs/operations.md explains them to operators):

- ``pending``: waiting for its next attempt (``next_attempt_at``); ``last_error`` says why an earlier
  attempt failed, if one did;
- ``sending``: claimed by an instance until ``lease_until``; claimed again if that instance died;
- ``sent``: accepted by the relay (SMTP 250) or by Telegram;
- ``dead``: refused for good (5xx, a blocked bot) or out of attempts; shown on the ticket until a staff
  member presses « Renvoyer », which puts it back to ``pending`` (audited).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import col

from helpdesk.db import store
from helpdesk.db.engine import Database
from helpdesk.db.tables import Message, Outbox, Ticket
from helpdesk.domain.errors import Conflict, NotFound
from helpdesk.domain.events import EventKind
from helpdesk.domain.values import ActorKind
from helpdesk.ports import Clock

EMAIL = "email"

# The senders' English errors (channels/email/sender.py, channels/telegram/sender.py), worded for staff.
_REASONS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^recipient refused"), "le serveur de messagerie a refusé l'adresse du destinataire"),
    (re.compile(r"^relay authentication failed"),
     "le relais SMTP a refusé l'identifiant ou le mot de passe du service (réglage à corriger par l'administrateur)"),
    (re.compile(r"^relay answered"), "le relais SMTP a refusé le message"),
    (re.compile(r"^relay unreachable"), "le relais SMTP est injoignable"),
    (re.compile(r"^Telegram refused \(403\)"), "l'usager a bloqué le bot Telegram ou quitté la conversation"),
    (re.compile(r"^Telegram rejected the message"), "Telegram a refusé le message"),
    (re.compile(r"^Telegram flood control"), "Telegram limite le débit d'envoi"),
    (re.compile(r"^Telegram token rejected"), "le jeton du bot Telegram est refusé (réglage à corriger)"),
    (re.compile(r"^Telegram (unreachable|error)"), "Telegram est injoignable"),
    (re.compile(r"^no sender for channel"), "aucun moyen d'envoi n'est configuré pour ce canal"),
]
_SERVER_DETAIL = re.compile(r"(?:: |answered )([245]\d\d[ -].*)$")  # an SMTP server's reply line


def french_reason(error: str | None) -> str:
    """Why a delivery failed, in French, with the server's own answer when there is one."""
    if not error:
        return "raison inconnue"
    text = next((fr for pattern, fr in _REASONS if pattern.search(error)), None)
    if text is None:
        return f"erreur inattendue ({error[:200]})"
    detail = _SERVER_DETAIL.search(error)
    return f"{text} (réponse : {detail.group(1)[:200]})" if detail else text


@dataclass(frozen=True, slots=True)
class Delivery:
    message_id: int
    status: str  # pending, sending, sent, dead
    attempts: int
    reason: str | None  # French, when an attempt failed
    next_attempt_at: datetime | None

    @property
    def failed(self) -> bool:
        return self.status == "dead"

    @property
    def retrying(self) -> bool:
        return self.status in ("pending", "sending") and self.reason is not None

    @property
    def can_resend(self) -> bool:
        return self.status in ("dead", "pending") and self.reason is not None


def delivery_problems(configured_channels: set[str]) -> list[str]:
    """Problems a staff member must see in the queue (French)."""
    if EMAIL not in configured_channels:
        return ["Aucun relais SMTP n'est configuré : les réponses par courriel sont mises en file d'envoi mais "
                "ne partent pas. Prévenez l'administrateur."]
    return []


class OutboxStatus:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def deliveries(self, number: int) -> dict[int, Delivery]:
        """The Outbox row of each outbound message of a ticket, by message id."""
        async with self.db.transaction() as s:
            t = await store.ticket_by_number(s, number)
            rows = (await s.scalars(
                select(Outbox).where(col(Outbox.ticket_id) == t.id, col(Outbox.message_id).is_not(None))
                .order_by(col(Outbox.id))
            )).all()
        out: dict[int, Delivery] = {}
        for r in rows:
            assert r.message_id is not None
            reason = french_reason(r.last_error) if r.last_error else None
            out[r.message_id] = Delivery(r.message_id, r.status, r.attempts, reason,
                                         r.next_attempt_at if r.status == "pending" else None)
        return out

    async def resend(self, number: int, message_id: int, staff_id: int) -> None:
        """Put a failed reply back in the queue for a fresh series of attempts (audited)."""
        now = self.clock.now()
        async with self.db.transaction() as s:
            t = await store.ticket_by_number(s, number)
            row = (await s.scalars(select(Outbox).where(col(Outbox.ticket_id) == t.id,
                                                        col(Outbox.message_id) == message_id)
                                   .with_for_update())).first()
            if row is None:
                raise NotFound("envoi introuvable sur ce ticket")
            if row.status not in ("dead", "pending"):
                raise Conflict("cet envoi est déjà en cours ou parti")
            previous = row.last_error
            row.status, row.attempts, row.next_attempt_at = "pending", 0, now
            row.lease_owner, row.lease_until, row.last_error = None, None, None
            msg = await s.get(Message, message_id)
            if msg is not None:
                msg.delivery_status = "queued"
            await store.record_event(
                s, kind=EventKind.REPLY_RESENT, now=now, ticket_id=t.id, actor_kind=ActorKind.STAFF,
                actor_id=staff_id, message_id=message_id, outbox_id=row.id, previous_error=(previous or "")[:300],
            )

    async def ticket_number(self, ticket_id: int | None) -> int | None:
        if ticket_id is None:
            return None
        async with self.db.transaction() as s:
            t = await s.get(Ticket, ticket_id)
            return t.number if t else None
