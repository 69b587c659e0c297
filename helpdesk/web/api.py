"""The JSON API /api/v1: tickets, FAQ search, stats, with per-user bearer tokens.

Routes and their OpenAPI description come from one list (API), so the document cannot drift.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, model_validator

from helpdesk.app.tickets.service import KEEP
from helpdesk.app.tickets.service import TicketChanges as Changes
from helpdesk.domain.ids import DB_INT_MAX
from helpdesk.domain.values import Priority, TicketStatus
from helpdesk.web import api_actions as act
from helpdesk.web import api_admin as adm
from helpdesk.web.api_common import json_response as _json
from helpdesk.web.api_common import ticket_number as _number
from helpdesk.web.auth import staff
from helpdesk.web.context import ctx
from helpdesk.web.validation import (
    QUERY_VALUE_MAX,
    TAGS_MAX,
    ApiBody,
    DbId,
    Tag,
    Text,
    json_body,
    query_int,
)
from helpdesk.web.views_queue import filter_from_query

JsonHandler = Any


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    return query_int(request, name, default, low, high)


async def list_tickets(request: web.Request) -> web.Response:
    page = await ctx(request).search.page(filter_from_query(request.query), me=staff(request).id,
                                          cursor=request.query.get("cursor") or None,
                                         limit=_int_param(request, "limit", 50, 1, 200))
    return _json(page)


async def get_ticket(request: web.Request) -> web.Response:
    return _json(await ctx(request).tickets.get_json(_number(request), viewer_id=staff(request).id))


class TextBody(ApiBody):
    """Texte de la réponse ou de la note."""

    text: Text


_NOT_NULL = ("status", "priority", "tags")


def _drop_null(schema: dict[str, Any]) -> None:
    """In the document, status, priority and tags are never null (they may be left out)."""
    schema["description"] = "Seuls les champs envoyés changent ; status, priority et tags ne peuvent pas être null."
    for name in _NOT_NULL:
        prop = schema["properties"][name]
        kept = [branch for branch in prop.pop("anyOf", []) if branch.get("type") != "null"]
        if kept:
            prop.update(kept[0])
        prop.pop("default", None)


class TicketChanges(ApiBody):
    """PATCH body: only the fields sent are changed; status, priority and tags cannot be null."""

    model_config = ConfigDict(strict=True, extra="forbid", json_schema_extra=_drop_null)

    status: TicketStatus | None = None
    priority: Priority | None = None
    assignee_id: DbId | None = None
    team_id: DbId | None = None
    tags: Annotated[list[Tag], Field(max_length=TAGS_MAX)] | None = None

    @model_validator(mode="after")
    def _no_null_where_a_value_is_needed(self) -> TicketChanges:
        for name in _NOT_NULL:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"« {name} » ne peut pas être null")
        return self


async def reply_ticket(request: web.Request) -> web.Response:
    number = _number(request)
    body = await json_body(request, TextBody)
    msg_id = await ctx(request).tickets.reply(number, staff(request).id, body.text)
    return _json({"message_id": msg_id, "delivery_status": "queued"}, status=201)


async def note_ticket(request: web.Request) -> web.Response:
    number = _number(request)
    body = await json_body(request, TextBody)
    msg_id = await ctx(request).tickets.add_note(number, staff(request).id, body.text)
    return _json({"message_id": msg_id}, status=201)


async def update_ticket(request: web.Request) -> web.Response:
    c, me, number = ctx(request), staff(request), _number(request)
    body = await json_body(request, TicketChanges)  # parsed and checked whole: a bad field changes nothing
    sent = body.model_fields_set
    changes = Changes(
        priority=body.priority, status=body.status, tags=body.tags,
        assignee_id=body.assignee_id if "assignee_id" in sent else KEEP,
        team_id=body.team_id if "team_id" in sent else KEEP,
    )
    await c.tickets.update(number, changes, me.id)  # one atomic, validated write
    return _json(await c.tickets.get_json(number))


async def kb_search(request: web.Request) -> web.Response:
    q = request.query.get("q", "")
    limit = _int_param(request, "limit", 3, 1, 20)
    found = await ctx(request).faq.search(q, limit=limit)
    return _json({"results": [{"id": r.id, "title": r.title, "score": r.score, "snippet": r.snippet}
                                  for r in found]})


async def stats(request: web.Request) -> web.Response:
    c = ctx(request)
    return _json({**asdict(await c.queue.stats()), "attention": await c.attention.summary()})


# ---- the one list ---------------------------------------------------------------------------
_FILTERS = [
    ("view", "mine | unassigned | breaching"), ("status", "new | open | pending | resolved | closed | all"),
    ("assignee", "me | none | identifiant d'un membre"), ("team", "identifiant d'équipe"), ("priority", "priorité"),
    ("channel", "canal"), ("org", "identifiant d'organisation"), ("pays", "Pays"), ("tag", "étiquette"),
    ("q", "recherche plein texte (sujet, messages et notes, demandeur, organisation), résultats classés "
     "par pertinence avec extraits surlignés ; un numéro seul cherche ce ticket"),
    ("cursor", "curseur de la page suivante"),
    ("limit", "taille de page (1-200)"),
]
_NUMBER = [("number", "numéro du ticket", "path")]
_MESSAGE = [*_NUMBER, ("message", "identifiant du message (champ « id » des messages du ticket)", "path")]
_ATTACHMENT = [*_NUMBER, ("attachment", "identifiant de la pièce jointe (champ « id »)", "path")]
_CANNED = [("id", "identifiant de la réponse type", "path")]
_HELD = [("id", "identifiant de l'élément de quarantaine", "path")]
_STAFF = [("id", "identifiant du compte", "path")]
_TEAM = [("id", "identifiant de l'équipe", "path")]
_SCHEMAS: dict[str, Any] = {}


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema for the OpenAPI document; its sub-schemas go to components.schemas."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    _SCHEMAS.update(schema.pop("$defs", {}))
    return schema


_TEXT_BODY = _schema(TextBody)


@dataclass(frozen=True)
class ApiRoute:
    method: str
    path: str
    handler: JsonHandler
    summary: str
    params: list[tuple[str, str, str]] = field(default_factory=list)  # (name, description, "query" | "path")
    body: dict[str, Any] | None = None
    status: int = 200
    security: str | None = "bearer"  # the scheme: "bearer" (staff), "requester" (portal), None (open)
    content_type: str = "application/json"  # of the success answer
    admin: bool = False  # administrators only (403 for agents), as on the site


API: list[ApiRoute] = [
    ApiRoute("GET", "/api/v1/tickets", list_tickets, "Liste des tickets (mêmes filtres que la file)",
             [(n, d, "query") for n, d in _FILTERS]),
    ApiRoute("GET", "/api/v1/tickets/{number}", get_ticket, "Un ticket avec ses messages", _NUMBER),
    ApiRoute("POST", "/api/v1/tickets/{number}/reply", reply_ticket, "Répondre (par le canal du ticket)",
             _NUMBER, _TEXT_BODY, 201),
    ApiRoute("POST", "/api/v1/tickets/{number}/notes", note_ticket, "Ajouter une note interne", _NUMBER,
             _TEXT_BODY, 201),
    ApiRoute("PATCH", "/api/v1/tickets/{number}", update_ticket, "Modifier statut, priorité, attribution, équipe, "
             "étiquettes", _NUMBER, _schema(TicketChanges)),
    ApiRoute("POST", "/api/v1/tickets/{number}/merge", act.merge_ticket, "Fusionner ce ticket dans un autre "
             "(celui-ci est fermé ; réponse : le ticket qui garde la conversation)", _NUMBER, _schema(act.MergeBody)),
    ApiRoute("POST", "/api/v1/tickets/{number}/links", act.link_ticket, "Lier à un autre ticket (tickets liés)",
             _NUMBER, _schema(act.LinkBody), 201),
    ApiRoute("POST", "/api/v1/tickets/{number}/messages/{message}/split", act.split_message,
             "Séparer un message reçu dans un nouveau ticket (réponse : le nouveau ticket)", _MESSAGE, status=201),
    ApiRoute("POST", "/api/v1/tickets/{number}/messages/{message}/resend", act.resend_message,
             "Remettre en file d'envoi une réponse qui n'est pas partie", _MESSAGE),
    ApiRoute("GET", "/api/v1/tickets/{number}/attachments/{attachment}", act.download_attachment,
             "Télécharger une pièce jointe", _ATTACHMENT, content_type="application/octet-stream"),
    ApiRoute("POST", "/api/v1/tickets/{number}/faq-draft", act.faq_draft,
             "Proposer un brouillon d'entrée de FAQ tiré du ticket", _NUMBER, status=201),
    ApiRoute("POST", "/api/v1/phone-tickets", act.phone_ticket, "Ouvrir un ticket pour un appel téléphonique",
             body=_schema(act.PhoneTicketBody), status=201),
    ApiRoute("GET", "/api/v1/canned-responses", act.list_canned, "Réponses types (actives ; retirées aussi avec "
             "retired=true, administrateurs)", [("retired", "true : inclure les réponses retirées", "query")]),
    ApiRoute("POST", "/api/v1/canned-responses", act.create_canned, "Créer une réponse type (administrateurs)",
             body=_schema(act.CannedBody), status=201, admin=True),
    ApiRoute("GET", "/api/v1/canned-responses/{id}", act.get_canned, "Une réponse type", _CANNED),
    ApiRoute("PUT", "/api/v1/canned-responses/{id}", act.update_canned,
             "Modifier ou retirer une réponse type (administrateurs)", _CANNED, _schema(act.CannedBody), admin=True),
    ApiRoute("GET", "/api/v1/choices", act.choices, "Valeurs des menus : membres, équipes, organisations, pays, "
             "statuts (les identifiants à donner à PATCH)"),
    ApiRoute("GET", "/api/v1/quarantine", act.quarantine_list, "Messages reçus en quarantaine"),
    ApiRoute("POST", "/api/v1/quarantine/{id}/reprocess", act.quarantine_reprocess,
             "Retraiter un message en quarantaine (réponse : le ticket, ou null pour un message automatique)", _HELD),
    ApiRoute("POST", "/api/v1/quarantine/{id}/discard", act.quarantine_discard,
             "Écarter un message en quarantaine (administrateurs)", _HELD, admin=True),
    ApiRoute("GET", "/api/v1/quarantine/{id}/raw", act.quarantine_raw, "Le message brut (administrateurs)", _HELD,
             content_type="application/octet-stream", admin=True),
    ApiRoute("GET", "/api/v1/staff", adm.list_staff, "Comptes de l'équipe (administrateurs)", admin=True),
    ApiRoute("POST", "/api/v1/staff", adm.create_staff, "Créer un compte (administrateurs ; sans mot de passe, "
             "il est généré et rendu une seule fois)", body=_schema(adm.NewStaffBody), status=201, admin=True),
    ApiRoute("PATCH", "/api/v1/staff/{id}", adm.update_staff, "Modifier un compte : rôle, actif, disponible, nom "
             "(administrateurs)", _STAFF, _schema(adm.StaffChangesBody), admin=True),
    ApiRoute("GET", "/api/v1/teams", adm.list_teams, "Équipes et leurs membres (administrateurs)", admin=True),
    ApiRoute("POST", "/api/v1/teams", adm.create_team, "Créer une équipe (administrateurs)",
             body=_schema(adm.TeamBody), status=201, admin=True),
    ApiRoute("PATCH", "/api/v1/teams/{id}", adm.update_team, "Renommer une équipe, fixer ses membres "
             "(administrateurs)", _TEAM, _schema(adm.TeamChangesBody), admin=True),
    ApiRoute("GET", "/api/v1/kb/search", kb_search, "Recherche dans la FAQ",
             [("q", "question", "query"), ("limit", "nombre de résultats (1-20)", "query")]),
    ApiRoute("GET", "/api/v1/stats", stats, "Compteurs de tickets et éléments en attente"),
]


_ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": DB_INT_MAX}
_PARAM_SCHEMAS: dict[str, dict[str, Any]] = {
    "number": _ID_SCHEMA, "team": _ID_SCHEMA, "org": _ID_SCHEMA, "message": _ID_SCHEMA, "attachment": _ID_SCHEMA,
    "id": _ID_SCHEMA, "retired": {"type": "string", "enum": ["true", "false"]},
    "limit": {"type": "integer", "minimum": 1, "maximum": 200},
}
_ERROR = {"description": "refus, avec son motif en français",
          "content": {"application/json": {"schema": {
              "type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}}}}


def _param_schema(name: str) -> dict[str, Any]:
    return _PARAM_SCHEMAS.get(name, {"type": "string", "maxLength": QUERY_VALUE_MAX})


def openapi_document(extra: Sequence[ApiRoute] = ()) -> dict[str, Any]:
    """The document of API and ``extra`` (the portal's routes, web/api_portal.py)."""
    paths: dict[str, Any] = {}
    for r in [*API, *extra]:
        op: dict[str, Any] = {
            "summary": r.summary,
            "operationId": r.handler.__name__,
            "security": [{r.security: []}] if r.security else [],
            "parameters": [
                {"name": p[0], "in": p[2], "required": p[2] == "path", "description": p[1],
                 "schema": _param_schema(p[0]), **({"example": 1} if p[2] == "path" else {})}
                for p in r.params
            ],
            "responses": {
                str(r.status): {"description": "succès", "content": {r.content_type: {"schema": (
                    {"type": "string", "format": "binary"} if r.content_type != "application/json"
                    else {"type": "object"})}}},
                "400": _ERROR, "401": {"description": "jeton absent ou invalide"}, "404": _ERROR,
                "409": _ERROR, "413": _ERROR, **({"403": _ERROR} if r.admin else {}),
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
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                           "requester": {"type": "http", "scheme": "bearer",
                                                         "description": "jeton de demandeur (hdr_…)"}},
                       "schemas": dict(_SCHEMAS)},
        "paths": paths,
    }


def aiohttp_path(path: str) -> str:
    """OpenAPI's ``{number}``, ``{message}``… as an aiohttp route that only matches digits (every path
    parameter of the API is an identifier)."""
    return re.sub(r"\{(\w+)\}", r"{\1:\\d+}", path)


def routes(extra: Sequence[ApiRoute] = ()) -> list[web.RouteDef]:
    """The API's routes, ``extra`` ones too, and the OpenAPI document describing them all."""
    document = openapi_document(extra)

    async def openapi(request: web.Request) -> web.Response:
        return web.json_response(document)

    out = [web.route(r.method, aiohttp_path(r.path), r.handler) for r in [*API, *extra]]
    out.append(web.get("/api/v1/openapi.json", openapi))
    return out
