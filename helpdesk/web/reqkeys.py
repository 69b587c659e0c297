"""Typed keys of what the web edge stores on a request."""

from __future__ import annotations

from aiohttp import web

from helpdesk.app.staff.sessions import StaffIdentity

STAFF: web.RequestKey[StaffIdentity] = web.RequestKey("staff")
CSRF: web.RequestKey[str | None] = web.RequestKey("csrf")  # None for API tokens: no form to protect
FLASH_SHOWN: web.RequestKey[bool] = web.RequestKey("flash_shown")
FLASH_COOKIE = "hd_flash"


def current_staff(request: web.Request) -> StaffIdentity | None:
    return request.get(STAFF)
