"""Admin pages: FAQ entries (create, edit, publish, retire) and canned responses."""

from __future__ import annotations

from aiohttp import web

from helpdesk.app.faq.admin import STATUSES, KbEntryRow
from helpdesk.domain.errors import ValidationError
from helpdesk.web.auth import redirect, require_admin
from helpdesk.web.context import ctx
from helpdesk.web.render import render

KB_FIELDS = ("title", "questions", "tags", "body", "status")


async def kb_list(request: web.Request) -> web.StreamResponse:
    require_admin(request)
    return render("kb_list.html", request, {"entries": await ctx(request).kb_admin.all(),
                                            "pending_proposals": await ctx(request).proposals.count_pending()})


def _form_values(entry: KbEntryRow) -> dict[str, str]:
    return {"title": entry.title, "questions": "\n".join(entry.questions), "tags": ", ".join(entry.tags),
            "body": entry.body, "status": entry.status}


async def kb_edit(request: web.Request) -> web.StreamResponse:
    require_admin(request)
    entry_id = request.match_info.get("id")
    values = _form_values(await ctx(request).kb_admin.get(entry_id)) if entry_id else \
        {"title": "", "questions": "", "tags": "", "body": "", "status": "published"}
    return render("kb_edit.html", request, {
        "entry_id": entry_id, "values": values, "statuses": STATUSES, "error": None})


async def kb_save(request: web.Request) -> web.StreamResponse:
    require_admin(request)
    c = ctx(request)
    entry_id = request.match_info.get("id")
    form = await request.post()
    values = {k: str(form.get(k, "")) for k in KB_FIELDS}
    try:
        saved = await c.kb_admin.save(entry_id, **values)
    except ValidationError as exc:
        return render("kb_edit.html", request, {
            "entry_id": entry_id, "values": values, "statuses": STATUSES, "error": str(exc)}, status=400)
    c.faq.invalidate()
    raise redirect(request, "/admin/faq", f"Entrée « {saved} » enregistrée ; la recherche en tient compte.")


async def kb_status(request: web.Request) -> web.StreamResponse:
    require_admin(request)
    c = ctx(request)
    form = await request.post()
    await c.kb_admin.set_status(request.match_info["id"], str(form.get("status", "")))
    c.faq.invalidate()
    raise redirect(request, "/admin/faq", "Statut de l'entrée modifié.")


async def canned_list(request: web.Request) -> web.StreamResponse:
    require_admin(request)
    return render("canned.html", request, {"items": await ctx(request).canned.list(include_retired=True)})


async def canned_save(request: web.Request) -> web.StreamResponse:
    require_admin(request)
    form = await request.post()
    raw_id = request.match_info.get("id")
    await ctx(request).canned.save(int(raw_id) if raw_id else None, str(form.get("title", "")),
                                   str(form.get("body", "")), active=form.get("active", "1") == "1")
    raise redirect(request, "/admin/canned", "Réponse type enregistrée.")


def routes() -> list[web.RouteDef]:
    return [
        web.get("/admin/faq", kb_list),
        web.get("/admin/faq/new", kb_edit),
        web.post("/admin/faq/new", kb_save),
        web.get(r"/admin/faq/{id:[a-z0-9-]+}", kb_edit),
        web.post(r"/admin/faq/{id:[a-z0-9-]+}", kb_save),
        web.post(r"/admin/faq/{id:[a-z0-9-]+}/status", kb_status),
        web.get("/admin/canned", canned_list),
        web.post("/admin/canned", canned_save),
        web.post(r"/admin/canned/{id:\d+}", canned_save),
    ]
