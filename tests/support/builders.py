"""The one builder of inbound messages the tests hand to intake; each test file only states what differs."""

from __future__ import annotations

from typing import Any

from helpdesk.app.intake.messages import InboundMessage
from helpdesk.domain.values import Channel


def inbound(ext: str, *, sender: str = "sylvie@mairie-murat.fr", sender_name: str | None = "Sylvie Martin",
            subject: str = "Publication du budget",
            text: str = "Bonjour, comment publier notre budget en open data ?", **fields: Any) -> InboundMessage:
    """An email from a requester, stored raw as ``raw <ext>``; any InboundMessage field can be given."""
    base: dict[str, Any] = {
        "channel": Channel.EMAIL, "external_id": ext, "sender_email": sender, "sender_name": sender_name,
        "subject": subject, "visible_text": text, "raw": f"raw {ext}".encode(),
    }
    base.update(fields)
    return InboundMessage(**base)
