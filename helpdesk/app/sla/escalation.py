"""The escalation job: SLA warnings and breach notices, pending reminders, auto-close of resolved tickets.

Each pass recomputes the SLA of open tickets from their events, then notifies each threshold once:
the notice is claimed by inserting (ticket, target, threshold) into ``sla_notification`` with
ON CONFLICT DO NOTHING, in the same transaction as its Outbox rows, so two instances never send a
notice twice (PostgreSQL makes the second insert wait for the first commit; SQLite has one writer).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from helpdesk.app import mail_guard
from helpdesk.app.french_dates import fr_datetime
from helpdesk.app.sla.service import Policy, batch_inputs, load_policy, store_sla
from helpdesk.app.tickets import status as ticket_status
from helpdesk.app.tickets.service import TicketService
from helpdesk.db import store
from helpdesk.db.engine import Database
from helpdesk.db.tables import Contact, Message, Outbox, SlaNotification, StaffUser, TeamMember, Ticket
from helpdesk.domain import lifecycle, sla
from helpdesk.domain.errors import NotFound, ValidationError
from helpdesk.domain.events import EventKind
from helpdesk.domain.values import ActorKind, Direction, StaffRole, TicketStatus
from helpdesk.ports import Clock

log = logging.getLogger(__name__)

TARGET_LABELS = {"first_response": "première réponse", "resolution": "résolution"}
REMINDER_TEXT = (
    "Bonjour,\n\nNous revenons vers vous au sujet de votre demande « {subject} » : nous attendons votre "
    "réponse pour poursuivre. Il vous suffit de répondre à ce message.\n\nL'équipe d'assistance du CRAIG"
)


@dataclass(slots=True)
class EscalationReport:
    warnings: int = 0
    breaches: int = 0
    reminders: int = 0
    closed: int = 0


class EscalationJob:
    def __init__(self, db: Database, clock: Clock, *, public_url: str = "", staff_chat: int | None = None,
                 mail_domain: str = "craig.fr", batch: int = 50, tickets: TicketService | None = None) -> None:
        self.db = db
        self.clock = clock
        self.public_url = public_url.rstrip("/")
        self.staff_chat = staff_chat
        self.mail_domain = mail_domain
        self.batch = batch
        self._tickets = tickets or TicketService(db, clock, mail_domain=mail_domain)

    async def run_once(self) -> EscalationReport:
        report = EscalationReport()
        now = self.clock.now()
        last_id = 0
        policies: dict[str | None, Policy] = {}
        while True:
            async with self.db.transaction() as s:
                stmt = (select(Ticket).where(col(Ticket.id) > last_id,
                                             col(Ticket.status).in_(["new", "open", "pending", "resolved"]))
                        .order_by(col(Ticket.id)).limit(self.batch))
                if not self.db.is_sqlite:
                    stmt = stmt.with_for_update(skip_locked=True)
                tickets = (await s.scalars(stmt)).all()
                if not tickets:
                    return report
                events, kinds = await batch_inputs(s, tickets)
                taken = await self._taken(s, [t.id for t in tickets if t.id is not None])
                for t in tickets:
                    assert t.id is not None
                    last_id = t.id
                    policy = await self._policy(s, policies, t.sla_policy, now)
                    if t.status == TicketStatus.RESOLVED.value:
                        await self._auto_close(s, t, policy, now, report)
                        continue
                    state = store_sla(t, events[t.id], policy, kinds.get(t.id), now)
                    await self._thresholds(s, t, state, now, report, taken)
                    if t.status == TicketStatus.PENDING.value:
                        await self._remind(s, t, policy, now, report, events[t.id], taken)

    async def _policy(self, s: AsyncSession, cache: dict[str | None, Policy], name: str | None,
                      now: datetime) -> Policy:
        if name not in cache:
            try:
                cache[name] = await load_policy(s, name, now)
            except NotFound:
                cache[name] = await load_policy(s, None, now)
        return cache[name]

    async def _taken(self, s: AsyncSession, ticket_ids: list[int]) -> set[tuple[int, str, str]]:
        """Notices already sent for these tickets (a shortcut only: the claim below is what is safe)."""
        rows = await s.execute(select(col(SlaNotification.ticket_id), col(SlaNotification.target),
            col(SlaNotification.threshold))
                               .where(col(SlaNotification.ticket_id).in_(ticket_ids)))
        return {(int(a), str(b), str(c)) for a, b, c in rows.all()}

    async def _claim(self, s: AsyncSession, ticket_id: int, target: str, threshold: str, now: datetime) -> int | None:
        """Take the notice (ticket, target, threshold); None when someone already did."""
        insert = sqlite_insert if self.db.is_sqlite else pg_insert
        stmt = (insert(SlaNotification).values(ticket_id=ticket_id, target=target, threshold=threshold, created_at=now)
                .on_conflict_do_nothing(index_elements=["ticket_id", "target", "threshold"])
                .returning(col(SlaNotification.id)))
        return (await s.execute(stmt)).scalar_one_or_none()

    async def _thresholds(self, s: AsyncSession, t: Ticket, state: sla.SlaState, now: datetime,
                          report: EscalationReport, taken: set[tuple[int, str, str]]) -> None:
        assert t.id is not None
        checks = []
        if state.first_response_at is None:
            checks.append(("first_response", state.first_response_due, state.first_response_warn_at,
                           state.first_response_breached))
        checks.append(("resolution", state.resolution_due, state.resolution_warn_at, state.resolution_breached))
        for target, due, warn_at, breached in checks:
            if due is None or (t.id, target, "breach") in taken:
                continue
            if breached:
                if (t.id, target, "warning") not in taken:
                    await self._claim(s, t.id, target, "warning", now)  # a late warning is pointless now
                nid = await self._claim(s, t.id, target, "breach", now)
                if nid is not None:
                    await self._breach(s, t, target, due, nid, now)
                    report.breaches += 1
            elif warn_at is not None and now >= warn_at and (t.id, target, "warning") not in taken:
                nid = await self._claim(s, t.id, target, "warning", now)
                if nid is not None:
                    await self._warning(s, t, target, due, nid, now)
                    report.warnings += 1

    # ---- recipients and messages -------------------------------------------------------------
    async def _leads_and_admins(self, s: AsyncSession, t: Ticket) -> list[StaffUser]:
        admins = (await s.scalars(select(StaffUser).where(col(StaffUser.role) == StaffRole.ADMIN.value,
                                                          col(StaffUser.is_active)))).all()
        leads: list[StaffUser] = []
        if t.team_id is not None:
            leads = list((await s.scalars(
                select(StaffUser).join(TeamMember, col(TeamMember.staff_id) == col(StaffUser.id))
                .where(col(TeamMember.team_id) == t.team_id, col(TeamMember.is_lead), col(StaffUser.is_active))
            )).all())
        seen: dict[int | None, StaffUser] = {u.id: u for u in [*leads, *admins]}
        return list(seen.values())

    def _link(self, t: Ticket) -> str:
        return f"{self.public_url}/tickets/{t.number}"

    async def _warning(self, s: AsyncSession, t: Ticket, target: str, due: datetime, nid: int, now: datetime) -> None:
        assignee = await s.get(StaffUser, t.assignee_id) if t.assignee_id else None
        recipients = [assignee] if assignee is not None and assignee.is_active else await self._leads_and_admins(s, t)
        subject = f"SLA : ticket n° {t.number} bientôt en retard ({TARGET_LABELS[target]})"
        text = (f"Le ticket n° {t.number} « {t.subject} » atteint 75 % du délai de {TARGET_LABELS[target]}.\n"
                f"Échéance : {fr_datetime(due)}.\n{self._link(t)}")
        await self._notify(s, t, nid, recipients, subject, text, now, telegram=False)
        await store.record_event(s, kind=EventKind.SLA_WARNING, now=now, ticket_id=t.id, target=target,
                                 due=due.isoformat(), notified=[u.email for u in recipients])

    async def _breach(self, s: AsyncSession, t: Ticket, target: str, due: datetime, nid: int, now: datetime) -> None:
        recipients = await self._leads_and_admins(s, t)
        subject = f"SLA dépassé : ticket n° {t.number} ({TARGET_LABELS[target]})"
        text = (f"Le délai de {TARGET_LABELS[target]} du ticket n° {t.number} « {t.subject} » est dépassé "
                f"depuis le {fr_datetime(due)}.\n{self._link(t)}")
        await self._notify(s, t, nid, recipients, subject, text, now, telegram=True)
        await store.record_event(s, kind=EventKind.SLA_BREACH, now=now, ticket_id=t.id, target=target,
                                 due=due.isoformat(), notified=[u.email for u in recipients])

    async def _notify(self, s: AsyncSession, t: Ticket, nid: int, recipients: list[StaffUser], subject: str,
                      text: str, now: datetime, *, telegram: bool) -> None:
        for user in recipients:
            payload: dict[str, Any] = {
                "to": user.email, "to_name": user.name or None, "subject": subject, "text": text,
                "message_id": f"<{secrets.token_hex(12)}.sla@{self.mail_domain}>", "in_reply_to": None,
                "references": [], "ticket_number": t.number, "auto_submitted": "auto-generated",
            }
            s.add(Outbox(channel="email", ticket_id=t.id, payload=payload, idempotency_key=f"sla:{nid}:{user.email}",
                         next_attempt_at=now, created_at=now))
        if telegram and self.staff_chat is not None:
            s.add(Outbox(channel="telegram", ticket_id=t.id, payload={"chat_id": self.staff_chat, "text": text},
                         idempotency_key=f"sla:{nid}:telegram", next_attempt_at=now, created_at=now))

    # ---- pending reminders and auto-close -----------------------------------------------------
    @staticmethod
    def _pending_since(events: list[sla.ClockEvent]) -> datetime | None:
        last = next((e for e in reversed(events) if e.kind is sla.ClockEventKind.STATUS), None)
        return last.at if last is not None and last.status == TicketStatus.PENDING.value else None

    async def _remind(self, s: AsyncSession, t: Ticket, policy: Policy, now: datetime, report: EscalationReport,
                      events: list[sla.ClockEvent], taken: set[tuple[int, str, str]]) -> None:
        since = self._pending_since(events)
        if since is None or policy.pending_reminder_days <= 0:
            return
        if (t.id or 0, "pending", f"reminder:{since.isoformat()}") in taken:
            return
        wait = sla.working_day_length(policy.calendar) * policy.pending_reminder_days
        if sla.business_time_between(since, now, policy.calendar) < wait:
            return
        assert t.id is not None
        nid = await self._claim(s, t.id, "pending", f"reminder:{since.isoformat()}", now)
        if nid is None:
            return
        requester = await s.get(Contact, t.requester_id) if t.requester_id else None
        if requester is not None and await mail_guard.refusal(s, t, requester, now, kind="reminder") is not None:
            return
        text = REMINDER_TEXT.format(subject=mail_guard.inert(t.subject))
        try:
            channel, payload = await self._tickets._outbound_payload(s, t, requester, text)
        except ValidationError as exc:  # no address to write to: the notice is taken, nothing is sent
            log.info("pending reminder for ticket %s not sent: %s", t.number, exc)
            return
        msg = Message(ticket_id=t.id, direction=Direction.OUTBOUND.value, channel=channel.value,
                      subject=payload.get("subject"), visible_text=text, full_text=text,
                      external_id=payload.get("message_id"), automatic=True, delivery_status="queued",
                      meta={"automatic_reason": "pending_reminder"}, created_at=now)
        s.add(msg)
        await s.flush()
        payload["db_message_id"] = msg.id
        s.add(Outbox(channel=channel.value, ticket_id=t.id, message_id=msg.id, payload=payload,
                     idempotency_key=f"reminder:{nid}", next_attempt_at=now, created_at=now))
        await store.record_event(s, kind=EventKind.REPLY_QUEUED, now=now, ticket_id=t.id, actor_kind=ActorKind.SYSTEM,
                                 message_id=msg.id, channel=channel.value, automatic=True, reason="pending reminder")
        report.reminders += 1

    async def _auto_close(self, s: AsyncSession, t: Ticket, policy: Policy, now: datetime,
                          report: EscalationReport) -> None:
        if policy.auto_close_days <= 0 or t.resolved_at is None:
            return
        if now - t.resolved_at < timedelta(days=policy.auto_close_days):
            return
        await ticket_status.change_status(
            s, t, lifecycle.Action.CLOSE, now, actor_kind=ActorKind.SYSTEM,
            reason=f"closed automatically {policy.auto_close_days} days after resolution")
        report.closed += 1
