"""The FAQ learning from use: proposed wordings for admins, and « Ce que la FAQ ne couvre pas encore »."""

from __future__ import annotations

from aiohttp import web

from helpdesk.app.faq.gaps import PERIODS, clamp_days, draft_fields
from helpdesk.web.auth import redirect, require_admin, staff
from helpdesk.web.context import ctx
from helpdesk.web.render import render


async def proposals_page(request: web.Request) -> web.StreamResponse:
    require_admin(request)
    return render("faq_proposals.html", request, {"proposals": await ctx(request).proposals.pending()})


async def decide(request: web.Request) -> web.StreamResponse:
    """One click accepts (indexed at once, off the event loop) or rejects a proposal; both are audited."""
    me = require_admin(request)
    c = ctx(request)
    accept = request.match_info["action"] == "accept"
    done = await c.proposals.decide(int(request.match_info["id"]), accept=accept, staff_id=me.id)
    if not accept:
        raise redirect(request, "/admin/faq-proposals", "Proposition rejetée.")
    await c.faq.add_wordings([(done.entry_id, done.wording)])
    raise redirect(request, "/admin/faq-proposals",
                   f"Formulation acceptée pour « {done.entry_id} » : la recherche en tient compte dès maintenant.")


async def gaps_page(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    days = clamp_days(request.query.get("days"))
    groups = await c.gaps.report(c.faq, days)
    return render("faq_gaps.html", request, {
        "groups": groups, "days": days, "periods": PERIODS, "total": sum(g.count for g in groups)})


async def gaps_draft(request: web.Request) -> web.StreamResponse:
    """A draft FAQ entry prefilled with a group's questions (the group is computed again here)."""
    me, c = staff(request), ctx(request)
    form = await request.post()
    days = clamp_days(str(form.get("days", "")))
    key = str(form.get("theme", ""))
    chosen = next((g for g in await c.gaps.report(c.faq, days) if g.key == key), None)
    if chosen is None:
        raise redirect(request, f"/faq-gaps?days={days}", "Ce groupe n'a plus de questions sur la période.")
    entry_id = await c.kb_admin.save(None, **draft_fields(chosen))
    c.faq.invalidate()
    if me.is_admin:
        raise redirect(request, f"/admin/faq/{entry_id}",
                       "Brouillon créé avec les questions du groupe : rédigez la réponse puis publiez.")
    raise redirect(request, f"/faq-gaps?days={days}",
                   f"Brouillon d'entrée « {entry_id} » créé : un administrateur le rédigera et le publiera.")


def routes() -> list[web.RouteDef]:
    return [
        web.get("/admin/faq-proposals", proposals_page),
        web.post(r"/admin/faq-proposals/{id:\d{1,9}}/{action:accept|reject}", decide),
        web.get("/faq-gaps", gaps_page),
        web.post("/faq-gaps/draft", gaps_draft),
    ]
