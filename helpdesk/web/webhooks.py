"""Webhooks of the channels (``/hooks/{name}``), registered at run time by the channels.

The web knows no channel: a channel that wants a webhook puts an aiohttp handler under its name,
and authenticates the request itself (Telegram: the secret token header). No session, no CSRF.
"""

from __future__ import annotations

from aiohttp import web

from helpdesk.web.context import ctx

PREFIX = "/hooks/"


async def dispatch(request: web.Request) -> web.StreamResponse:
    handlers = ctx(request).webhooks
    handler = handlers.get(request.match_info["name"])
    if handler is None:
        raise web.HTTPNotFound(text="unknown webhook")
    response: web.StreamResponse = await handler(request)
    return response


def routes() -> list[web.RouteDef]:
    return [web.post(PREFIX + "{name}", dispatch)]
