"""The one status-change path: the lifecycle's pure transition, applied to a ticket row with its audit event.

Staff actions, replies, requester messages (intake), merge and the automatic close all change a
ticket's status through here, so the timestamps and the ``status.changed`` event never disagree.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from helpdesk.db import store
from helpdesk.db.tables import Ticket
from helpdesk.domain import lifecycle
from helpdesk.domain.events import EventKind
from helpdesk.domain.values import ActorKind, TicketStatus


def plan(t: Ticket, action: lifecycle.Action, now: datetime, reason: str) -> lifecycle.StatusChange:
    """The change ``action`` makes on ``t`` (raises InvalidTransition); nothing is written."""
    return lifecycle.transition(TicketStatus(t.status), action, now=now, resolved_at=t.resolved_at,
                                closed_at=t.closed_at, reason=reason)


def write(t: Ticket, change: lifecycle.StatusChange, now: datetime, *, actor_kind: ActorKind,
          actor_id: int | None) -> store.EventRow | None:
    """Apply ``change`` to the row; the audit event to record (None when the status stays)."""
    if not change.changed:
        return None
    t.status = change.new.value
    t.resolved_at = change.resolved_at
    t.closed_at = change.closed_at
    t.updated_at = now
    return store.event_row(kind=EventKind.STATUS_CHANGED, now=now, ticket_id=t.id, actor_kind=actor_kind,
                           actor_id=actor_id, **change.event_data())


async def change_status(s: AsyncSession, t: Ticket, action: lifecycle.Action, now: datetime, *, reason: str,
                        actor_kind: ActorKind, actor_id: int | None = None) -> lifecycle.StatusChange:
    """Plan, write and audit one transition inside the caller's transaction."""
    change = plan(t, action, now, reason)
    await record(s, t, change, now, actor_kind=actor_kind, actor_id=actor_id)
    return change


async def record(s: AsyncSession, t: Ticket, change: lifecycle.StatusChange, now: datetime, *,
                 actor_kind: ActorKind, actor_id: int | None) -> None:
    """Write an already planned change and its event (the event goes through the session, in order)."""
    row = write(t, change, now, actor_kind=actor_kind, actor_id=actor_id)
    if row is not None:
        await store.record_event(s, kind=row.kind, now=now, ticket_id=row.ticket_id, actor_kind=actor_kind,
                                 actor_id=actor_id, **row.data)
