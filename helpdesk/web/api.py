"""The JSON API /api/v1: tickets, FAQ search, stats, with per-user bearer tokens.

Routes and their OpenAPI description come from one list (API), so the document cannot drift.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from helpdesk.app.tickets.service import KEEP, TicketChanges
from helpdesk.domain.errors import ValidationError
from helpdesk.domain.values import Priority, TicketStatus
from helpdesk.web.auth import staff
from helpdesk.web.context import ctx
from helpdesk.web.views_queue import filter_from_query

JsonHandler = Any


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValidationError("corps JSON invalide") from None
    if not isinstance(data, dict):
        raise ValidationError("un objet JSON est attendu")
    return data


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name, "")
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()):
        raise ValidationError(f"le paramètre {name} doit être un entier")
    return max(low, min(int(raw), high))


def _number(request: web.Request) -> int:
    return int(request.match_info["number"])


def _jsonable(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda d: json.dumps(d, default=_jsonable,
                                                                              ensure_ascii=False))


async def list_tickets(request: web.Request) -> web.Response:
    page = await ctx(request).queue.page(filter_from_query(request.query), me=staff(request).id,
                                         cursor=request.query.get("cursor") or None,
                                         limit=_int_param(request, "limit", 50, 1, 200))
    return _json(page)


async def get_ticket(request: web.Request) -> web.Response:
    return _json(await ctx(request).tickets.get_json(_number(request), viewer_id=staff(request).id))


async def reply_ticket(request: web.Request) -> web.Response:
    body = await _body(request)
    msg_id = await ctx(request).tickets.reply(_number(request), staff(request).id, str(body.get("text", "")))
    return _json({"message_id": msg_id, "delivery_status": "queued"}, status=201)


async def note_ticket(request: web.Request) -> web.Response:
    body = await _body(request)
    msg_id = await ctx(request).tickets.add_note(_number(request), staff(request).id,
                                                          str(body.get("text", "")))
    return _json({"message_id": msg_id}, status=201)


async def update_ticket(request: web.Request) -> web.Response:
    c, me, number = ctx(request), staff(request), _number(request)
    body = await _body(request)
    try:  # the whole body is checked before anything is written: a bad field changes nothing
        priority = Priority(body["priority"]) if "priority" in body else None
        status = TicketStatus(body["status"]) if "status" in body else None
    except (ValueError, TypeError) as exc:
        raise ValidationError(f"valeur invalide : {exc}") from None
    tags = body.get("tags")
    if "tags" in body and (not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)):
        raise ValidationError("tags doit être une liste de chaînes")
    changes = TicketChanges(
        priority=priority, status=status, tags=tags,
        assignee_id=_id_or_null(body, "assignee_id") if "assignee_id" in body else KEEP,
        team_id=_id_or_null(body, "team_id") if "team_id" in body else KEEP,
    )
    await c.tickets.update(number, changes, me.id)
    return _json(await c.tickets.get_json(number))


def _id_or_null(body: dict[str, Any], name: str) -> int | None:
    value = body[name]
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValidationError(f"{name} doit être un entier ou null")
    return value


async def kb_search(request: web.Request) -> web.Response:
    q = request.query.get("q", "")
    limit = _int_param(request, "limit", 3, 1, 20)
    found = await ctx(request).faq.search(q, limit=limit)
    return _json({"results": [{k: r[k] for k in ("id", "title", "score", "snippet")} for r in found]})


async def stats(request: web.Request) -> web.Response:
    c = ctx(request)
    return _json({**await c.queue.stats(), "attention": await c.attention.summary()})


# ---- the one list ---------------------------------------------------------------------------
_FILTERS = [
    ("view", "mine | unassigned | breaching"), ("status", "new | open | pending | resolved | closed | all"),
    ("assignee", "me | none | identifiant d'un membre"), ("team", "identifiant d'équipe"), ("priority", "priorité"),
    ("channel", "canal"), ("org", "identifiant d'organisation"), ("pays", "Pays"), ("tag", "étiquette"),
    ("q", "texte cherché dans les sujets et les messages"), ("cursor", "curseur de la page suivante"),
    ("limit", "taille de page (1-200)"),
]
_NUMBER = [("number", "numéro du ticket", "path")]
_TEXT_BODY = {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}


@dataclass(frozen=True)
class ApiRoute:
    method: str
    path: str
    handler: JsonHandler
    summary: str
    params: list[tuple[str, str, str]] = field(default_factory=list)  # (name, description, "query" | "path")
    body: dict[str, Any] | None = None
    status: int = 200


API: list[ApiRoute] = [
    ApiRoute("GET", "/api/v1/tickets", list_tickets, "Liste des tickets (mêmes filtres que la file)",
             [(n, d, "query") for n, d in _FILTERS]),
    ApiRoute("GET", "/api/v1/tickets/{number}", get_ticket, "Un ticket avec ses messages", _NUMBER),
    ApiRoute("POST", "/api/v1/tickets/{number}/reply", reply_ticket, "Répondre (par le canal du ticket)",
             _NUMBER, _TEXT_BODY, 201),
    ApiRoute("POST", "/api/v1/tickets/{number}/notes", note_ticket, "Ajouter une note interne", _NUMBER,
             _TEXT_BODY, 201),
    ApiRoute("PATCH", "/api/v1/tickets/{number}", update_ticket, "Modifier statut, priorité, attribution, équipe, "
             "étiquettes", _NUMBER, {"type": "object", "properties": {
                 "status": {"type": "string", "enum": [s.value for s in TicketStatus]},
                 "priority": {"type": "string", "enum": [p.value for p in Priority]},
                 "assignee_id": {"type": ["integer", "null"]}, "team_id": {"type": ["integer", "null"]},
                 "tags": {"type": "array", "items": {"type": "string"}}}}),
    ApiRoute("GET", "/api/v1/kb/search", kb_search, "Recherche dans la FAQ",
             [("q", "question", "query"), ("limit", "nombre de résultats (1-20)", "query")]),
    ApiRoute("GET", "/api/v1/stats", stats, "Compteurs de tickets et éléments en attente"),
]


def openapi_document() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for r in API:
        op: dict[str, Any] = {
            "summary": r.summary,
            "operationId": r.handler.__name__,
            "security": [{"bearer": []}],
            "parameters": [
                {"name": p[0], "in": p[2], "required": p[2] == "path", "description": p[1],
                 "schema": {"type": "integer" if p[0] in ("number", "limit", "team", "org") else "string"}}
                for p in r.params
            ],
            "responses": {
                str(r.status): {"description": "succès",
                                "content": {"application/json": {"schema": {"type": "object"}}}},
                "400": {"description": "requête invalide"}, "401": {"description": "jeton absent ou invalide"},
                "404": {"description": "introuvable"},
            },
        }
        if r.body is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": r.body}}}
        paths.setdefault(r.path, {})[r.method.lower()] = op
    paths["/api/v1/openapi.json"] = {"get": {"summary": "Ce document", "operationId": "openapi", "security": [],
                                             "responses": {"200": {"description": "le document OpenAPI"}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "API de l'assistance CRAIG", "version": "1.0.0"},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": paths,
    }


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document())


def aiohttp_path(path: str) -> str:
    """OpenAPI's ``{number}`` as an aiohttp route that only matches digits."""
    return re.sub(r"\{number\}", r"{number:\\d+}", path)


def routes() -> list[web.RouteDef]:
    out = [web.route(r.method, aiohttp_path(r.path), r.handler) for r in API]
    out.append(web.get("/api/v1/openapi.json", openapi))
    return out
