"""The reports page for staff: figures, SVG charts drawn on the server, CSV exports.

Staff only: the authentication middleware refuses every path that is not public, /reports included.
"""

from __future__ import annotations

import time

from aiohttp import web

from helpdesk.app.reports.service import Report, csv_export
from helpdesk.domain.errors import NotFound
from helpdesk.web import charts, labels
from helpdesk.web.context import ctx
from helpdesk.web.render import render

CACHE_SECONDS = 60.0
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'"
# name -> what the chart shows (its alternative text, and the sentence when there is nothing to draw)
CHARTS = {
    "monthly": "Tickets ouverts par mois et par canal",
    "weekly": "Tickets ouverts par semaine et par canal",
    "compliance": "Respect des délais",
    "backlog": "Tickets en attente par ancienneté",
    "satisfaction": "Satisfaction des demandeurs",
    "tags": "Questions par thème",
    "pays": "Questions par Pays",
}
TABLES = {"tickets": "Tickets", "months": "Tickets par mois", "weeks": "Tickets par semaine", "tags": "Thèmes",
          "pays": "Pays", "organizations": "Organisations"}
PERIODS = (4, 12, 26, 52, 104)
CSV_LABELS = {**labels.CHANNEL, **labels.STATUS, **labels.PRIORITY}  # codes worded in French in the exports


def charts_with_data(report: Report) -> dict[str, bool]:
    """Which charts have something to draw; the page shows a sentence in place of the others."""
    return {
        "monthly": bool(report.per_month), "weekly": bool(report.per_week),
        "compliance": any(c.total for c in report.compliance.values()),
        "backlog": any(report.backlog.values()), "satisfaction": report.satisfaction.count > 0,
        "tags": bool(report.by_tag), "pays": bool(report.by_pays),
    }


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
    report = await _report(request)
    months = [(charts.month_label(m), counts) for m, counts in report.per_month.items()]
    channels = sorted({c for counts in report.per_month.values() for c in counts})
    return render("reports.html", request, {
        "r": report, "weeks": _weeks(request), "periods": PERIODS, "charts": CHARTS, "tables": TABLES,
        "has_data": charts_with_data(report), "months": months, "channels": channels})


async def chart(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    report = await _report(request)
    draw = {
        "monthly": lambda: charts.monthly(report.per_month),
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
        text = csv_export(await _report(request), table, CSV_LABELS)
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
