"""Replies that fail are visible where staff work, can be sent again, and count for the SLA only once sent."""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping
from typing import Any

import pytest
from sqlalchemy import select

from helpdesk.app.outbox import SendError
from helpdesk.bootstrap import build
from helpdesk.config import Settings
from helpdesk.db.engine import Database
from helpdesk.db.tables import Event, Outbox, Ticket
from helpdesk.domain.events import EventKind
from helpdesk.ports import FixedClock
from helpdesk.services import Services
from tests.support.web import add_staff, csrf_of, login, mail, web_client


class Relay:
    """A relay that refuses the recipient until told otherwise."""

    def __init__(self) -> None:
        self.refuse = True
        self.sent: list[dict[str, Any]] = []

    async def send(self, payload: Mapping[str, Any]) -> None:
        if self.refuse:
            raise SendError("recipient refused: 550 5.1.1 <sylvie@mairie-murat.fr>: Recipient address rejected",
                            permanent=True)
        self.sent.append(dict(payload))


async def _first_response(db: Database, number: int) -> Any:
    async with db.transaction() as s:
        return (await s.scalars(select(Ticket.first_response_at).where(Ticket.number == number))).one()


async def test_failed_reply_shows_its_reason_and_can_be_sent_again(
    db: Database, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    relay = Relay()
    services = build(Settings(database_url=db.url, public_url="http://127.0.0.1", smtp_enabled=False),
                     clock=clock, senders={"email": relay})
    await add_staff(services)
    n = (await services.intake.receive(mail("<o1@x>"))).ticket_number
    assert n is not None
    async with web_client(services) as client:
        csrf = await login(client, "agent@craig.fr")
        queue = await (await client.get("/queue")).text()
        assert "Aucun relais SMTP" not in queue  # a relay is configured here
        resp = await client.post(f"/tickets/{n}/reply", data={"csrf_token": csrf, "text": "Voici la marche à suivre.",
                                                              "confirm": "1"})
        assert resp.status == 200
        assert await _first_response(db, n) is None  # queued is not answered
        with caplog.at_level(logging.INFO, logger="helpdesk.app.outbox"):
            assert await services.outbox.run_once() == 1
        failure = [r for r in caplog.records if "failed" in r.getMessage()]
        assert len(failure) == 1 and f"ticket #{n}" in failure[0].getMessage()
        assert "sylvie@" not in failure[0].getMessage()  # the address is redacted in logs
        page = html.unescape(await (await client.get(f"/tickets/{n}")).text())
        assert "Échec de l'envoi" in page and "a refusé l'adresse du destinataire" in page and "550 5.1.1" in page
        assert "Renvoyer" in page and "réponse non partie" in page
        assert await _first_response(db, n) is None
        msg_id = int(page.split("/messages/")[1].split("/resend")[0]) if "/resend" in page else 0
        assert msg_id
        # Without the CSRF token the button does nothing.
        assert (await client.post(f"/tickets/{n}/messages/{msg_id}/resend", allow_redirects=False)).status == 403
        relay.refuse = False
        resp = await client.post(f"/tickets/{n}/messages/{msg_id}/resend", data={"csrf_token": csrf_of(page)},
                                 allow_redirects=False)
        assert resp.status == 303
        async with db.transaction() as s:
            row = (await s.scalars(select(Outbox).where(Outbox.message_id == msg_id))).one()
            assert (row.status, row.attempts, row.last_error) == ("pending", 0, None)
            resent = (await s.scalars(select(Event).where(Event.kind == EventKind.REPLY_RESENT.value))).one()
            assert resent.actor_kind == "staff" and "550" in resent.data["previous_error"]
        clock.advance(minutes=5)
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="helpdesk.app.outbox"):
            assert await services.outbox.run_once() == 1
        sent_lines = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
        assert sent_lines == [f"outbox row {row.id} sent via email for ticket #{n} (attempt 1)"]
        assert len(relay.sent) == 1
        assert await _first_response(db, n) == clock.now()  # the first response is the accepted one
        page = html.unescape(await (await client.get(f"/tickets/{n}")).text())
        assert "Échec de l'envoi" not in page and "Renvoyer" not in page
        # A second press on a sent reply is refused, not re-sent.
        again = await client.post(f"/tickets/{n}/messages/{msg_id}/resend", data={"csrf_token": csrf_of(page)})
        assert again.status == 409
    await services.db.dispose()


async def test_no_relay_is_said_in_the_queue_and_readyz(db: Database, clock: FixedClock, services: Services) -> None:
    await add_staff(services)
    async with web_client(services) as client:
        ready = await client.get("/readyz")
        body = await ready.json()
        assert ready.status == 200 and body["status"] == "degraded"
        assert any("relais SMTP" in w for w in body["warnings"])
        await login(client, "agent@craig.fr")
        queue = await (await client.get("/queue")).text()
        assert 'id="delivery-problem"' in queue and "ne partent pas" in queue
    relayed = build(Settings(database_url=db.url, smtp_enabled=False), clock=clock, senders={"email": Relay()})
    async with web_client(relayed) as client:
        body = await (await client.get("/readyz")).json()
        assert body["status"] == "ready" and body["warnings"] == []
    await relayed.db.dispose()
