"""The staff admin page: accounts (create, deactivate, roles, availability) and teams, admin only, audited."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from helpdesk.app.staff.admin import STAFF_CHANGED, TEAM_CREATED, TEAM_MEMBERS, TEAM_RENAMED, StaffAdmin
from helpdesk.db.engine import Database
from helpdesk.db.tables import Event
from helpdesk.domain.errors import ValidationError
from helpdesk.domain.values import StaffRole
from helpdesk.ports import FixedClock
from tests.support.web import add_staff, another_client, csrf_of, login, services_for, web_client


async def _login_status(client: TestClient[Any, Any], email: str, password: str) -> int:
    token = csrf_of(await (await client.get("/login")).text())
    resp = await client.post("/login", data={"email": email, "password": password, "csrf_token": token,
                                             "next": "/queue"}, allow_redirects=False)
    return resp.status


async def test_agents_are_refused_and_csrf_is_required(db: Database, clock: FixedClock) -> None:
    services = services_for(db.url, clock)
    try:
        await add_staff(services)
        async with web_client(services) as client:
            csrf = await login(client, "agent@craig.fr")
            assert (await client.get("/admin/staff")).status == 403
            refused = await client.post("/admin/teams", data={"csrf_token": csrf, "name": "Cantal"},
                                        allow_redirects=False)
            assert refused.status == 403
            assert "/admin/staff" not in await (await client.get("/queue")).text()  # not in the agent's menu
        async with web_client(services) as client:
            await login(client, "admin@craig.fr")
            no_csrf = await client.post("/admin/teams", data={"name": "Cantal"}, allow_redirects=False)
            assert no_csrf.status in (400, 403)
        assert await StaffAdmin(db, clock).teams() == []
    finally:
        await services.db.dispose()


async def test_admin_manages_accounts_and_teams(db: Database, clock: FixedClock) -> None:
    services = services_for(db.url, clock)
    try:
        admin_id, agent_id = await add_staff(services)
        async with web_client(services) as client:
            csrf = await login(client, "admin@craig.fr")

            async def post(path: str, **data: str) -> str:
                resp = await client.post(path, data={"csrf_token": csrf, **data}, allow_redirects=False)
                assert resp.status == 303, await resp.text()
                return resp.headers["Location"]

            # create with a generated password, shown once on the answer; it works at once
            created = await client.post("/admin/staff", data={"csrf_token": csrf, "email": "Claire@CRAIG.fr",
                                                              "name": "Claire Carto", "role": "agent"})
            html = await created.text()
            assert created.status == 200 and "Compte créé pour <strong>claire@craig.fr</strong>" in html
            match = re.search(r'<code class="secret">([^<]+)</code>', html)
            assert match
            password = match.group(1)
            async with another_client(client) as other:
                assert await _login_status(other, "claire@craig.fr", password) == 303
            again = await client.post("/admin/staff", data={"csrf_token": csrf, "email": "claire@craig.fr",
                                                            "password": "un-autre-mot-de-passe"})
            assert again.status == 400 and "un compte existe déjà pour claire@craig.fr" in await again.text()
            short = await client.post("/admin/staff", data={"csrf_token": csrf, "email": "d@craig.fr",
                                                            "password": "court"})
            assert short.status == 400 and "au moins 12 caractères" in await short.text()

            people = {p.email: p for p in await StaffAdmin(db, clock).staff()}
            claire = people["claire@craig.fr"].id
            # deactivate: she can no longer sign in; reactivate: she can
            await post(f"/admin/staff/{claire}", action="deactivate")
            async with another_client(client) as other:
                assert await _login_status(other, "claire@craig.fr", password) != 303
            await post(f"/admin/staff/{claire}", action="activate")
            async with another_client(client) as other:
                assert await _login_status(other, "claire@craig.fr", password) == 303
            # roles, availability, name
            await post(f"/admin/staff/{agent_id}", action="role", role="admin")
            await post(f"/admin/staff/{agent_id}", action="unavailable")
            await post(f"/admin/staff/{agent_id}", action="rename", name="Bruno Géomaticien")
            # an admin cannot lock themselves out
            myself = await client.post(f"/admin/staff/{admin_id}", data={"csrf_token": csrf, "action": "deactivate"})
            assert myself.status == 400 and "votre propre compte" in await myself.text()
            unknown = await client.post(f"/admin/staff/{admin_id}", data={"csrf_token": csrf, "action": "nope"})
            assert unknown.status == 400

            # teams: create, refuse a duplicate, rename, set members
            await post("/admin/teams", name="  Cantal  ")
            dup = await client.post("/admin/teams", data={"csrf_token": csrf, "name": "cantal"})
            assert dup.status == 400 and "une équipe « cantal » existe déjà" in await dup.text()
            team = (await StaffAdmin(db, clock).teams())[0]
            await post(f"/admin/teams/{team.id}", name="Cantal et Haute-Loire", members_shown="1",
                       member=str(claire))
            resp = await client.post(f"/admin/teams/{team.id}", data=[
                ("csrf_token", csrf), ("name", "Cantal et Haute-Loire"), ("members_shown", "1"),
                ("member", str(claire)), ("member", str(agent_id))], allow_redirects=False)
            assert resp.status == 303
            page = await (await client.get("/admin/staff")).text()
            assert "Cantal et Haute-Loire" in page and "Bruno Géomaticien (absent)" in page

        admin = StaffAdmin(db, clock)
        people = {p.email: p for p in await admin.staff()}
        assert people["agent@craig.fr"].role == "admin" and not people["agent@craig.fr"].available
        assert people["claire@craig.fr"].is_active and people["claire@craig.fr"].teams == ("Cantal et Haute-Loire",)
        assert [(t.name, t.members) for t in await admin.teams()] == [
            ("Cantal et Haute-Loire", tuple(sorted((claire, agent_id))))]
        async with db.transaction() as s:
            events = (await s.scalars(select(Event).where(Event.ticket_id.is_(None)).order_by(Event.id))).all()
        audited = [(e.kind, e.actor_id) for e in events if e.kind.startswith(("staff.", "team."))]
        assert audited == [(STAFF_CHANGED, admin_id)] * 5 + [(TEAM_CREATED, admin_id), (TEAM_RENAMED, admin_id),
                                                             (TEAM_MEMBERS, admin_id), (TEAM_MEMBERS, admin_id)]
        assert events[0].data["changes"] == {"is_active": [True, False]}
    finally:
        await services.db.dispose()


async def test_the_last_active_administrator_stays_one(db: Database, clock: FixedClock) -> None:
    services = services_for(db.url, clock)
    try:
        admin_id, agent_id = await add_staff(services)
        admin = StaffAdmin(db, clock)
        await admin.update(agent_id, agent_id, role=None, available=False)  # an agent's own availability: fine
        await admin.update(agent_id, admin_id, role=StaffRole.ADMIN)
        await admin.update(admin_id, agent_id, active=False)  # another admin remains
        with pytest.raises(ValidationError, match="last active administrator"):
            await admin.update(agent_id, admin_id, role=StaffRole.AGENT)
        with pytest.raises(ValidationError, match="last active administrator"):
            await admin.update(agent_id, admin_id, active=False)
    finally:
        await services.db.dispose()
