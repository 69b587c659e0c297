"""The live staff queue in the browser: server-sent event streams and presence heartbeats.

Each stream starts with ``hello`` (``poll``: how often the page still polls while the stream is open:
rarely on PostgreSQL, where every process's changes arrive by the stream; as before on SQLite).

- ``GET /queue/live``: an event each time the queue may have changed (``queue``, data: the kind).
- ``GET /tickets/{n}/live``: ``presence`` (who else is on the ticket, the French sentence) and
  ``activity`` (a message or a change on this ticket: the page asks /activity what it is).
- ``POST /tickets/{n}/presence``: the page's heartbeat, « viewing » or « typing » (or « left »); CSRF.

Staff only (the session middleware), bounded (streams per user and per instance: beyond, 429 and the
page keeps polling), a keep-alive comment every 15 s, and every stream ends when the web edge stops.
"""

from __future__ import annotations

import json
import logging

from aiohttp import web

from helpdesk.app.live.hub import TooManyStreams
from helpdesk.domain.live import LiveKind, PresenceState, describe
from helpdesk.web.auth import staff
from helpdesk.web.context import WEB, ctx
from helpdesk.web.security import HEADERS

KEEPALIVE_TICKS = 7  # ticks of 2 s: a comment line every ~15 s keeps proxies from closing the stream
RETRY_MS = 5000
log = logging.getLogger(__name__)


class _KeepAlive:
    """Counts the hub's idle ticks; every ``KEEPALIVE_TICKS`` writes a comment line, so that proxies do not
    close a quiet stream."""

    def __init__(self) -> None:
        self.idle = 0

    async def tick(self, resp: web.StreamResponse) -> None:
        self.idle += 1
        if self.idle >= KEEPALIVE_TICKS:
            self.idle = 0
            await resp.write(b": keep-alive\n\n")


def _browser_left(kind: str) -> None:
    """A stream ends normally when the browser closes the page or loses the network: nothing to answer."""
    log.debug("live %s stream closed by the browser", kind)


async def _open(request: web.Request) -> web.StreamResponse:
    """The stream's headers, then ``hello``: how often the page still polls as a safety net."""
    resp = web.StreamResponse(headers={
        **HEADERS, "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-store",
        "X-Accel-Buffering": "no"})
    await resp.prepare(request)
    await resp.write(f"retry: {RETRY_MS}\n\n".encode())
    await _send(resp, "hello", {"poll": ctx(request).live.safety_poll_seconds})
    return resp


async def _send(resp: web.StreamResponse, event: str, data: object) -> None:
    await resp.write(f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode())


async def _ticket_id(request: web.Request) -> int:
    found = await ctx(request).live.ticket_id(int(request.match_info["number"]))
    if found is None:
        raise web.HTTPNotFound(text="Ticket introuvable.")
    return found


def _too_many() -> web.HTTPTooManyRequests:
    return web.HTTPTooManyRequests(text="Trop de flux ouverts : la page se met à jour toutes les 15 secondes.",
                                   headers={"Retry-After": "60"})


async def queue_stream(request: web.Request) -> web.StreamResponse:
    hub, me = ctx(request).live, staff(request)
    resp: web.StreamResponse | None = None
    keepalive = _KeepAlive()
    try:
        async with hub.stream(me.id) as notices:
            resp = await _open(request)
            async for notice in notices:
                if notice is None:
                    await keepalive.tick(resp)
                elif notice.kind in (LiveKind.QUEUE, LiveKind.TICKET, LiveKind.MESSAGE, LiveKind.RESYNC):
                    await _send(resp, "queue", {"kind": notice.kind.value})
    except TooManyStreams:
        raise _too_many() from None
    except ConnectionError:
        _browser_left("queue")
    return resp if resp is not None else web.Response(status=204)


async def ticket_stream(request: web.Request) -> web.StreamResponse:
    hub, me = ctx(request).live, staff(request)
    ticket_id = await _ticket_id(request)
    resp: web.StreamResponse | None = None
    shown: str | None = None
    keepalive = _KeepAlive()

    async def presence() -> None:
        nonlocal shown
        assert resp is not None
        text = describe(hub.others(ticket_id, me.id))
        if text != shown:
            shown = text
            await _send(resp, "presence", {"text": text})

    try:
        async with hub.stream(me.id) as notices:
            resp = await _open(request)
            await presence()
            async for notice in notices:
                if notice is None:
                    await keepalive.tick(resp)
                    await presence()  # heartbeats expire
                elif notice.kind is LiveKind.RESYNC:
                    await _send(resp, "activity", {"kind": notice.kind.value})
                    await presence()
                elif notice.ticket_id != ticket_id:
                    continue
                elif notice.kind is LiveKind.PRESENCE:
                    await presence()
                else:
                    await _send(resp, "activity", {"kind": notice.kind.value})
    except TooManyStreams:
        raise _too_many() from None
    except ConnectionError:
        _browser_left("ticket")
    return resp if resp is not None else web.Response(status=204)


async def heartbeat(request: web.Request) -> web.Response:
    """« viewing », « typing » or « left » from the ticket page (sent with the session's CSRF token)."""
    me = staff(request)
    ticket_id = await _ticket_id(request)
    form = await request.post()
    try:
        state = PresenceState(str(form.get("state", "")))
    except ValueError:
        raise web.HTTPBadRequest(text="État de présence inconnu.") from None
    ctx(request).live.beat(ticket_id, me.id, _name(request), state)
    return web.Response(status=204)


def _name(request: web.Request) -> str:
    me = staff(request)
    return me.name.strip() or me.email.split("@")[0]


async def viewers_text(request: web.Request, number: int) -> str:
    """Counts the page view as a « viewing » heartbeat; the sentence on who else is on the ticket."""
    hub, me = ctx(request).live, staff(request)
    ticket_id = await hub.ticket_id(number)
    if ticket_id is None:
        return ""
    hub.beat(ticket_id, me.id, _name(request), PresenceState.VIEWING)
    return describe(hub.others(ticket_id, me.id))


async def _close_streams(app: web.Application) -> None:
    app[WEB].live.close_streams()


def setup(app: web.Application) -> None:
    """Streams end as soon as the web edge shuts down (before aiohttp waits for open requests)."""
    app.on_shutdown.append(_close_streams)


def routes() -> list[web.RouteDef]:
    return [
        web.get("/queue/live", queue_stream),
        web.get(r"/tickets/{number:\d+}/live", ticket_stream),
        web.post(r"/tickets/{number:\d+}/presence", heartbeat),
    ]
