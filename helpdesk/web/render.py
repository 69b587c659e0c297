"""The Jinja2 environment: templates, filters and what every page gets (who is signed in, CSRF, flash)."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlencode

import aiohttp_jinja2
import jinja2
from aiohttp import web

from helpdesk.web import labels
from helpdesk.web.linkify import linkify
from helpdesk.web.reqkeys import CSRF, FLASH_COOKIE, FLASH_SHOWN, current_staff

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")


def page_context(request: web.Request) -> dict[str, Any]:
    flash = request.cookies.get(FLASH_COOKIE)
    if flash:
        request[FLASH_SHOWN] = True
    return {
        "staff": current_staff(request),
        "csrf_token": request.get(CSRF, ""),
        "flash": unquote(flash) if flash else None,
        "path": request.path,
    }


@functools.cache
def asset_url(name: str) -> str:
    """A static file's URL with a content hash, so browsers may cache it for long."""
    digest = hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]
    return f"/static/{name}?v={digest}"


def render(template: str, request: web.Request, context: dict[str, Any], *, status: int = 200) -> web.Response:
    """A page with what every page gets (who is signed in, the CSRF token, the flash message)."""
    return aiohttp_jinja2.render_template(template, request, {**page_context(request), **context}, status=status)


def _query(base: dict[str, Any], **changes: Any) -> str:
    merged = {k: v for k, v in {**base, **changes}.items() if v not in (None, "")}
    return urlencode(merged, doseq=True)


def setup(app: web.Application) -> None:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    )
    env.filters.update(
        when=labels.local_time, left=labels.duration, size=labels.file_size,
        status=lambda v: labels.STATUS.get(v, v), priority=lambda v: labels.PRIORITY.get(v, v),
        channel=lambda v: labels.CHANNEL.get(v, v), direction=lambda v: labels.DIRECTION.get(v, v),
        delivery=lambda v: labels.DELIVERY.get(v, v or ""), org_kind=lambda v: labels.ORG_KIND.get(v, v),
        kb_status=lambda v: labels.KB_STATUS.get(v, v),
        auto_kind=lambda v: labels.AUTOMATIC_KIND.get(v, v or "Automatique"),
        thread_reason=labels.thread_reason, linkify=linkify,
    )
    env.globals.update(query=_query, labels=labels, asset=asset_url)
