"""Who may write into a ticket: the store side of the participant rule (helpdesk/domain/threading.py).

Read only when a message points at a ticket (In-Reply-To, References, a ``[#N]`` tag) and its sender
is not the requester: the ticket's authors and the addresses its messages were sent or copied to
(``recipients`` in an inbound message's meta), and whether the sender is staff.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from helpdesk.db.tables import Contact, Message, StaffUser, Ticket
from helpdesk.domain import threading

MAX_MESSAGES_READ = 500  # a ticket's latest messages are enough to know who took part


async def is_participant(s: AsyncSession, ticket: Ticket, contact: Contact) -> bool:
    if contact.id is not None and ticket.requester_id == contact.id:
        return True
    email = (contact.email or "").strip().lower()
    rows = (await s.execute(
        select(col(Message.author_contact_id), col(Message.meta)).where(col(Message.ticket_id) == ticket.id)
        .order_by(col(Message.id).desc()).limit(MAX_MESSAGES_READ))).all()
    if contact.id is not None and any(author == contact.id for author, _ in rows):
        return True
    if not email:
        return False
    addressed = {str(a).lower() for _, meta in rows if isinstance(meta, dict)
                 for a in (meta.get("recipients") or []) if isinstance(a, str)}
    requester = await s.get(Contact, ticket.requester_id) if ticket.requester_id else None
    staff_id = await s.scalar(select(col(StaffUser.id)).where(func.lower(col(StaffUser.email)) == email).limit(1))
    staff = staff_id is not None
    return threading.is_participant(email, requester=requester.email if requester else None,
                                    addressed=addressed, staff=staff)
