"""`helpdesk sla explain` and `helpdesk sla recompute` as a user runs them: a real process."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from helpdesk.app.intake.messages import InboundMessage
from helpdesk.app.intake.routing import RoutingRules
from helpdesk.app.intake.service import IntakeService
from helpdesk.app.sla.admin import SlaAdmin
from helpdesk.app.sla.service import SlaService
from helpdesk.db.engine import Database
from helpdesk.db.tables import Ticket
from helpdesk.domain.errors import NotFound, ValidationError
from helpdesk.domain.values import Channel
from helpdesk.ports import FixedClock
from tests.integration.test_cli import cli_env, run


async def test_explain_prints_due_times_per_priority(db: Database, tmp_path: Path) -> None:
    env = cli_env(db.url, tmp_path)
    out = run(["sla", "explain", "--policy", "standard", "--start", "2026-03-06T17:25:00+01:00", "--json"], env)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["policy"] == "standard" and data["timezone"] == "Europe/Paris"
    # Friday 17:25: 5 minutes on Friday, the rest from Monday 9:00 (times in UTC, Paris is UTC+1).
    assert data["targets"]["urgent"] == {"first_response_due": "2026-03-09T08:55:00+00:00",
                                         "resolution_due": "2026-03-09T16:25:00+00:00"}
    assert data["targets"]["high"]["first_response_due"] == "2026-03-09T12:55:00+00:00"
    text = run(["sla", "explain", "--policy", "standard", "--start", "2026-07-13T17:00"], env)
    assert text.returncode == 0, text.stderr
    assert "urgente  première réponse : mercredi 15 juillet 2026 à 9 h 30" in text.stdout  # 14 July skipped
    missing = run(["sla", "explain", "--policy", "nope", "--start", "2026-07-13T17:00"], env)
    assert missing.returncode == 1 and missing.stderr.strip() == "helpdesk: politique de délais « nope » introuvable"
    bad = run(["sla", "explain", "--policy", "standard", "--start", "demain"], env)
    assert bad.returncode == 1 and "date et heure ISO attendues" in bad.stderr


async def test_recompute_fills_sla_from_the_event_log(db: Database, clock: FixedClock, tmp_path: Path) -> None:
    # Intake without the routing hook: the ticket has no SLA figures yet.
    await IntakeService(db, clock).receive(InboundMessage(channel=Channel.EMAIL, external_id="<x@y>",
                                                          sender_email="a@b.fr", subject="s", visible_text="t"))
    out = run(["sla", "recompute"], cli_env(db.url, tmp_path))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().startswith("Délais recalculés depuis le journal des événements : 1 ticket(s) (")
    async with db.transaction() as s:
        t = (await s.scalars(select(Ticket))).one()
    assert t.sla_policy == "standard" and t.resolution_due is not None


async def test_admin_edits_targets_closures_and_routing_rules(db: Database, clock: FixedClock,
                                                              tmp_path: Path) -> None:
    admin = SlaAdmin(db, clock)
    standard = (await admin.policies())[0]
    assert standard.name == "standard" and standard.targets["normal"] == {"first_response": 450,
                                                                               "resolution": 2250}
    env = cli_env(db.url, tmp_path)
    out = run(["sla", "target", "--policy", "standard", "--priority", "normal", "--kind", "commune",
               "--first-response", "120", "--resolution", "900"], env)
    assert out.returncode == 0 and "enregistrés ; 0 ticket(s) ouvert(s) recalculé(s)" in out.stdout, out.stderr
    assert (await admin.policies())[0].overrides == {"commune": {"normal": {"first_response": 120,
                                                                               "resolution": 900}}}
    with pytest.raises(NotFound):
        await admin.set_target("nope", "low", first_response=None, resolution=60)
    with pytest.raises(ValidationError):
        await admin.set_target("standard", "low", first_response=0, resolution=60)

    added = run(["sla", "closure", "add", "2026-12-24", "2026-12-31", "--label", "Fin d'année"], env)
    assert added.returncode == 0, added.stderr
    closures = await admin.closures()
    assert [(c.starts_on, c.ends_on, c.label) for c in closures] == [(date(2026, 12, 24), date(2026, 12, 31),
                                                                        "Fin d'année")]
    # The CLI prints the same read models as plain JSON (dates as ISO strings).
    listed = json.loads(run(["sla", "closure", "list", "--json"], env).stdout)
    assert listed == [{"id": closures[0].id, "calendar": closures[0].calendar, "starts_on": "2026-12-24",
                       "ends_on": "2026-12-31", "label": "Fin d'année"}]
    [printed] = json.loads(run(["sla", "policies", "--json"], env).stdout)
    assert printed["name"] == "standard" and printed["default"] is True
    assert printed["overrides"] == {"commune": {"normal": {"first_response": 120, "resolution": 900}}}
    explained = await SlaService(db, clock).explain("standard", datetime(2026, 12, 23, 17))
    assert explained.targets["urgent"].first_response_due == datetime(2027, 1, 4, 8, 30, tzinfo=UTC)
    await admin.remove_closure(closures[0].id)
    assert await admin.closures() == []
    with pytest.raises(ValidationError):
        await admin.add_closure(date(2026, 12, 31), date(2026, 12, 24))

    rule = run(["routing", "add", "Mauriac", "--pays", "Pays de Mauriac", "--pays", "Pays de Salers",
                "--priority", "high", "--tag", "cantal"], env)
    assert rule.returncode == 0, rule.stderr
    rules = json.loads(run(["routing", "list", "--json"], env).stdout)
    assert [(r["name"], r["pays"], r["priority"], r["tags"]) for r in rules] == [
        ("Mauriac", ["Pays de Mauriac", "Pays de Salers"], "high", ["cantal"])]
    with pytest.raises(NotFound):
        await RoutingRules(db, clock).add("x", team="Inconnue")
    await admin.remove_rule(rules[0]["id"])
    assert list(await RoutingRules(db, clock).list()) == []
