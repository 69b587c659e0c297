"""Admin pages for staff accounts and teams (the same use cases as ``helpdesk user add``).

Admin only; CSRF is checked by the authentication middleware on every POST; each change is audited by
``StaffAdmin``. A generated password is shown once, on the page that answers the creation (never in a
cookie or a URL).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from helpdesk.app.staff.accounts import MIN_PASSWORD, generate_password
from helpdesk.app.staff.admin import StaffAdmin
from helpdesk.domain.errors import UserError
from helpdesk.domain.messages_fr import user_message_fr
from helpdesk.domain.values import StaffRole
from helpdesk.web.auth import redirect, require_admin
from helpdesk.web.context import ctx
from helpdesk.web.render import render

ROLES = {"agent": "Agent", "admin": "Administrateur"}


def _admin(request: web.Request) -> StaffAdmin:
    return ctx(request).staff_admin


def _id(request: web.Request) -> int:
    return int(request.match_info["id"])


async def _page(request: web.Request, *, status: int = 200, **extra: Any) -> web.Response:
    admin = _admin(request)
    staff = await admin.staff()
    context = {"people": staff, "teams": await admin.teams(), "roles": ROLES, "error": None, "created": None,
               "values": {}, "names": {p.id: p.name for p in staff}, "min_password": MIN_PASSWORD, **extra}
    return render("staff_admin.html", request, context, status=status)


async def staff_page(request: web.Request) -> web.StreamResponse:
    require_admin(request)
    return await _page(request)


async def staff_create(request: web.Request) -> web.StreamResponse:
    require_admin(request)
    form = await request.post()
    values = {k: str(form.get(k, "")).strip() for k in ("email", "name", "role", "password")}
    role = StaffRole.ADMIN if values["role"] == "admin" else StaffRole.AGENT
    password = values["password"] or generate_password()
    try:
        await ctx(request).users.add(values["email"], role, password, name=values["name"])
    except UserError as exc:
        values["password"] = ""
        return await _page(request, status=400, error=user_message_fr(exc), values=values)
    generated = password if not values["password"] else None
    return await _page(request, created={"email": values["email"].lower(), "password": generated})


async def staff_update(request: web.Request) -> web.StreamResponse:
    me = require_admin(request)
    form = await request.post()
    action = str(form.get("action", ""))
    choices: dict[str, dict[str, Any]] = {
        "activate": {"active": True}, "deactivate": {"active": False},
        "available": {"available": True}, "unavailable": {"available": False},
        "role": {"role": StaffRole.ADMIN if form.get("role") == "admin" else StaffRole.AGENT},
        "rename": {"name": str(form.get("name", ""))},
    }
    changes = choices.get(action, {})
    if not changes:
        raise web.HTTPBadRequest(text="Action inconnue.")
    try:
        done = await _admin(request).update(_id(request), me.id, **changes)
    except UserError as exc:
        return await _page(request, status=400, error=user_message_fr(exc))
    raise redirect(request, "/admin/staff", "Compte modifié." if done else "Rien à changer.")


async def team_create(request: web.Request) -> web.StreamResponse:
    me = require_admin(request)
    form = await request.post()
    try:
        await _admin(request).create_team(str(form.get("name", "")), me.id)
    except UserError as exc:
        return await _page(request, status=400, error=user_message_fr(exc))
    raise redirect(request, "/admin/staff", "Équipe créée.")


async def team_update(request: web.Request) -> web.StreamResponse:
    me = require_admin(request)
    form = await request.post()
    admin = _admin(request)
    try:
        if "name" in form:
            await admin.rename_team(_id(request), str(form["name"]), me.id)
        if form.get("members_shown"):  # the member checkboxes were on the form: the unchecked ones leave
            members = {int(str(v)) for v in form.getall("member", []) if str(v).isdigit()}
            await admin.set_members(_id(request), members, me.id)
    except UserError as exc:
        return await _page(request, status=400, error=user_message_fr(exc))
    raise redirect(request, "/admin/staff", "Équipe enregistrée.")


def routes() -> list[web.RouteDef]:
    return [
        web.get("/admin/staff", staff_page),
        web.post("/admin/staff", staff_create),
        web.post("/admin/staff/{id:\\d+}", staff_update),
        web.post("/admin/teams", team_create),
        web.post("/admin/teams/{id:\\d+}", team_update),
    ]
