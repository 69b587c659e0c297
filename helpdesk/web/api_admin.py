"""Accounts and teams for the JSON API, administrators only: the use cases of /admin/staff, same rules
(an admin cannot demote or deactivate themselves, the last active admin stays one) and same audit."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from aiohttp import web
from pydantic import Field

from helpdesk.app.staff.accounts import generate_password
from helpdesk.domain.errors import ErrorCode, NotFound
from helpdesk.domain.values import StaffRole
from helpdesk.web.api_common import ROW_ID_MAX, api_admin, json_response, path_id
from helpdesk.web.context import ctx
from helpdesk.web.validation import ApiBody, CleanStr, json_body

Name = Annotated[CleanStr, Field(max_length=120)]
RowId = Annotated[int, Field(ge=1, le=ROW_ID_MAX)]


class NewStaffBody(ApiBody):
    """Un compte : sans mot de passe, un mot de passe est généré et rendu une seule fois."""

    email: Annotated[CleanStr, Field(min_length=3, max_length=254)]
    name: Name = ""
    role: StaffRole = StaffRole.AGENT
    password: Annotated[CleanStr, Field(max_length=1000)] | None = None


class StaffChangesBody(ApiBody):
    """Seuls les champs envoyés changent."""

    role: StaffRole | None = None
    active: bool | None = None
    available: bool | None = None
    name: Name | None = None


class TeamBody(ApiBody):
    """Une équipe : son nom."""

    name: Annotated[CleanStr, Field(max_length=200)]


class TeamChangesBody(ApiBody):
    """Nom et membres (la liste complète des identifiants des membres) ; seuls les champs envoyés changent."""

    name: Annotated[CleanStr, Field(max_length=200)] | None = None
    members: Annotated[list[RowId], Field(max_length=500)] | None = None


async def list_staff(request: web.Request) -> web.Response:
    api_admin(request)
    return json_response({"items": [asdict(row) for row in await ctx(request).staff_admin.staff()]})


async def create_staff(request: web.Request) -> web.Response:
    api_admin(request)
    body = await json_body(request, NewStaffBody)
    password = body.password or generate_password()
    new_id = await ctx(request).users.add(body.email, body.role, password, name=body.name)
    return json_response({"id": new_id, "email": body.email.strip().lower(), "role": body.role.value,
                          "password": None if body.password else password}, status=201)


async def update_staff(request: web.Request) -> web.Response:
    me = api_admin(request)
    staff_id = path_id(request, "id", "compte introuvable")
    body = await json_body(request, StaffChangesBody)
    changes = await ctx(request).staff_admin.update(staff_id, me.id, role=body.role, active=body.active,
                                                     available=body.available, name=body.name)
    return json_response({"id": staff_id, "changes": changes})


async def list_teams(request: web.Request) -> web.Response:
    api_admin(request)
    return json_response({"items": [asdict(row) for row in await ctx(request).staff_admin.teams()]})


async def create_team(request: web.Request) -> web.Response:
    me = api_admin(request)
    body = await json_body(request, TeamBody)
    team_id = await ctx(request).staff_admin.create_team(body.name, me.id)
    return json_response({"id": team_id}, status=201)


async def update_team(request: web.Request) -> web.Response:
    me = api_admin(request)
    team_id = path_id(request, "id", "équipe introuvable")
    body = await json_body(request, TeamChangesBody)
    admin = ctx(request).staff_admin
    if body.name is not None:
        await admin.rename_team(team_id, body.name, me.id)
    if body.members is not None:
        await admin.set_members(team_id, set(body.members), me.id)
    team = next((t for t in await admin.teams() if t.id == team_id), None)
    if team is None:  # an empty body changes nothing, but an unknown team is still a 404
        raise NotFound(f"team {team_id} not found", code=ErrorCode.TEAM_NOT_FOUND, id=team_id)
    return json_response(asdict(team))
