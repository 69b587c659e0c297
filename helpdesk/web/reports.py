"""The reports page for staff: figures, SVG charts drawn on the server, CSV exports.

Staff only: the authentication middleware refuses every path that is not public, /reports included.
"""

from __future__ import annotations

import time

from aiohttp import web

from helpdesk.app.reports.service import Report, csv_export
from helpdesk.domain.errors import NotFound
from helpdesk.web import charts
from helpdesk.web.context import ctx
from helpdesk.web.render import render

CACHE_SECONDS = 60.0
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'"
CHARTS = ("weekly", "compliance", "backlog", "satisfaction", "tags", "pays")
TABLES = ("tickets", "weeks", "tags", "pays", "organizations")


def _weeks(request: web.Request) -> int:
    try:
        return min(104, max(1, int(request.query.get("weeks", "12"))))
    except ValueError:
        return 12


async def _report(request: web.Request) -> Report:
    """The report for the requested span, cached a minute (the page and its charts share it)."""
    c = ctx(request)
    weeks = _weeks(request)
    cache = c.report_cache
    hit = cache.get(weeks)
    if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1]
    report = await c.reports.report(weeks)
    cache[weeks] = (time.monotonic(), report)
    return report


async def reports_page(request: web.Request) -> web.StreamResponse:
    return render("reports.html", request, {"r": await _report(request), "weeks": _weeks(request),
                                            "charts": CHARTS, "tables": TABLES})


async def chart(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    report = await _report(request)
    draw = {
        "weekly": lambda: charts.weekly(report.per_week),
        "compliance": lambda: charts.compliance(report.compliance),
        "backlog": lambda: charts.backlog(report.backlog),
        "satisfaction": lambda: charts.satisfaction(report.satisfaction),
        "tags": lambda: charts.themes(report.by_tag, "Questions par thème"),
        "pays": lambda: charts.themes(report.by_pays, "Questions par Pays"),
    }
    if name not in draw:
        raise web.HTTPNotFound()
    return web.Response(text=draw[name](), content_type="image/svg+xml",
                        headers={"Content-Security-Policy": SVG_CSP, "Cache-Control": "private, max-age=60"})


async def export(request: web.Request) -> web.StreamResponse:
    table = request.match_info["table"]
    try:
        text = csv_export(await _report(request), table)
    except NotFound:
        raise web.HTTPNotFound() from None
    return web.Response(text=text, content_type="text/csv", charset="utf-8", headers={
        "Content-Disposition": f'attachment; filename="rapport-{table}.csv"'})


def routes() -> list[web.RouteDef]:
    return [
        web.get("/reports", reports_page),
        web.get("/reports/charts/{name:[a-z]+}.svg", chart),
        web.get("/reports/export/{table:[a-z]+}.csv", export),
    ]
