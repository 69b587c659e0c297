"""Who is asking in the requester portal: a requester session (cookie) or bearer token, never a staff one.

Owns /espace and /api/v1/portal/ (``auth.is_portal``); the staff middleware lets those through untouched.
Same rules as the staff side: server-side sessions (their own table and cookie), CSRF on every
state-changing form (the session's token, or the anonymous cookie before sign-in), the same CSP.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web

from helpdesk.app.portal.signin import SESSION_IDLE, RequesterIdentity
from helpdesk.web.auth import ANON_CSRF_COOKIE, SAFE_METHODS, _check_csrf, is_portal
from helpdesk.web.context import ctx
from helpdesk.web.reqkeys import CSRF, FLASH_COOKIE, FLASH_SHOWN

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

REQUESTER: web.RequestKey[RequesterIdentity] = web.RequestKey("requester")
API_PREFIX = "/api/v1/portal/"
PUBLIC_API = {("POST", "/api/v1/portal/signin"), ("POST", "/api/v1/portal/session")}
PUBLIC_PAGES = {"/espace/connexion"}
PUBLIC_PAGE_PREFIXES = ("/espace/lien/",)
SIGN_IN_PAGE = "/espace/connexion"


def cookie_name(request: web.Request) -> str:
    return "__Host-hd_espace" if ctx(request).secure_cookies else "hd_espace"


def requester(request: web.Request) -> RequesterIdentity:
    """The signed-in requester (the middleware guarantees one outside the public portal pages)."""
    return request[REQUESTER]


def current_requester(request: web.Request) -> RequesterIdentity | None:
    return request.get(REQUESTER)


def set_session_cookie(response: web.StreamResponse, request: web.Request, token: str) -> None:
    response.set_cookie(cookie_name(request), token, httponly=True, samesite="Lax", secure=ctx(request).secure_cookies,
                        path="/", max_age=int(SESSION_IDLE.total_seconds()))
    response.del_cookie(ANON_CSRF_COOKIE, path="/")


def _public_page(path: str) -> bool:
    return path in PUBLIC_PAGES or path.startswith(PUBLIC_PAGE_PREFIXES)


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not is_portal(request.path):
        return await handler(request)
    c = ctx(request)
    if request.path.startswith(API_PREFIX):
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            who = await c.portal_auth.session(header[7:].strip(), kind="api")
            if who is not None:
                request[REQUESTER] = who
        if REQUESTER not in request and (request.method, request.path) not in PUBLIC_API:
            return web.json_response({"error": "authentification requise (jeton de demandeur)"}, status=401,
                                     headers={"WWW-Authenticate": 'Bearer realm="espace"'})
        request[CSRF] = None
        return await handler(request)

    token = request.cookies.get(cookie_name(request), "")
    who = await c.portal_auth.session(token, kind="web") if token else None
    if who is not None:
        request[REQUESTER] = who
    elif not _public_page(request.path):
        raise web.HTTPSeeOther(SIGN_IN_PAGE)
    anon = request.cookies.get(ANON_CSRF_COOKIE, "")
    fresh = None
    if who is None and not anon:
        anon = fresh = secrets.token_urlsafe(24)
    request[CSRF] = who.csrf_token if who is not None else anon
    if request.method not in SAFE_METHODS:
        await _check_csrf(request, who.csrf_token if who is not None else request.cookies.get(ANON_CSRF_COOKIE, ""))
    response = await handler(request)
    if request.get(FLASH_SHOWN) and not response.prepared:
        response.del_cookie(FLASH_COOKIE, path="/")
    if fresh and not response.prepared:
        response.set_cookie(ANON_CSRF_COOKIE, fresh, httponly=True, samesite="Lax", secure=c.secure_cookies, path="/")
    return response
