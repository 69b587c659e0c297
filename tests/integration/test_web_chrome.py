"""What every page carries: the favicon, the admin menu, clickable addresses in a ticket's messages."""

from __future__ import annotations

from helpdesk.services import Services
from tests.support.web import add_staff, login, mail, web_client


async def test_favicon_menu_and_clickable_addresses(services: Services) -> None:
    try:
        await add_staff(services)
        res = await services.intake.receive(mail("<u1@x>", text="Le fichier est sur https://data.mairie-murat.fr/budget.csv."))
        async with web_client(services) as client:
            icon = await client.get("/favicon.ico")  # anonymous, as browsers ask for it
            body = await icon.read()
            assert icon.status == 200 and icon.content_type == "image/x-icon" and body[:4] == b"\x00\x00\x01\x00"
            faq = await (await client.get("/faq")).text()
            assert 'rel="icon"' in faq and "Administration" not in faq
            await login(client, "agent@craig.fr")
            page = await (await client.get(f"/tickets/{res.ticket_number}")).text()
            assert ('<a href="https://data.mairie-murat.fr/budget.csv" rel="noopener noreferrer" target="_blank">'
                    'https://data.mairie-murat.fr/budget.csv</a>.') in page
            assert "Administration" not in page  # agents have no admin menu
        async with web_client(services) as client:
            await login(client, "admin@craig.fr")
            queue = await (await client.get("/queue")).text()
            assert "<summary>Administration</summary>" in queue and 'href="/admin/staff"' in queue
    finally:
        await services.db.dispose()
