"""Delivery of replies where staff work: each failed reply's reason on its ticket, « Renvoyer », the queue banner."""

from __future__ import annotations

from aiohttp import web

from helpdesk.app.outbox_status import Delivery, OutboxStatus
from helpdesk.web.auth import redirect, staff
from helpdesk.web.context import ctx


def _status(request: web.Request) -> OutboxStatus:
    return ctx(request).outbox_status


async def deliveries(request: web.Request, number: int) -> dict[int, Delivery]:
    return await _status(request).deliveries(number)


def problems(request: web.Request) -> list[str]:
    """Banner lines for the queue: a channel staff reply through has no way out."""
    return ctx(request).health.delivery_warnings()


async def resend(request: web.Request) -> web.StreamResponse:
    number, message_id = int(request.match_info["number"]), int(request.match_info["msg"])
    await _status(request).resend(number, message_id, staff(request).id)
    raise redirect(request, f"/tickets/{number}#m{message_id}", "Réponse remise en file d'envoi.")


def routes() -> list[web.RouteDef]:
    return [web.post(r"/tickets/{number:\d+}/messages/{msg:\d+}/resend", resend)]


