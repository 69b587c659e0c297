"""What every JSON API handler shares: the answer's shape, path identifiers, the admin rule."""

from __future__ import annotations

import json
from dataclasses import asdict, is_dataclass
from typing import Any

from aiohttp import web

from helpdesk.app.staff.sessions import StaffIdentity
from helpdesk.domain.errors import NotFound
from helpdesk.domain.ids import parse_id
from helpdesk.web.auth import staff

ADMIN_ONLY_FR = "action réservée aux administrateurs"
ROW_ID_MAX = 2**31 - 1  # rows are numbered by 32-bit integer columns on PostgreSQL: a bigger id names nothing


def _jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):  # the use cases' read models
        return asdict(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda d: json.dumps(d, default=_jsonable,
                                                                              ensure_ascii=False))


def path_id(request: web.Request, name: str, not_found: str) -> int:
    """A path identifier (routes match digits only; the validation middleware answers 404 beyond the range)."""
    value = parse_id(request.match_info[name])
    if value is None or value > ROW_ID_MAX:
        raise NotFound(not_found)
    return value


def ticket_number(request: web.Request) -> int:
    return path_id(request, "number", "ticket introuvable")


def api_admin(request: web.Request) -> StaffIdentity:
    """The caller, when an administrator; otherwise a 403 in the API's one shape (as the UI's require_admin)."""
    who = staff(request)
    if not who.is_admin:
        raise web.HTTPForbidden(text=json.dumps({"error": ADMIN_ONLY_FR}, ensure_ascii=False),
                                content_type="application/json")
    return who
