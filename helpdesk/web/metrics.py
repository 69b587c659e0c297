"""/metrics for Prometheus, and the request-latency middleware."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from helpdesk.app.metrics import LIVE_STREAMS, REGISTRY, REQUEST_LATENCY
from helpdesk.web.context import ctx

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def metrics(request: web.Request) -> web.Response:
    await ctx(request).health.refresh_gauges()
    LIVE_STREAMS.set(ctx(request).live.open_streams)  # per instance: read from this process, not the database
    body = generate_latest(REGISTRY)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


@web.middleware
async def latency_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    start = time.perf_counter()
    try:
        return await handler(request)
    finally:
        route = request.match_info.route.resource
        name = route.canonical if route is not None else "unmatched"
        REQUEST_LATENCY.labels(name, request.method).observe(time.perf_counter() - start)
