"""The requester portal /espace: sign in by emailed link, see one's requests, reply, close, reopen, rate.

Pages only translate: the rules are in helpdesk/app/portal/. Opening a link (GET) shows a button; only
its POST consumes the token, so mail scanners that prefetch links never burn it.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from aiohttp import web
from multidict import MultiDictProxy

from helpdesk.app.portal.service import UploadedFile
from helpdesk.app.portal.signin import LinkInvalid
from helpdesk.app.ratelimit import Throttled
from helpdesk.app.satisfaction.rating_mail import SCORES
from helpdesk.domain.errors import NotFound, UserError, ValidationError
from helpdesk.domain.ids import parse_id
from helpdesk.domain.messages_fr import user_message_fr
from helpdesk.domain.values import STATUS_LABELS_FR, TicketStatus
from helpdesk.web.auth import client_address, redirect
from helpdesk.web.context import ctx
from helpdesk.web.portal_auth import cookie_name, current_requester, requester, set_session_cookie
from helpdesk.web.render import render

_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,100}")


def _sentence(exc: UserError) -> str:
    """An error's French text as a sentence (only its first letter raised: names and units stay as written)."""
    text = user_message_fr(exc)
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


def status_label(status: str) -> str:
    try:
        return STATUS_LABELS_FR[TicketStatus(status)]
    except ValueError:
        return status


def _number(request: web.Request) -> int:
    number = parse_id(request.match_info["number"])
    if number is None:
        raise NotFound("demande introuvable")
    return number


# ---- signing in ---------------------------------------------------------------------------------
async def signin_form(request: web.Request) -> web.StreamResponse:
    if current_requester(request) is not None:
        raise web.HTTPSeeOther("/espace")
    return render("portal/signin.html", request, {"sent": False, "error": None, "email": ""})


