"""Report figures on a seeded data set, checked against hand-computed values; the staff page and CSV."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET  # noqa: S405 - parsing our own SVG output
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select

from helpdesk.app.intake.messages import InboundMessage, OrganizationHint
from helpdesk.app.intake.routing import RoutingHook
from helpdesk.app.intake.service import IntakeService
from helpdesk.app.outbox import OutboxDispatcher
from helpdesk.app.reports.service import ReportService, csv_export
from helpdesk.app.satisfaction.ratings import RatingService
from helpdesk.app.sla.service import refresh
from helpdesk.app.tickets.service import TicketService
from helpdesk.db.engine import Database
from helpdesk.db.tables import ChatSuggestion, FaqFeedback, Ticket
from helpdesk.domain.errors import ValidationError
from helpdesk.domain.values import Channel, OrgKind, StaffRole, TicketStatus
from helpdesk.ports import FixedClock
from helpdesk.services import Services
from tests.support.web import PASSWORD, login, web_client

MAURIAC = OrganizationHint("Commune de Mauriac", OrgKind.COMMUNE, pays="Pays de Mauriac")
SALERS = OrganizationHint("Commune de Salers", OrgKind.COMMUNE, pays="Pays de Salers")
NOW = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)  # Friday 13:00 in Paris


def utc(mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(2026, mo, d, h, mi, tzinfo=UTC)


def msg(ext: str, sender: str, channel: Channel = Channel.EMAIL, **kw: object) -> InboundMessage:
    base: dict[str, object] = {"channel": channel, "external_id": ext, "subject": "Question", "visible_text": "?"}
    if channel is Channel.EMAIL:
        base["sender_email"] = sender
    else:
        base["telegram_chat_id"] = 4242
    base.update(kw)
    return InboundMessage(**base)  # type: ignore[arg-type]


class _Accepting:
    async def send(self, payload: Mapping[str, Any]) -> None:
        return None


async def seed(db: Database, clock: FixedClock) -> dict[str, int]:
    """Four tickets, two ratings, five suggestion sets and six FAQ feedbacks (times in UTC; Paris = UTC+1)."""
    from helpdesk.app.staff.accounts import UserService

    staff = await UserService(db, clock).add("agent@craig.fr", StaffRole.AGENT, PASSWORD)
    intake = IntakeService(db, clock, [RoutingHook()])
    tickets = TicketService(db, clock)
    tickets.after_change.append(refresh)
    # Replies count for the SLA when the relay or Telegram accepts them: both accept at once here.
    outbox = OutboxDispatcher(db, clock, {"email": _Accepting(), "telegram": _Accepting()})
    n: dict[str, int] = {}

    clock.set(utc(2, 23, 10))  # T0: Monday 23 Feb, never answered
    n["t0"] = (await intake.receive(msg("<t0@x>", "a@mauriac.fr", organization=MAURIAC))).ticket_number or 0
    clock.set(utc(3, 2, 9, 30))  # T1: Monday 10:30 Paris
    n["t1"] = (await intake.receive(msg("<t1@x>", "b@mauriac.fr", organization=MAURIAC))).ticket_number or 0
    await tickets.set_tags(n["t1"], ["budget"], staff)
    clock.set(utc(3, 2, 11, 30))  # answered 2 h later (12:30 Paris)
    await tickets.reply(n["t1"], staff, "Voici")
    assert await outbox.run_once() == 1
    clock.set(utc(3, 2, 15))  # T2 by Telegram: Monday 16:00 Paris
    n["t2"] = (await intake.receive(msg("t2", "", Channel.TELEGRAM))).ticket_number or 0
    clock.set(utc(3, 3, 8))  # T3: Tuesday 9:00 Paris, never answered
    n["t3"] = (await intake.receive(msg("<t3@x>", "c@salers.fr", organization=SALERS))).ticket_number or 0
    await tickets.set_tags(n["t3"], ["budget", "cadastre"], staff)
    clock.set(utc(3, 3, 9))  # Tuesday 10:00 Paris: T1 resolved (7 h), T2 answered (2 h 30) and pending
    await tickets.set_status(n["t1"], TicketStatus.RESOLVED, staff)
    await tickets.reply(n["t2"], staff, "Quel fichier ?")
    assert await outbox.run_once() == 1
    await tickets.set_status(n["t2"], TicketStatus.PENDING, staff)
    clock.set(utc(3, 4, 9))  # Wednesday 10:00: the requester answers, 11:00 resolved (3 h 30 in all)
    await intake.receive(msg("t2b", "", Channel.TELEGRAM, ticket_number=n["t2"]))
    clock.set(utc(3, 4, 10))
    await tickets.set_status(n["t2"], TicketStatus.RESOLVED, staff)
    async with db.transaction() as s:
        refs = {num: ref for num, ref in (await s.execute(select(Ticket.number, Ticket.public_ref))).all()}
        for outcome, entries in (("helpful", ["a"]), ("helpful", ["a"]), ("helpful", ["b"]), ("human", ["c"]),
                                 (None, [])):
            s.add(ChatSuggestion(chat_id=1, query="q", entry_ids=entries, outcome=outcome, created_at=clock.now()))
        for entry, helpful in (("budget-scdl", True), ("budget-scdl", True), ("siret", False), ("siret", False),
                               ("siret", True), ("cog", False)):
            s.add(FaqFeedback(entry_id=entry, helpful=helpful, query="q", created_at=clock.now()))
    ratings = RatingService(db, clock)
    await ratings.rate(refs[n["t1"]], 4)
    await ratings.rate(refs[n["t1"]], 5)  # the last click counts
    await ratings.rate(refs[n["t2"]], 3, channel="telegram")
    with pytest.raises(ValidationError):
        await ratings.rate(refs[n["t3"]], 5)  # still open
    with pytest.raises(ValidationError):
        await ratings.rate(refs[n["t1"]], 6)
    clock.set(NOW)
    return n


async def test_report_figures_match_hand_computed_values(db: Database, clock: FixedClock) -> None:
    await seed(db, clock)
    rep = await ReportService(db, clock).report(weeks=12)
    assert rep.per_week == {date(2026, 2, 23): {"email": 1}, date(2026, 3, 2): {"email": 2, "telegram": 1}}
    fr, res = rep.compliance["first_response"], rep.compliance["resolution"]
    assert (fr.met, fr.breached) == (2, 2)  # T1, T2 answered in time; T0, T3 never answered
    assert (res.met, res.breached) == (2, 1)  # T1, T2 resolved in time; T0 late; T3 still within 5 days
    # First response: 2 h and 2 h 30; resolution: 7 h and 3 h 30 (the pending night and morning excluded).
    assert (rep.times["first_response"].median_hours, rep.times["first_response"].p90_hours) == (2.25, 2.5)
    assert (rep.times["resolution"].median_hours, rep.times["resolution"].p90_hours) == (5.25, 7.0)
    assert rep.backlog == {"moins d'un jour": 0, "1 à 3 jours": 0, "3 à 7 jours": 1, "7 à 30 jours": 1,
                           "plus de 30 jours": 0}
    assert rep.by_tag == [("budget", 2), ("cadastre", 1)]
    assert rep.by_pays == [("Pays de Mauriac", 2), ("Pays de Salers", 1)]
    assert rep.by_organization == [("Commune de Mauriac", 2), ("Commune de Salers", 1)]
    assert (rep.satisfaction.count, rep.satisfaction.average) == (2, 4.0)
    d = rep.deflection
    assert (d.suggestions, d.answered, d.to_staff) == (4, 3, 1)
    assert d.most_used == [("budget-scdl", 2), ("siret", 1)] and d.least_useful == [("siret", 2, 1), ("cog", 1, 0)]
    rows = list(csv.reader(io.StringIO(csv_export(rep, "tickets").lstrip("\ufeff")), delimiter=";"))
    assert rows[0][0] == "ticket" and len(rows) == 5
    t1 = next(r for r in rows[1:] if r[5] == "Commune de Mauriac" and r[7] == "budget")
    assert t1[8:12] == ["2,00", "7,00", "non", "non"]
    assert rep.per_month == {date(2026, 2, 1): {"email": 1}, date(2026, 3, 1): {"email": 2, "telegram": 1}}
    months = csv_export(rep, "months").lstrip("\ufeff").splitlines()
    assert months == ["mois;email;telegram", "2026-02;1;0", "2026-03;2;1"]
    weeks = csv_export(rep, "weeks").lstrip("\ufeff").splitlines()
    assert weeks == ["semaine du;email;telegram", "2026-02-23;1;0", "2026-03-02;2;1"]


async def test_reports_page_charts_and_csv_for_signed_in_staff(clock: FixedClock, services: Services) -> None:
    try:
        await seed(services.db, clock)
        await services.users.add("admin@craig.fr", StaffRole.ADMIN, PASSWORD, name="Alice")
        async with web_client(services) as client:
            anonymous = await client.get("/reports", allow_redirects=False)
            assert anonymous.status in (302, 303, 401)
            await login(client, "admin@craig.fr")
            page = await client.get("/reports?weeks=12")
            html = await page.text()
            assert page.status == 200 and "Rapports" in html and "Pays de Salers" in html
            assert "/reports/charts/weekly.svg?weeks=12" in html
            # the figures a centre reports on come first: month and channel, SLA rates, workshops
            assert html.index("Tickets par mois et par canal") < html.index("Graphiques")
            months = html[html.index("Tickets par mois"):html.index("<h2>Délais</h2>")]
            assert "févr. 2026" in months and "mars 2026" in months and "Courriel" in months
            assert "50 %" in html and "67 %" in html  # first response 2 of 4, resolution 2 of 3
            assert html.index("Pays de Salers") < html.index("Graphiques")
            monthly = await client.get("/reports/charts/monthly.svg?weeks=12")
            assert "mars 2026" in {t.text for t in ET.fromstring(await monthly.text()).iter()}  # noqa: S314
            svg = await client.get("/reports/charts/weekly.svg?weeks=12")
            assert svg.status == 200 and svg.content_type == "image/svg+xml"
            root = ET.fromstring(await svg.text())  # noqa: S314 - our own output
            assert root.tag.endswith("svg")
            texts = {t.text for t in root.iter() if t.text}
            assert "Tickets ouverts par semaine et par canal" in texts and "Telegram" in texts
            assert "https://" not in (await svg.text()).replace("http://www.w3.org", "")
            assert (await client.get("/reports/charts/nope.svg")).status == 404
            export = await client.get("/reports/export/pays.csv")
            assert export.status == 200 and "attachment" in export.headers["Content-Disposition"]
            assert (await export.text()).lstrip("\ufeff").splitlines() == [
                "pays;questions", "Pays de Mauriac;2", "Pays de Salers;1"]
            months = (await (await client.get("/reports/export/months.csv")).text()).lstrip("\ufeff")
            assert months.splitlines()[0] == "mois;Courriel;Telegram"  # codes worded in French
            tickets = (await (await client.get("/reports/export/tickets.csv")).text()).splitlines()
            assert any(";Courriel;Résolu;Normale;Commune de Mauriac;" in row for row in tickets), tickets
    finally:
        await services.db.dispose()


async def test_reports_page_on_a_new_installation_says_so_in_french(services: Services) -> None:
    try:
        await services.users.add("admin@craig.fr", StaffRole.ADMIN, PASSWORD, name="Alice")
        async with web_client(services) as client:
            await login(client, "admin@craig.fr")
            html = await (await client.get("/reports")).text()
            assert "Aucun ticket n'a été ouvert sur cette période" in html
            assert "<table" not in html  # no empty tables
            assert "<img" not in html and html.count("Aucune donnée sur cette période.") == 7
            svg = await (await client.get("/reports/charts/weekly.svg")).text()
            texts = {t.text for t in ET.fromstring(svg).iter() if t.text}  # noqa: S314 - our own output
            assert "Aucune donnée sur cette période" in texts and "No data" not in svg
            assert 'option value="12" selected' in html
    finally:
        await services.db.dispose()
