"""Who is asking: staff sessions (cookie), API tokens (bearer), CSRF on every state-changing request.

Public routes (the FAQ, login, health, static files, the OpenAPI document) are the only ones open to
anonymous visitors; every other page redirects to the login form and every API route answers 401.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import quote, urlsplit

from aiohttp import web

from helpdesk.app.staff.sessions import SESSION_IDLE, StaffIdentity
from helpdesk.web import throttle
from helpdesk.web.context import ctx
from helpdesk.web.render import render
from helpdesk.web.reqkeys import CSRF, FLASH_COOKIE, FLASH_SHOWN, STAFF, current_staff

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
ANON_CSRF_COOKIE = "hd_csrf"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
PUBLIC_PREFIXES = ("/static/", "/faq/", "/satisfaction/")  # /satisfaction/: rating links in mail
PUBLIC_PATHS = {"/", "/healthz", "/readyz", "/metrics", "/login", "/faq", "/api/v1/openapi.json", "/favicon.ico"}


def session_cookie(request: web.Request) -> str:
    return "__Host-hd_session" if ctx(request).secure_cookies else "hd_session"


def is_portal(path: str) -> bool:
    """The requester portal's pages and API: authenticated by web/portal_auth.py, never as staff."""
    return path == "/espace" or path.startswith(("/espace/", "/api/v1/portal/"))


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def staff(request: web.Request) -> StaffIdentity:
    """The signed-in staff member (the middleware guarantees one on non-public routes)."""
    return request[STAFF]


def client_address(request: web.Request) -> str:
    return throttle.request_client(request, ctx(request).auth.trusted_proxies)


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith("/hooks/"):  # channel webhooks authenticate themselves (web/webhooks.py)
        return await handler(request)
    if is_portal(request.path):  # requesters: their own sessions (web/portal_auth.py), never a staff one
        return await handler(request)
    c = ctx(request)
    if request.path.startswith("/api/"):
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            identity = await c.auth.authenticate_token(header[7:].strip())
            if identity is not None:
                request[STAFF] = identity
        if STAFF not in request and not is_public(request.path):
            return web.json_response({"error": "authentification requise (jeton d'API)"}, status=401,
                                     headers={"WWW-Authenticate": 'Bearer realm="helpdesk"'})
        return await handler(request)

    token = request.cookies.get(session_cookie(request), "")
    identity = await c.auth.session(token) if token else None
    if identity is not None:
        request[STAFF] = identity
    elif not is_public(request.path):
        if request.method in SAFE_METHODS:
            raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs, safe='')}")
        raise web.HTTPSeeOther("/login")
    anon_token = request.cookies.get(ANON_CSRF_COOKIE, "")
    fresh_anon = None
    if identity is None and not anon_token:
        anon_token = fresh_anon = secrets.token_urlsafe(24)
    request[CSRF] = identity.csrf_token if identity else anon_token
    if request.method not in SAFE_METHODS:
        await _check_csrf(request, identity.csrf_token if identity else request.cookies.get(ANON_CSRF_COOKIE, ""))
    response = await handler(request)
    if request.get(FLASH_SHOWN) and not response.prepared:
        response.del_cookie(FLASH_COOKIE, path="/")
    if fresh_anon and not response.prepared:
        response.set_cookie(ANON_CSRF_COOKIE, fresh_anon, httponly=True, samesite="Lax",
                            secure=c.secure_cookies, path="/")
    return response


async def _check_csrf(request: web.Request, expected: str | None) -> None:
    origin = request.headers.get("Origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.host:
        raise web.HTTPForbidden(text="Requête refusée : origine inconnue.")
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        value = form.get(CSRF_FIELD, "")
        sent = value if isinstance(value, str) else ""
    if not expected or not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise web.HTTPForbidden(text="Requête refusée : jeton de sécurité absent ou périmé. Rechargez la page.")


def require_admin(request: web.Request) -> StaffIdentity:
    who = staff(request)
    if not who.is_admin:
        raise web.HTTPForbidden(text="Action réservée aux administrateurs.")
    return who


def flash(response: web.StreamResponse, request: web.Request, message: str) -> None:
    response.set_cookie(FLASH_COOKIE, quote(message[:300]), httponly=True, samesite="Lax",
                        secure=ctx(request).secure_cookies, path="/", max_age=60)


def redirect(request: web.Request, location: str, message: str | None = None) -> web.HTTPSeeOther:
    response = web.HTTPSeeOther(location)
    if message:
        flash(response, request, message)
    return response


# ---- views ---------------------------------------------------------------------------------
_LOCAL_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9/_.~%?=&+-]*")


def _safe_next(value: str) -> str:
    """Only a path on this site: no scheme, no //host, no backslash or control character tricks."""
    return value if _LOCAL_PATH.fullmatch(value) else "/queue"


async def login_form(request: web.Request) -> web.StreamResponse:
    if current_staff(request) is not None:
        raise web.HTTPSeeOther("/queue")
    return render("login.html", request, {"next": _safe_next(request.query.get("next", "/queue")), "error": None})


async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    email, password = str(form.get("email", "")), str(form.get("password", ""))
    nxt = _safe_next(str(form.get("next", "/queue")))
    device = request.cookies.get(throttle.DEVICE_COOKIE) or None
    result = await ctx(request).auth.login(email, password, client_address(request), device)
    if result is None:
        return render("login.html", request,
                      {"next": nxt, "error": "Adresse ou mot de passe incorrect.", "email": email}, status=401)
    token, who = result
    response = web.HTTPSeeOther(nxt)
    response.set_cookie(session_cookie(request), token, httponly=True, samesite="Lax",
                        secure=ctx(request).secure_cookies, path="/", max_age=int(SESSION_IDLE.total_seconds()))
    response.del_cookie(ANON_CSRF_COOKIE, path="/")
    if device is None or not await ctx(request).auth.known_device(device, who.email.lower()):
        throttle.set_device_cookie(response, await ctx(request).auth.remember_device(who.id),
                                   secure=ctx(request).secure_cookies)
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    token = request.cookies.get(session_cookie(request), "")
    if token:
        await ctx(request).auth.logout(token)
    response = web.HTTPSeeOther("/login")
    response.del_cookie(session_cookie(request), path="/")
    raise response