async def signin_request(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    email = str(form.get("email", ""))[:320]
    try:
        await ctx(request).portal_auth.request_link(email, client_address(request))
    except Throttled:
        return render("portal/signin.html", request, {
            "sent": False, "email": email,
            "error": "Trop de demandes de lien en peu de temps : réessayez dans une heure."}, status=429)
    except ValidationError as exc:
        return render("portal/signin.html", request, {"sent": False, "email": email,
                                                      "error": _sentence(exc)}, status=400)
    return render("portal/signin.html", request, {"sent": True, "error": None, "email": ""})


def _ticket_from_query(request: web.Request) -> int | None:
    raw = request.query.get("demande", "")
    return parse_id(raw) if raw.isascii() and raw.isdigit() else None


async def link_page(request: web.Request) -> web.StreamResponse:
    """What a link in a mail opens: a button, so that a prefetch does not sign anyone in."""
    token = request.match_info["token"]
    return render("portal/link.html", request, {"action": request.path_qs, "valid": bool(_TOKEN.fullmatch(token))})


async def link_consume(request: web.Request) -> web.StreamResponse:
    token = request.match_info["token"]
    previous = request.cookies.get(cookie_name(request), "")
    try:
        session, _ = await ctx(request).portal_auth.sign_in(token)
    except LinkInvalid as exc:
        return render("portal/signin.html", request, {"sent": False, "email": "",
                                                      "error": _sentence(exc)}, status=400)
    if previous:  # signing in again (another link, another address): the earlier session ends here
        await ctx(request).portal_auth.sign_out(previous)
    number = _ticket_from_query(request)
    response = web.HTTPSeeOther(f"/espace/demandes/{number}" if number else "/espace")
    set_session_cookie(response, request, session)
    raise response


async def signout(request: web.Request) -> web.StreamResponse:
    token = request.cookies.get(cookie_name(request), "")
    if token:
        await ctx(request).portal_auth.sign_out(token)
    response = redirect(request, "/espace/connexion", "Vous êtes déconnecté de votre espace.")
    response.del_cookie(cookie_name(request), path="/")
    raise response


# ---- the requests -------------------------------------------------------------------------------
async def home(request: web.Request) -> web.StreamResponse:
    who = requester(request)
    tickets = await ctx(request).portal.tickets(who)
    return render("portal/home.html", request, {"who": who, "tickets": tickets, "status_label": status_label})


async def _ticket_page(request: web.Request, number: int, error: str | None = None,
                       status: int = 200) -> web.Response:
    who = requester(request)
    ticket = await ctx(request).portal.ticket(who, number)
    return render("portal/ticket.html", request, {"who": who, "t": ticket, "error": error, "scores": SCORES,
                                                  "status_label": status_label}, status=status)


async def ticket_page(request: web.Request) -> web.StreamResponse:
    return await _ticket_page(request, _number(request))


def _files(form: MultiDictProxy[str | bytes | bytearray | web.FileField]) -> list[UploadedFile]:
    out = []
    for value in form.getall("fichiers", []):
        if isinstance(value, web.FileField) and value.filename:
            data = value.file.read()
            if data:
                out.append(UploadedFile(value.filename, value.content_type or "", data))
    return out


async def reply(request: web.Request) -> web.StreamResponse:
    number = _number(request)
    form = await request.post()
    try:
        result = await ctx(request).portal.reply(requester(request), number, str(form.get("texte", "")),
                                                 _files(form))
    except (ValidationError, Throttled) as exc:
        return await _ticket_page(request, number, _sentence(exc),
                                  status=429 if isinstance(exc, Throttled) else 400)
    if result.ticket_number is not None and result.ticket_number != number:
        raise redirect(request, f"/espace/demandes/{result.ticket_number}",
                       f"Votre demande n° {number} étant fermée, votre message a ouvert la demande "
                       f"n° {result.ticket_number}.")
    raise redirect(request, f"/espace/demandes/{number}", "Votre message a bien été envoyé.")


async def _act(request: web.Request, done: str, action: str) -> web.StreamResponse:
    number = _number(request)
    portal, who = ctx(request).portal, requester(request)
    try:
        if action == "close":
            await portal.close(who, number)
        elif action == "reopen":
            await portal.reopen(who, number)
        else:
            form = await request.post()
            raw = str(form.get("note", ""))
            score = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 3 else 0
            await portal.rate(who, number, score, str(form.get("commentaire", ""))[:2000])
    except NotFound:
        raise
    except UserError as exc:
        return await _ticket_page(request, number, _sentence(exc), status=400)
    raise redirect(request, f"/espace/demandes/{number}", done)


async def close(request: web.Request) -> web.StreamResponse:
    return await _act(request, "Votre demande est fermée. Merci !", "close")


async def reopen(request: web.Request) -> web.StreamResponse:
    return await _act(request, "Votre demande est rouverte : l'équipe en est avertie.", "reopen")


async def rate(request: web.Request) -> web.StreamResponse:
    return await _act(request, "Merci pour votre avis !", "rate")


async def download(request: web.Request) -> web.StreamResponse:
    number = _number(request)
    attachment_id = parse_id(request.match_info["id"])
    if attachment_id is None:
        raise NotFound("pièce jointe introuvable")
    file = await ctx(request).portal.attachment(requester(request), number, attachment_id)
    return web.Response(body=file.data, headers={
        "Content-Type": "application/octet-stream",  # never rendered by the browser, whatever it holds
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(file.filename, safe='')}",
        "Cache-Control": "no-store",
    })


def routes() -> list[web.RouteDef]:
    n = "/espace/demandes/{number:\\d+}"
    return [
        web.get("/espace", home),
        web.get("/espace/connexion", signin_form),
        web.post("/espace/connexion", signin_request),
        web.get("/espace/lien/{token}", link_page),
        web.post("/espace/lien/{token}", link_consume),
        web.post("/espace/deconnexion", signout),
        web.get(n, ticket_page),
        web.post(n + "/repondre", reply),
        web.post(n + "/fermer", close),
        web.post(n + "/rouvrir", reopen),
        web.post(n + "/noter", rate),
        web.get(n + "/pieces/{id:\\d+}", download),
    ]
