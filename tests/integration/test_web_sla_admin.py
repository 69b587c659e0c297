"""The SLA admin page: admins edit targets, closures and routing rules; agents cannot."""

from __future__ import annotations

from helpdesk.app.intake.routing import RoutingRules
from helpdesk.app.sla.admin import SlaAdmin
from helpdesk.db.engine import Database
from helpdesk.db.tables import Team
from helpdesk.ports import FixedClock
from helpdesk.services import Services
from tests.support.web import add_staff, login, web_client


async def test_admin_edits_sla_and_routing_and_agents_are_refused(
        db: Database, clock: FixedClock, services: Services,
) -> None:
    try:
        await add_staff(services)
        async with db.transaction() as s:
            s.add(Team(name="Cantal"))
        async with web_client(services) as client:
            csrf = await login(client, "agent@craig.fr")
            assert (await client.get("/admin/sla")).status == 403
            refused = await client.post("/admin/sla/closures", data={"csrf_token": csrf, "start": "2026-12-24",
                                                                     "end": "2026-12-31"}, allow_redirects=False)
            assert refused.status == 403
        async with web_client(services) as client:
            csrf = await login(client, "admin@craig.fr")
            page = await client.get("/admin/sla")
            html = await page.text()
            assert page.status == 200 and "Politique « standard » (par défaut)" in html and "7,5 h ouvrées" in html

            async def post(path: str, **data: str) -> str:
                resp = await client.post(path, data={"csrf_token": csrf, **data}, allow_redirects=False)
                assert resp.status == 303, await resp.text()
                return resp.headers["Location"]

            await post("/admin/sla/target", policy="standard", priority="urgent", first_response="30",
                       resolution="240")
            await post("/admin/sla/target", policy="standard", priority="low", kind="epci", first_response="900",
                       resolution="")
            await post("/admin/sla/closures", start="2026-12-24", end="2026-12-31", label="Fin d'année")
            await post("/admin/sla/closures", start="2026-12-31", end="2026-12-24")  # refused, page shows why
            assert "Valeurs refusées" in await (await client.get("/admin/sla")).text()
            await post("/admin/sla/rules", name="Cantal", pays="Pays de Mauriac, Pays de Salers", team="Cantal",
                       priority="high", tags="cantal", assign="round_robin")
            missing = await client.post("/admin/sla/rules", data={"csrf_token": csrf, "name": "x",
                                                                  "team": "Inconnue"}, allow_redirects=False)
            assert missing.status == 303
            no_csrf = await client.post("/admin/sla/rules", data={"name": "y"}, allow_redirects=False)
            assert no_csrf.status in (400, 403)
            admin = SlaAdmin(db, clock)
            policy = (await admin.policies())[0]
            assert policy.targets["urgent"] == {"first_response": 30, "resolution": 240}
            assert policy.overrides == {"epci": {"low": {"first_response": 900, "resolution": None}}}
            closures = await admin.closures()
            assert [(c.starts_on.isoformat(), c.label) for c in closures] == [("2026-12-24", "Fin d'année")]
            rules = list(await RoutingRules(db, clock).list())
            assert [(r.name, r.pays, r.tags) for r in rules] == [
                ("Cantal", ["Pays de Mauriac", "Pays de Salers"], ["cantal"])]
            html = await (await client.get("/admin/sla")).text()
            assert "Fin d&#39;année" in html and "Pays de Mauriac, Pays de Salers" in html
            await post(f"/admin/sla/closures/{closures[0].id}/remove")
            await post(f"/admin/sla/rules/{rules[0].id}/remove")
            assert await admin.closures() == [] and list(await RoutingRules(db, clock).list()) == []
    finally:
        await services.db.dispose()

