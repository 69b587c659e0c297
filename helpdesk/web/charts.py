"""Report charts drawn server-side as SVG with pygal (no CDN, no script needed to display them)."""

from __future__ import annotations

import sys
from datetime import date
from typing import Any

import pygal
from pygal.style import Style

from helpdesk.domain import reports as r

# pygal appends a legacy sys.meta_path finder (PluginImportFixer, for pygal.maps plugins we do not
# use) that has no find_spec(): every later failed import then raises an ImportWarning. Drop it.
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "PluginImportFixer"]

STYLE = Style(background="white", plot_background="white", font_family="system-ui, sans-serif",
              colors=("#1f5f8b", "#e0812f", "#3c9d5d", "#b8433b", "#7a5ba6", "#8c8c8c"),
              title_font_size=18, label_font_size=13, major_label_font_size=13, legend_font_size=14,
              value_font_size=13, tooltip_font_size=13, no_data_font_size=18)
CHANNELS_FR = {"email": "Courriel", "telegram": "Telegram", "web": "Formulaire web", "phone": "Téléphone", "api": "API"}
MONTHS_FR = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc.")
NO_DATA = "Aucune donnée sur cette période"
# Drawn wide: the page shows each chart across the full width of the main column (CSS scales it).
WIDTH, HEIGHT = 1200, 380


def _config(title: str, **kw: Any) -> dict[str, Any]:
    return {"title": title, "style": STYLE, "width": WIDTH, "height": HEIGHT, "js": [],
            "disable_xml_declaration": True, "print_values": False, "legend_at_bottom": True,
            "truncate_legend": -1, "no_data_text": NO_DATA, **kw}


def month_label(month: date) -> str:
    """``mars 2026``: a month as the French read it on a chart axis."""
    return f"{MONTHS_FR[month.month - 1]} {month.year}"


def _render(chart: Any) -> str:
    return str(chart.render(is_unicode=True))


def weekly(per_week: dict[date, dict[str, int]]) -> str:
    chart = pygal.StackedBar(**_config("Tickets ouverts par semaine et par canal", x_label_rotation=30))
    weeks = list(per_week)
    chart.x_labels = [w.strftime("%d/%m") for w in weeks]
    for channel in sorted({c for counts in per_week.values() for c in counts}):
        chart.add(CHANNELS_FR.get(channel, channel), [per_week[w].get(channel, 0) for w in weeks])
    return _render(chart)


def monthly(per_month: dict[date, dict[str, int]]) -> str:
    chart = pygal.StackedBar(**_config("Tickets ouverts par mois et par canal"))
    months = list(per_month)
    chart.x_labels = [month_label(m) for m in months]
    for channel in sorted({c for counts in per_month.values() for c in counts}):
        chart.add(CHANNELS_FR.get(channel, channel), [per_month[m].get(channel, 0) for m in months])
    return _render(chart)


def compliance(figures: dict[str, r.Compliance]) -> str:
    chart = pygal.Bar(**_config("Respect des délais (%)", range=(0, 100), value_formatter=lambda v: f"{v:.0f} %"))
    labels = {"first_response": "Première réponse", "resolution": "Résolution"}
    for key, label in labels.items():
        rate = figures[key].rate
        chart.add(label, [rate * 100 if rate is not None else None])
    return _render(chart)


def backlog(by_age: dict[str, int]) -> str:
    chart = pygal.Bar(**_config("Tickets en attente par ancienneté", show_legend=False))
    chart.x_labels = list(by_age)
    chart.add("Tickets", list(by_age.values()))
    return _render(chart)


def satisfaction(sat: r.Satisfaction) -> str:
    chart = pygal.Bar(**_config("Satisfaction (notes de 1 à 5)", show_legend=False))
    chart.x_labels = [str(score) for score in sat.by_score]
    chart.add("Réponses", list(sat.by_score.values()))
    return _render(chart)


def themes(pairs: list[tuple[str, int]], title: str) -> str:
    chart = pygal.HorizontalBar(**_config(title, show_legend=False))
    chart.x_labels = [name for name, _ in reversed(pairs)]
    chart.add("Questions", [n for _, n in reversed(pairs)])
    return _render(chart)
