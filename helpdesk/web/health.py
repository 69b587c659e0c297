"""Liveness and readiness."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from helpdesk.web.keys import SERVICES


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _storage_problems(services: Any) -> list[str]:
    from helpdesk.app.readiness import disk_problems, watched_directories, write_problem

    settings = services.settings
    directories = await asyncio.to_thread(watched_directories, settings.data_dir, settings.database_url)
    problems = await disk_problems(directories, settings.min_free_disk_mb)
    written = await write_problem(services.db, services.clock, services.outbox.owner)
    return problems + ([written] if written else [])


async def readyz(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    problems = await services.readiness_problems()
    if not problems:
        problems += await _storage_problems(services)
    if problems:
        return web.json_response({"status": "unavailable", "problems": problems}, status=503)
    from helpdesk.app.outbox_status import delivery_problems
    from helpdesk.app.quarantine.service import QuarantineService

    held = await QuarantineService(services.db, services.clock).count_held()  # inbound mail kept aside
    # Serving, but something staff rely on does not work (replies that cannot leave): 200, "degraded".
    warnings = delivery_problems(set(services.outbox.senders))
    return web.json_response({"status": "degraded" if warnings else "ready", "warnings": warnings,
                              "quarantine_held": held})
