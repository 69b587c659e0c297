"""Tickets that staff or the public open through the web: a phone call taken by staff, the FAQ form.

Both go through the intake door like any channel, so threading, SLA and routing hooks apply.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from helpdesk.app.intake.messages import InboundMessage, IntakeResult, OrganizationHint
from helpdesk.app.intake.service import IntakeService
from helpdesk.app.mail_guard import header_text
from helpdesk.app.ratelimit import RateLimiter, Throttled
from helpdesk.app.staff.accounts import EMAIL_RE
from helpdesk.app.tickets.service import TicketService
from helpdesk.db.engine import Database
from helpdesk.domain.errors import ValidationError
from helpdesk.domain.values import Channel, OrgKind
from helpdesk.ports import Clock

FORM_WINDOW = timedelta(hours=1)
FORM_MAX_PER_ADDRESS = 3
FORM_MAX_PER_CLIENT = 10
MAX_TEXT = 20_000


def clean_name(value: str, limit: int) -> str | None:
    """A person's or organisation's name typed in a form: one line, no control characters (a CR or LF
    here would end up in a mail header), bounded; None when nothing is left."""
    return header_text(value, limit) or None


def _org(name: str, kind: str, pays: str) -> OrganizationHint | None:
    name = clean_name(name, 200) or ""
    if not name:
        return None
    try:
        org_kind = OrgKind(kind or "other")
    except ValueError:
        raise ValidationError(f"type de collectivité inconnu : {kind}") from None
    return OrganizationHint(name=name, kind=org_kind, pays=clean_name(pays, 120))


def _email(value: str, *, required: bool) -> str | None:
    email = value.strip().lower()
    if not email:
        if required:
            raise ValidationError("l'adresse électronique est obligatoire")
        return None
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise ValidationError("adresse électronique invalide")
    return email


class WebRequests:
    def __init__(self, db: Database, clock: Clock, intake: IntakeService, tickets: TicketService) -> None:
        self.intake = intake
        self.tickets = tickets
        self.limits = RateLimiter(db, clock)

    async def phone_call(
        self, *, staff_id: int, caller_email: str, caller_name: str, org_name: str, org_kind: str, pays: str,
        subject: str, request: str, note: str = "",
    ) -> IntakeResult:
        """Open a ticket on behalf of a caller: the request as their message, an optional internal note."""
        email = _email(caller_email, required=False)
        if not email and not caller_name.strip():
            raise ValidationError("indiquez au moins le nom ou l'adresse de l'appelant")
        if not request.strip():
            raise ValidationError("décrivez la demande de l'appelant")
        result = await self.intake.receive(InboundMessage(
            channel=Channel.PHONE, external_id=f"phone:{uuid.uuid4()}", sender_email=email,
            sender_name=clean_name(caller_name, 120), subject=header_text(subject, 200),
            visible_text=request.strip()[:MAX_TEXT], organization=_org(org_name, org_kind, pays),
            force_new=True, meta={"taken_by_staff_id": staff_id},
        ))
        if note.strip() and result.ticket_number is not None:
            await self.tickets.add_note(result.ticket_number, staff_id, note.strip()[:MAX_TEXT])
        return result

    async def public_form(
        self, *, client: str, email: str, name: str, org_name: str, subject: str, text: str
    ) -> IntakeResult:
        """The public FAQ's "ask us" form, rate limited per address and per client.

        Anyone can type any address here: the name and organisation given only fill what is not known
        yet about that address (intake never overwrites a contact's name or organisation), cleaned of
        control characters."""
        address = _email(email, required=True)
        assert address is not None
        if not text.strip():
            raise ValidationError("décrivez votre question")
        await self.limits.check("faq-form-address", address, limit=FORM_MAX_PER_ADDRESS, window=FORM_WINDOW)
        await self.limits.check("faq-form-client", client, limit=FORM_MAX_PER_CLIENT, window=FORM_WINDOW)
        await self.limits.hit("faq-form-address", address)
        await self.limits.hit("faq-form-client", client)
        return await self.intake.receive(InboundMessage(
            channel=Channel.WEB, external_id=f"web:{uuid.uuid4()}", sender_email=address,
            sender_name=clean_name(name, 120), subject=header_text(subject, 200),
            visible_text=text.strip()[:MAX_TEXT], organization=_org(org_name, "other", ""), force_new=True,
        ))


__all__ = ["Throttled", "WebRequests"]
