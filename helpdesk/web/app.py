"""The aiohttp application: every route in one list."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from helpdesk.services import Services
from helpdesk.web import (
    api,
    api_portal,
    auth,
    health,
    metrics,
    portal_auth,
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
    views_live,
    views_outbox,
    views_portal,
    views_portal_admin,
    views_queue,
    views_staff,
    views_team,
    views_ticket,
)
from helpdesk.web import webhooks as channel_hooks
from helpdesk.web.context import WEB, build_context
from helpdesk.web.reqkeys import current_staff

DEFAULT_MAX_BODY = 25 * 1024 * 1024


def make_app(services: Services, *, max_body: int = DEFAULT_MAX_BODY, secure_cookies: bool = False,
             webhooks: dict[str, Any] | None = None) -> web.Application:
    """The web edge over the use cases; ``webhooks`` is the registry the channels add their handlers to."""
    app = web.Application(
        client_max_size=max_body,
        middlewares=[metrics.latency_middleware, security.security_headers, security.errors,
                     views_faq.ask_body_cap, validation.guard, portal_auth.authenticate,
                     auth.authenticate],
    )
    app[WEB] = build_context(services, secure_cookies=secure_cookies, webhooks=webhooks)
    render.setup(app)
    views_live.setup(app)
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
            *views_live.routes(),
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
            *views_portal.routes(),
            *views_portal_admin.routes(),
            *api.routes(api_portal.API),
            *channel_hooks.routes(),
            web.static("/static", render.STATIC, append_version=True),
        ]
    )
    return app


async def home(request: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther("/queue" if current_staff(request) else "/faq")


async def favicon(request: web.Request) -> web.StreamResponse:
    """Browsers ask for /favicon.ico whatever the page says; pages link the SVG under /static/."""
    return web.FileResponse(render.STATIC / "favicon.ico", headers={
        "Content-Type": "image/x-icon", "Cache-Control": "public, max-age=604800"})
