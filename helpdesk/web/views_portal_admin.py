"""Staff side of the portal: which organisations let their agents see each other's requests (admins only)."""

from __future__ import annotations

from aiohttp import web

from helpdesk.domain.errors import NotFound
from helpdesk.domain.ids import parse_id
from helpdesk.web.auth import redirect, require_admin
from helpdesk.web.context import ctx
from helpdesk.web.render import render


async def organisations(request: web.Request) -> web.StreamResponse:
    require_admin(request)
    q = request.query.get("q", "").strip()[:100]
    rows = await ctx(request).org_sharing.organizations(q)
    return render("portal_orgs_admin.html", request, {"orgs": rows, "q": q})


async def set_sharing(request: web.Request) -> web.StreamResponse:
    who = require_admin(request)
    org_id = parse_id(request.match_info["id"])
    if org_id is None:
        raise NotFound("organisation introuvable")
    form = await request.post()
    shared = str(form.get("partage", "")) == "oui"
    name = await ctx(request).org_sharing.set_shared(org_id, shared, staff_id=who.id)
    message = (f"« {name} » : ses agents voient désormais les demandes de leurs collègues dans l'espace demandeur."
               if shared else f"« {name} » : chacun ne voit plus que ses propres demandes.")
    raise redirect(request, "/admin/organisations", message)


def routes() -> list[web.RouteDef]:
    return [web.get("/admin/organisations", organisations),
            web.post("/admin/organisations/{id:\\d+}/espace", set_sharing)]
