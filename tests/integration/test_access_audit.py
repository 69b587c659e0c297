"""Staff reading a ticket (web page or API) is in the audit log, once per half hour and person."""

from __future__ import annotations

from helpdesk.ports import FixedClock
from helpdesk.services import Services
from tests.support.web import add_staff, login, mail, web_client


async def test_ticket_reads_are_audited(clock: FixedClock, services: Services) -> None:
    _, agent = await add_staff(services)
    res = await services.intake.receive(mail("<audit@x>"))
    n = res.ticket_number
    assert n is not None
    async with web_client(services) as client:
        await login(client, "agent@craig.fr")
        assert (await client.get(f"/tickets/{n}")).status == 200
        assert (await client.get(f"/tickets/{n}")).status == 200
        clock.advance(minutes=31)
        assert (await client.get(f"/tickets/{n}")).status == 200
    await services.tickets.get_json(n, viewer_id=agent)  # within the half hour: not logged again
    clock.advance(minutes=31)
    await services.tickets.get_json(n, viewer_id=agent)
    views = [e for e in await services.tickets.events(n) if e["kind"] == "ticket.viewed"]
    assert [(v["actor_id"], v["data"]["via"]) for v in views] == [(agent, "web"), (agent, "web"), (agent, "api")]
