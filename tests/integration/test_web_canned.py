"""Canned responses: admins write and retire them; staff see the active ones on the ticket page."""

from __future__ import annotations

from helpdesk.services import Services
from tests.support.web import add_staff, login, mail, web_client


async def test_admin_writes_and_retires_canned_responses_staff_insert_the_active_ones(services: Services) -> None:
    await add_staff(services)
    res = await services.intake.receive(mail("<canned@x>"))
    assert res.ticket_number is not None
    async with web_client(services) as client:
        token = await login(client, "admin@craig.fr")
        made = await client.post("/admin/canned", data={"csrf_token": token, "title": "Format SCDL",
                                                        "body": "Le schéma SCDL se trouve sur schema.data.gouv.fr."},
                                 allow_redirects=False)
        assert made.status == 303
        [canned] = await services.canned.list()
        assert (canned.title, canned.active) == ("Format SCDL", True)
        listing = await (await client.get("/admin/canned")).text()
        assert f'action="/admin/canned/{canned.id}"' in listing and 'value="Format SCDL"' in listing
        page = await (await client.get(f"/tickets/{res.ticket_number}")).text()
        assert f'<template id="canned-{canned.id}">Le schéma SCDL se trouve sur schema.data.gouv.fr.</template>' in page
        retired = await client.post(f"/admin/canned/{canned.id}", data={
            "csrf_token": token, "title": "Format SCDL", "body": "Texte revu.", "active": "0"}, allow_redirects=False)
        assert retired.status == 303
        assert await services.canned.list() == []
        [kept] = await services.canned.list(include_retired=True)
        assert (kept.body, kept.active) == ("Texte revu.", False)
        page = await (await client.get(f"/tickets/{res.ticket_number}")).text()
        assert f'id="canned-{canned.id}"' not in page
