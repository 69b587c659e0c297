"""Security headers on every response, and the one place where the web edge turns errors into answers."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from helpdesk.app.ratelimit import Throttled
from helpdesk.domain.errors import Conflict, NotFound, TemporaryError, UserError
from helpdesk.domain.messages_fr import user_message_fr
from helpdesk.web.render import render

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# A sanitised e-mail shown on demand: no script, no remote content, no form, no navigation of the opener.
EMAIL_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; sandbox"

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _apply(exc, request)
        raise
    _apply(response, request)
    return response


def _apply(response: web.StreamResponse, request: web.Request) -> None:
    if response.prepared:
        return
    response.headers.setdefault("Content-Security-Policy", CSP)
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.path.startswith(("/api/", "/tickets/", "/queue", "/account", "/admin", "/quarantine", "/automatic",
                                "/phone", "/espace")):
        response.headers.setdefault("Cache-Control", "no-store")


def is_api(request: web.Request) -> bool:
    return request.path.startswith("/api/")


def _status(exc: UserError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, Throttled):
        return 429
    return 400


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The sender's fault answers clearly; ours answers 503 (temporary) or 500, logged once here."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except UserError as exc:
        status = _status(exc)
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Throttled) else None
        return _answer(request, status, user_message_fr(exc), headers)
    except TemporaryError:
        log.warning("temporary failure on %s %s", request.method, request.path)
        return _answer(request, 503, "Service momentanément indisponible, réessayez dans un instant.",
                       {"Retry-After": "30"})
    except Exception:
        log.exception("unexpected error on %s %s", request.method, request.path)
        return _answer(request, 500, "Erreur interne : l'incident a été consigné.")


def _answer(request: web.Request, status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    if is_api(request):
        return web.json_response({"error": message}, status=status, headers=headers)
    response = render("error.html", request, {"status": status, "message": message}, status=status)
    for k, v in (headers or {}).items():
        response.headers[k] = v
    return response
