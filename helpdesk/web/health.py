"""Liveness and readiness."""

from __future__ import annotations

from aiohttp import web

from helpdesk.web.context import ctx


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    health = ctx(request).health
    problems = await health.readiness_problems()
    if not problems:
        problems += await health.storage_problems()
    if problems:
        return web.json_response({"status": "unavailable", "problems": problems}, status=503)
    held = await health.quarantine_held()  # inbound mail kept aside
    # Serving, but something staff rely on does not work (replies that cannot leave): 200, "degraded".
    warnings = health.delivery_warnings()
    return web.json_response({"status": "degraded" if warnings else "ready", "warnings": warnings,
                              "quarantine_held": held})
