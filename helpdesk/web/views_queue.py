"""The staff queue: filters, saved views, keyset pages, polling for new tickets, bulk actions."""

from __future__ import annotations

from dataclasses import asdict

from aiohttp import web
from multidict import MultiMapping

from helpdesk.app.tickets.queue import OPEN, QueueFilter, with_view
from helpdesk.domain.errors import UserError, ValidationError
from helpdesk.domain.ids import parse_id
from helpdesk.domain.values import TicketStatus
from helpdesk.web import views_outbox
from helpdesk.web.auth import redirect, staff
from helpdesk.web.context import ctx
from helpdesk.web.render import render
from helpdesk.web.validation import optional_id

FILTER_KEYS = ("view", "status", "assignee", "team", "priority", "channel", "org", "pays", "tag", "q")


NO_SUCH_ID = 2**31 - 1  # the 32-bit column maximum: a bigger identifier matches nothing (never an overflow)


def _int(value: str | None) -> int | None:
    return parse_id(value)


def filter_from_query(query: MultiMapping[str]) -> QueueFilter:
    status = query.get("status", "")
    if status == "all":
        statuses: tuple[str, ...] = ()
    elif status in {s.value for s in TicketStatus}:
        statuses = (status,)
    else:
        statuses = OPEN
    assignee = query.get("assignee") or None
    if assignee not in (None, "me", "none"):
        assignee = str(optional_id(assignee, "attribué à"))
    f = QueueFilter(
        statuses=statuses, assignee=assignee, team_id=optional_id(query.get("team"), "équipe"),
        priority=query.get("priority") or None, channel=query.get("channel") or None,
        organization_id=optional_id(query.get("org"), "organisation"), pays=query.get("pays") or None,
        tag=query.get("tag") or None,
        text=query.get("q") or None,
    )
    return with_view(f, query.get("view"))


async def queue_page(request: web.Request) -> web.StreamResponse:
    c, me = ctx(request), staff(request)
    f = filter_from_query(request.query)
    page = await c.search.page(f, me=me.id, cursor=request.query.get("cursor") or None)
    params = {k: request.query[k] for k in FILTER_KEYS if request.query.get(k)}
    return render("queue.html", request, {
        "page": page, "params": params, "counts": await c.queue.counts(me.id),
        "choices": await c.queue.choices(), "health": await c.attention.summary(),
        "latest_id": await c.queue.latest_id(), "view": request.query.get("view", ""),
        "delivery_problems": views_outbox.problems(request),
    })


async def queue_poll(request: web.Request) -> web.Response:
    after = _int(request.query.get("after")) or 0
    return web.json_response(asdict(await ctx(request).queue.new_since(after)))


async def bulk(request: web.Request) -> web.StreamResponse:
    c, me = ctx(request), staff(request)
    form = await request.post()
    numbers = sorted({n for v in form.getall("numbers", []) if isinstance(v, str) and (n := parse_id(v)) is not None})
    back = str(form.get("back", "/queue"))
    back = back if back.startswith("/queue") else "/queue"
    if not numbers:
        raise redirect(request, back, "Sélectionnez au moins un ticket.")
    action = form.get("action")
    failed: list[str] = []
    if action == "assign":
        raw = str(form.get("assignee", ""))
        assignee = None if raw in ("", "none") else _int(raw)
        if raw not in ("", "none") and assignee is None:
            raise ValidationError("membre de l'équipe invalide")
        for n in numbers:
            await c.tickets.assign(n, assignee, me.id)
        done = f"{len(numbers)} ticket(s) attribué(s)."
    elif action == "close":
        for n in numbers:
            try:
                await c.tickets.set_status(n, TicketStatus.CLOSED, me.id)
            except UserError:
                failed.append(f"#{n}")
        done = f"{len(numbers) - len(failed)} ticket(s) fermé(s)."
    else:
        raise ValidationError("action groupée inconnue")
    if failed:
        done += " Non modifiés : " + ", ".join(failed)
    raise redirect(request, back, done)


def routes() -> list[web.RouteDef]:
    return [
        web.get("/queue", queue_page),
        web.get("/queue/poll", queue_poll),
        web.post("/queue/bulk", bulk),
    ]
