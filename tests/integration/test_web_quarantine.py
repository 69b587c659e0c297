"""The quarantine page's « Retraiter » button runs a held mail through the email channel again."""

from __future__ import annotations

from sqlalchemy import select

from helpdesk.app.quarantine.service import QuarantineService
from helpdesk.db.engine import Database
from helpdesk.db.tables import Quarantine, Ticket
from helpdesk.ports import FixedClock
from helpdesk.services import Services
from tests.support.web import add_staff, login, web_client

GOOD_MAIL = (
    b"From: Sylvie <sylvie@mairie-murat.fr>\r\nTo: assistance@craig.fr\r\nSubject: Budget en CSV\r\n"
    b"Message-ID: <held-1@murat.fr>\r\n\r\nBonjour, comment publier notre budget ?\r\n"
)


async def test_reprocess_turns_a_held_mail_into_a_ticket(db: Database, clock: FixedClock, services: Services) -> None:
    await add_staff(services)
    qid = await QuarantineService(db, clock).hold(channel="email", raw=GOOD_MAIL, reason="parser bug (fixed since)",
                                                  sender="sylvie@mairie-murat.fr")
    async with web_client(services) as agent:
        token = await login(agent, "agent@craig.fr")
        page = await (await agent.get("/quarantine")).text()
        assert f"/quarantine/{qid}/reprocess" in page and "Retraiter" in page
        refused = await agent.post(f"/quarantine/{qid}/reprocess", data={}, allow_redirects=False)
        assert refused.status == 403  # no CSRF token
        resp = await agent.post(f"/quarantine/{qid}/reprocess", data={"csrf_token": token}, allow_redirects=False)
        assert resp.status == 303 and resp.headers["Location"].startswith("/tickets/")
    async with db.transaction() as s:
        assert (await s.get(Quarantine, qid)).status == "reprocessed"
        ticket = (await s.scalars(select(Ticket))).one()
        assert ticket.subject == "Budget en CSV"
        assert resp.headers["Location"] == f"/tickets/{ticket.number}"
