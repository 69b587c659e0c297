"""« Courrier automatique »: mail kept without a ticket, and the addresses marked bouncing (any staff)."""

from __future__ import annotations

from aiohttp import web

from helpdesk.domain.errors import ValidationError
from helpdesk.domain.values import IntakeAction
from helpdesk.web.auth import redirect, staff
from helpdesk.web.context import ctx
from helpdesk.web.render import render

PAGE = "/automatic"


async def automatic_list(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    raw_before = request.query.get("before", "")
    before = int(raw_before) if raw_before.isdigit() and len(raw_before) < 12 else None
    page = await c.automatic.page(before)
    return render("automatic.html", request, {
        "items": page.items, "next_before": page.next_before, "paged": before is not None,
        "total": await c.automatic.count(), "bouncing": await c.automatic.bouncing(),
    })


async def automatic_raw(request: web.Request) -> web.StreamResponse:
    staff(request)
    event_id = int(request.match_info["id"])
    data = await ctx(request).automatic.raw(event_id)
    return web.Response(body=data, headers={
        "Content-Type": "application/octet-stream",
        "Content-Disposition": f'attachment; filename="courrier-automatique-{event_id}.eml"',
    })


async def automatic_ticket(request: web.Request) -> web.StreamResponse:
    me = staff(request)
    try:
        result = await ctx(request).automatic.create_ticket(int(request.match_info["id"]), me.id)
    except ValidationError as exc:
        raise redirect(request, PAGE, f"Impossible de créer le ticket : {exc}") from None
    number = result.ticket_number
    if result.action is IntakeAction.DUPLICATE:
        raise redirect(request, f"/tickets/{number}", f"Ce message est déjà sur le ticket [#{number}].")
    raise redirect(request, f"/tickets/{number}",
                   f"Ticket [#{number}] créé à partir du courrier automatique (l'action est consignée).")


async def bouncing_clear(request: web.Request) -> web.StreamResponse:
    me = staff(request)
    try:
        email = await ctx(request).automatic.clear_bouncing(int(request.match_info["id"]), me.id)
    except ValidationError as exc:
        raise redirect(request, PAGE, str(exc).capitalize() + ".") from None
    raise redirect(request, PAGE, f"L'adresse {email} n'est plus marquée en échec (l'action est consignée).")


def routes() -> list[web.RouteDef]:
    return [
        web.get(PAGE, automatic_list),
        web.get(r"/automatic/{id:\d{1,10}}/raw", automatic_raw),
        web.post(r"/automatic/{id:\d{1,10}}/ticket", automatic_ticket),
        web.post(r"/automatic/bouncing/{id:\d{1,10}}/clear", bouncing_clear),
    ]
