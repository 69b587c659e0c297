"""What channels hand to the core, and what the core answers. Plain data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from helpdesk.domain.values import Channel, IntakeAction, OrgKind


@dataclass(frozen=True, slots=True)
class InboundAttachment:
    filename: str
    content_type: str
    data: bytes
    inline: bool = False
    content_id: str | None = None


@dataclass(frozen=True, slots=True)
class OrganizationHint:
    name: str
    kind: OrgKind = OrgKind.OTHER
    insee_code: str | None = None
    siren: str | None = None
    departement: str | None = None
    pays: str | None = None


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One message from a requester, already parsed by its channel.

    ``external_id`` makes intake idempotent per channel (email Message-ID, Telegram update id).
    Threading hints are resolved by the core: ``in_reply_to`` and ``references`` are message ids,
    ``subject`` may carry a ``[#N]`` tag, ``ticket_number`` is a thread the channel already knows.
    """

    channel: Channel
    external_id: str | None
    sender_email: str | None = None
    sender_name: str | None = None
    telegram_chat_id: int | None = None
    subject: str = ""
    visible_text: str = ""
    full_text: str = ""
    html_sanitised: str | None = None
    attachments: tuple[InboundAttachment, ...] = ()
    raw: bytes | None = None
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    ticket_number: int | None = None
    force_new: bool = False
    automatic: bool = False
    automatic_reason: str | None = None
    organization: OrganizationHint | None = None
    received_at: datetime | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IntakeResult:
    action: IntakeAction
    ticket_number: int | None
    reason: str
    ticket_public_ref: str | None = None
    message_id: int | None = None
    follow_up_of: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {"action": self.action.value, "ticket": self.ticket_number, "reason": self.reason}
