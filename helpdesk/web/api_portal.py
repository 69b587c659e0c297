"""The portal's JSON API for a requester's bearer token (/api/v1/portal/), in the same OpenAPI document.

Parity with /espace: ask for a sign-in link, exchange the link's token for a bearer token (``hdr_…``),
list one's requests, read one, reply (attachments in base64, within the API's 1 MiB body), close,
reopen, rate, sign out. Authentication is web/portal_auth.py's; staff tokens are not accepted here.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from aiohttp import web
from pydantic import Field

from helpdesk.app.portal.service import MAX_FILES, UploadedFile
from helpdesk.domain.errors import NotFound, ValidationError
from helpdesk.domain.ids import parse_id
from helpdesk.web.api import ApiRoute, _schema
from helpdesk.web.api_common import json_response as _json
from helpdesk.web.auth import client_address
from helpdesk.web.context import ctx
from helpdesk.web.portal_auth import requester
from helpdesk.web.validation import API_BODY_MAX, ApiBody, CleanStr, json_body

Email = Annotated[CleanStr, Field(min_length=1, max_length=320)]
LinkToken = Annotated[str, Field(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]


class SignInBody(ApiBody):
    """Adresse à laquelle envoyer un lien de connexion."""

    email: Email


class SessionBody(ApiBody):
    """Le jeton du lien de connexion reçu par courriel (la partie après /espace/lien/)."""

    token: LinkToken


class FileBody(ApiBody):
    """Une pièce jointe, son contenu en base64."""

    filename: Annotated[CleanStr, Field(min_length=1, max_length=200)]
    content_type: Annotated[CleanStr, Field(max_length=100)] = "application/octet-stream"
    data_base64: Annotated[str, Field(min_length=1, max_length=API_BODY_MAX)]


class ReplyBody(ApiBody):
    """Message du demandeur : du texte, des pièces jointes, ou les deux."""

    text: Annotated[CleanStr, Field(max_length=20_000)] = ""
    attachments: Annotated[list[FileBody], Field(max_length=MAX_FILES)] = []


class RatingBody(ApiBody):
    """Note de 1 à 5 et commentaire facultatif."""

    score: Annotated[int, Field(ge=1, le=5)]
    comment: Annotated[CleanStr, Field(max_length=2000)] | None = None


def _number(request: web.Request) -> int:
    number = parse_id(request.match_info["number"])
    if number is None:
        raise NotFound("demande introuvable")
    return number


async def portal_signin(request: web.Request) -> web.Response:
    body = await json_body(request, SignInBody)
    await ctx(request).portal_auth.request_link(body.email, client_address(request))
    return _json({"status": "Si l'adresse est connue, un lien de connexion lui a été envoyé."}, status=202)


async def portal_session(request: web.Request) -> web.Response:
    body = await json_body(request, SessionBody)
    token, who = await ctx(request).portal_auth.sign_in(body.token, kind="api")
    return _json({"token": token, "email": who.email}, status=201)


async def portal_signout(request: web.Request) -> web.Response:
    header = request.headers.get("Authorization", "")
    await ctx(request).portal_auth.sign_out(header[7:].strip())
    return _json({"status": "déconnecté"})


async def portal_tickets(request: web.Request) -> web.Response:
    return _json({"tickets": await ctx(request).portal.tickets(requester(request))})


async def portal_ticket(request: web.Request) -> web.Response:
    return _json(await ctx(request).portal.ticket(requester(request), _number(request)))


def _decoded(files: list[FileBody]) -> list[UploadedFile]:
    out = []
    for f in files:
        try:
            data = base64.b64decode(f.data_base64, validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError(f"pièce jointe « {f.filename[:80]} » : base64 invalide") from None
        out.append(UploadedFile(f.filename, f.content_type, data))
    return out


async def portal_reply(request: web.Request) -> web.Response:
    number = _number(request)
    body = await json_body(request, ReplyBody)
    result = await ctx(request).portal.reply(requester(request), number, body.text, _decoded(body.attachments))
    return _json({"ticket": result.ticket_number, "message_id": result.message_id}, status=201)


async def portal_close(request: web.Request) -> web.Response:
    number = _number(request)
    await ctx(request).portal.close(requester(request), number)
    return _json(await ctx(request).portal.ticket(requester(request), number))


async def portal_reopen(request: web.Request) -> web.Response:
    number = _number(request)
    await ctx(request).portal.reopen(requester(request), number)
    return _json(await ctx(request).portal.ticket(requester(request), number))


async def portal_rate(request: web.Request) -> web.Response:
    number = _number(request)
    body = await json_body(request, RatingBody)
    await ctx(request).portal.rate(requester(request), number, body.score, body.comment)
    return _json(await ctx(request).portal.ticket(requester(request), number))


_N = [("number", "numéro de la demande", "path")]
P = "/api/v1/portal"

API: list[ApiRoute] = [
    ApiRoute("POST", f"{P}/signin", portal_signin, "Demander un lien de connexion (même réponse que l'adresse soit "
             "connue ou non)", body=_schema(SignInBody), status=202, security=None),
    ApiRoute("POST", f"{P}/session", portal_session, "Échanger le jeton d'un lien contre un jeton de demandeur",
             body=_schema(SessionBody), status=201, security=None),
    ApiRoute("DELETE", f"{P}/session", portal_signout, "Se déconnecter (révoque le jeton)", security="requester"),
    ApiRoute("GET", f"{P}/tickets", portal_tickets, "Mes demandes (et celles de mon organisation si partagées)",
             security="requester"),
    ApiRoute("GET", f"{P}/tickets/{{number}}", portal_ticket, "Une demande : échanges, rapports de fichiers, FAQ",
             _N, security="requester"),
    ApiRoute("POST", f"{P}/tickets/{{number}}/reply", portal_reply, "Répondre (avec pièces jointes en base64)", _N,
             _schema(ReplyBody), 201, security="requester"),
    ApiRoute("POST", f"{P}/tickets/{{number}}/close", portal_close, "Fermer ma demande", _N, security="requester"),
    ApiRoute("POST", f"{P}/tickets/{{number}}/reopen", portal_reopen, "Rouvrir une demande résolue récemment", _N,
             security="requester"),
    ApiRoute("POST", f"{P}/tickets/{{number}}/rating", portal_rate, "Noter l'aide reçue", _N, _schema(RatingBody),
             security="requester"),
]
