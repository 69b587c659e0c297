"""Typed keys for what the aiohttp application carries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from helpdesk.bootstrap import Services

SERVICES: web.AppKey[Services] = web.AppKey("services")
