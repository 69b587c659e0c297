"""Liveness and readiness."""

from __future__ import annotations

from aiohttp import web

from helpdesk.web.keys import SERVICES


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    problems = await services.readiness_problems()
    if problems:
        return web.json_response({"status": "unavailable", "problems": problems}, status=503)
    from helpdesk.app.outbox_status import delivery_problems
    from helpdesk.app.quarantine.service import QuarantineService

    held = await QuarantineService(services.db, services.clock).count_held()  # inbound mail kept aside
    # Serving, but something staff rely on does not work (replies that cannot leave): 200, "degraded".
    warnings = delivery_problems(set(services.outbox.senders))
    return web.json_response({"status": "degraded" if warnings else "ready", "warnings": warnings,
                              "quarantine_held": held})
