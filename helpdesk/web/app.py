"""The aiohttp application: every route in one list."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from helpdesk.web import health, metrics
from helpdesk.web.errors import error_middleware
from helpdesk.web.keys import SERVICES

if TYPE_CHECKING:
    from helpdesk.bootstrap import Services


def make_app(services: Services) -> web.Application:
    app = web.Application(
        client_max_size=services.settings.mail_max_bytes,
        middlewares=[metrics.latency_middleware, error_middleware],
    )
    app[SERVICES] = services
    app.add_routes(
        [
            web.get("/healthz", health.healthz),
            web.get("/readyz", health.readyz),
            web.get("/metrics", metrics.metrics),
        ]
    )
    return app
