"""The aiohttp application: every route in one list."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from helpdesk.web import (
    api,
    auth,
    health,
    metrics,
    render,
    reports,
    satisfaction,
    security,
    sla_admin,
    validation,
    views_admin,
    views_automatic,
    views_faq,
    views_faq_learning,
    views_outbox,
    views_queue,
    views_staff,
    views_team,
    views_ticket,
    webhooks,
)
from helpdesk.web.context import WEB, build_context
from helpdesk.web.errors import error_middleware
from helpdesk.web.keys import SERVICES

if TYPE_CHECKING:
    from helpdesk.bootstrap import Services


def make_app(services: Services) -> web.Application:
    app = web.Application(
        client_max_size=services.settings.mail_max_bytes,
        middlewares=[metrics.latency_middleware, security.security_headers, error_middleware, security.errors,
                     views_faq.ask_body_cap, validation.guard, auth.authenticate],
    )
    app[SERVICES] = services
    app[WEB] = build_context(services)
    render.setup(app)
    app.add_routes(
        [
            web.get("/healthz", health.healthz),
            web.get("/readyz", health.readyz),
            web.get("/metrics", metrics.metrics),
            web.get("/", home),
            web.get("/favicon.ico", favicon),
            web.get("/login", auth.login_form),
            web.post("/login", auth.login),
            web.post("/logout", auth.logout),
            *views_queue.routes(),
            *views_ticket.routes(),
            *views_outbox.routes(),
            *views_staff.routes(),
            *views_team.routes(),
            *views_automatic.routes(),
            *views_admin.routes(),
            *views_faq_learning.routes(),
            *views_faq.routes(),
            *reports.routes(),
            *sla_admin.routes(),
            *satisfaction.routes(),
            *api.routes(),
            *webhooks.routes(),
            web.static("/static", render.STATIC, append_version=True),
        ]
    )
    return app


async def home(request: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther("/queue" if auth.current_staff(request) else "/faq")


async def favicon(request: web.Request) -> web.StreamResponse:
    """Browsers ask for /favicon.ico whatever the page says; pages link the SVG under /static/."""
    return web.FileResponse(render.STATIC / "favicon.ico", headers={
        "Content-Type": "image/x-icon", "Cache-Control": "public, max-age=604800"})
