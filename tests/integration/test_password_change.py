"""Password change on both databases: the policy applies, and every API token of the account is revoked."""

from __future__ import annotations

import re

from helpdesk.services import Services
from tests.support.web import PASSWORD, add_staff, csrf_of, login, web_client


async def test_password_change_revokes_api_tokens(services: Services) -> None:
    await add_staff(services)
    async with web_client(services) as client:
        csrf = await login(client, "agent@craig.fr")
        page = await client.post("/account/tokens", data={"csrf_token": csrf, "name": "script"})
        token = re.search(r'<code id="new-token">([^<]+)</code>', await page.text()).group(1)
        bearer = {"Authorization": f"Bearer {token}"}
        assert (await client.get("/api/v1/stats", headers=bearer)).status == 200
        for weak in ("court", "Password2024!", "aaaaaaaaaaaaaaa"):
            resp = await client.post("/account/password", data={"csrf_token": csrf, "old": PASSWORD, "new": weak,
                                                                 "again": weak})
            assert resp.status == 400
        assert (await client.get("/api/v1/stats", headers=bearer)).status == 200  # refused change: token kept
        new = "Salers-Pluie-Ver7"
        resp = await client.post("/account/password", data={"csrf_token": csrf, "old": PASSWORD, "new": new,
                                                             "again": new})
        assert resp.status == 200 and "jetons d&#39;API révoqués" in await resp.text()
        assert (await client.get("/api/v1/stats", headers=bearer)).status == 401
        account = await (await client.get("/account")).text()
        assert 'id="new-token"' not in account and "/revoke" not in account
        assert csrf_of(account)
