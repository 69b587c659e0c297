"""Errors at the web edge: ours are temporary (503, retry), the caller's are answered clearly."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from helpdesk.domain.errors import NotFound, TemporaryError, UserError

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

UNAVAILABLE_FR = "Service momentanément indisponible. Merci de réessayer dans quelques instants."


def _wants_json(request: web.Request) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except TemporaryError:
        log.warning("temporary failure on %s %s", request.method, request.path)
        headers = {"Retry-After": "30"}
        if _wants_json(request):
            return web.json_response({"error": "unavailable", "message": UNAVAILABLE_FR}, status=503, headers=headers)
        return web.Response(text=UNAVAILABLE_FR, status=503, headers=headers, content_type="text/plain")
    except NotFound as exc:
        if _wants_json(request):
            return web.json_response({"error": "not_found", "message": str(exc)}, status=404)
        return web.Response(text="Page introuvable.", status=404, content_type="text/plain")
    except UserError as exc:
        if _wants_json(request):
            return web.json_response({"error": "bad_request", "message": str(exc)}, status=400)
        return web.Response(text=f"Requête invalide : {exc}", status=400, content_type="text/plain")
