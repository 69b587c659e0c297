"""The requester's rating page, reached from the links in the "your request is resolved" email.

Public (the unguessable public reference names the ticket). A GET only shows the chosen score with
a button: link scanners that open every link of a message must not vote; the POST records it.
"""

from __future__ import annotations

from aiohttp import web

from helpdesk.app.satisfaction.rating_mail import SCORES
from helpdesk.app.satisfaction.ratings import RatingService
from helpdesk.domain.errors import NotFound, ValidationError
from helpdesk.web.context import ctx
from helpdesk.web.render import render

PREFIX = "/satisfaction/"


def _service(request: web.Request) -> RatingService:
    return ctx(request).ratings


async def form(request: web.Request) -> web.StreamResponse:
    try:
        note = int(request.query.get("note", "0"))
    except ValueError:
        note = 0
    return render("satisfaction.html", request, {"ref": request.match_info["ref"], "note": note, "scores": SCORES,
                                                 "done": False, "error": None})


async def submit(request: web.Request) -> web.StreamResponse:
    ref = request.match_info["ref"]
    data = await request.post()
    comment = str(data.get("comment", "")).strip()[:2000] or None
    try:
        note = int(str(data.get("note", "")))
        await _service(request).rate(ref, note, channel="email", comment=comment)
    except NotFound:
        raise web.HTTPNotFound(text="Demande introuvable.") from None
    except (ValueError, ValidationError):
        return render("satisfaction.html", request, {
            "ref": ref, "note": 0, "scores": SCORES, "done": False,
            "error": "Choisissez une note de 1 à 5 ; seule une demande résolue peut être notée."}, status=400)
    return render("satisfaction.html", request, {"ref": ref, "note": note, "scores": SCORES, "done": True,
                                                 "error": None})


def routes() -> list[web.RouteDef]:
    path = PREFIX + "{ref:[A-Za-z0-9_-]{10,64}}"
    return [web.get(path, form), web.post(path, submit)]
