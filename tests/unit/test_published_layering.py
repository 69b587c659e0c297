"""The published-data package keeps to its layer: no database, no web, no channels; the sidebar reads notes."""

from __future__ import annotations

from types import SimpleNamespace

from helpdesk.app.tickets.published_sidebar import PUBLISHED, published_rows
from tests.test_architecture import offenders


def test_published_package_never_touches_the_database_the_web_or_the_channels() -> None:
    assert offenders("helpdesk.published", ("helpdesk.db", "helpdesk.web", "helpdesk.app", "channels",
                                            "sqlalchemy", "sqlmodel")) == []


def test_the_check_sees_a_real_import() -> None:
    assert offenders("helpdesk.published", ("aiohttp",)) != []  # the fetcher does import aiohttp


def note(mid: int, rows: list[dict], summary: str = "résumé", kind: str = PUBLISHED) -> SimpleNamespace:
    return SimpleNamespace(id=mid, direction="note", meta={"kind": kind, "sidebar": rows, "agent_summary": summary})


def test_sidebar_rows_newest_look_up_wins_and_summaries_follow_their_rows() -> None:
    old = note(1, [{"reference": "a", "link": "https://x/a", "state": "non vérifié"},
                   {"reference": "b", "link": "https://x/b", "state": "vérifié"}], "ancien")
    new = note(5, [{"reference": "a", "link": "https://x/a", "state": "vérifié"}], "nouveau")
    other = note(3, [{"reference": "c"}], kind="filecheck")
    inbound = SimpleNamespace(id=2, direction="inbound", meta={})
    out = published_rows([old, inbound, other, new])  # type: ignore[list-item]
    assert [(r["reference"], r["state"], r["note_id"]) for r in out["rows"]] == [("a", "vérifié", 5),
                                                                                ("b", "vérifié", 1)]
    assert [s["text"] for s in out["summaries"]] == ["nouveau", "ancien"]
    assert published_rows([]) == {"rows": [], "summaries": []}
