"""The queue on both databases: SLA order, keyset pages, filters, text search, counts, polling, bulk actions."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from helpdesk.app.tickets.queue import QueueFilter, QueueService, with_view
from helpdesk.db.engine import Database
from helpdesk.db.tables import Ticket
from helpdesk.domain.values import Channel, Priority, TicketStatus
from helpdesk.ports import FixedClock
from helpdesk.services import Services
from tests.support.web import add_staff, login, mail, services_for, web_client


async def _set(db: Database, number: int, **values: object) -> None:
    async with db.transaction() as s:
        t = (await s.scalars(select(Ticket).where(Ticket.number == number))).one()
        for k, v in values.items():
            setattr(t, k, v)


async def _seed(db: Database, clock: FixedClock, n: int) -> list[int]:
    services = services_for(db.url, clock)
    numbers = []
    for i in range(n):
        res = await services.intake.receive(mail(f"<q{i}@x>", sender_email=f"p{i}@mairie.fr",
                                                 subject=f"Demande {i}", text=f"texte {i}"))
        assert res.ticket_number
        numbers.append(res.ticket_number)
    await services.db.dispose()
    return numbers


async def test_sla_order_and_keyset_pages_cover_every_open_ticket_once(db: Database, clock: FixedClock) -> None:
    numbers = await _seed(db, clock, 9)
    now = clock.now()
    # Due times: some by first response, some (answered) by resolution, two without any, two share a time.
    plan = {0: ("first", 5), 1: ("first", -30), 2: ("res", 60), 3: (None, 0), 4: ("first", 5), 5: ("res", 1),
            6: (None, 0), 7: ("first", 120), 8: ("res", 30)}
    for i, (kind, minutes) in plan.items():
        due = now + timedelta(minutes=minutes)
        if kind == "first":
            await _set(db, numbers[i], first_response_due=due, resolution_due=due + timedelta(days=5),
                       first_response_at=None)
        elif kind == "res":
            await _set(db, numbers[i], first_response_due=now - timedelta(days=1), first_response_at=now,
                       resolution_due=due)
        else:
            await _set(db, numbers[i], first_response_due=None, resolution_due=None, first_response_at=None)
    await _set(db, numbers[8], status=TicketStatus.CLOSED.value)
    queue = QueueService(db, clock)

    async def walk(f: QueueFilter) -> list[int]:
        seen: list[int] = []
        cursor = None
        while True:
            page = await queue.page(f, me=None, cursor=cursor, limit=2)
            seen += [row.number for row in page.items]
            cursor = page.next_cursor
            if cursor is None:
                return seen

    idx = {n: i for i, n in enumerate(numbers)}
    expected = [1, 5, 0, 4, 2, 7, 3, 6]  # overdue first, closed excluded, no due last, ties by id
    assert [idx[n] for n in await walk(QueueFilter())] == expected
    # A text search takes the single-scan path: same order, same pages.
    assert [idx[n] for n in await walk(QueueFilter(text="texte"))] == expected
    assert [idx[n] for n in await walk(QueueFilter(statuses=()))] == [1, 5, 0, 4, 8, 2, 7, 3, 6]
    first = (await queue.page(QueueFilter(), me=None, limit=1)).items[0]
    assert first.breached and first.seconds_left == -1800


async def test_filters_text_search_counts_and_views(db: Database, clock: FixedClock) -> None:
    services = services_for(db.url, clock)
    admin, agent = await add_staff(services)
    a = await services.intake.receive(mail("<f1@x>", subject="Budget primitif", text="Le fichier SCDL est refusé"))
    b = await services.intake.receive(mail("<f2@x>", sender_email="b@x.fr", subject="Adresses", text="BAL à jour",
                                           channel=Channel.WEB))
    c = await services.intake.receive(mail("<f3@x>", sender_email="c@x.fr", subject="100% des données",
                                           text="Tout est prêt ?"))
    assert a.ticket_number and b.ticket_number and c.ticket_number
    await services.tickets.assign(a.ticket_number, agent, admin)
    await services.tickets.set_tags(b.ticket_number, ["bal", "urgent-mairie"], admin)
    await services.tickets.set_priority(c.ticket_number, Priority.HIGH, admin)
    await _set(db, c.ticket_number, first_response_due=clock.now() + timedelta(minutes=30))
    await _set(db, a.ticket_number, first_response_due=clock.now() + timedelta(days=2))
    await _set(db, b.ticket_number, first_response_due=clock.now() + timedelta(days=2))
    queue = QueueService(db, clock)

    async def numbers(f: QueueFilter, me: int | None = agent) -> set[int]:
        return {r.number for r in (await queue.page(f, me=me)).items}

    assert await numbers(QueueFilter(text="scdl")) == {a.ticket_number}  # found in the message, any case
    assert await numbers(QueueFilter(text="budget")) == {a.ticket_number}  # found in the subject
    assert await numbers(QueueFilter(text="100%")) == {c.ticket_number}  # LIKE wildcards are literal
    assert await numbers(QueueFilter(text=f"#{b.ticket_number}")) == {b.ticket_number}
    assert await numbers(QueueFilter(tag="bal")) == {b.ticket_number}
    assert await numbers(QueueFilter(tag="urgent")) == set()  # whole tags only
    assert await numbers(QueueFilter(channel="web")) == {b.ticket_number}
    assert await numbers(QueueFilter(priority="high")) == {c.ticket_number}
    assert await numbers(with_view(QueueFilter(), "mine")) == {a.ticket_number}
    assert await numbers(with_view(QueueFilter(), "unassigned")) == {b.ticket_number, c.ticket_number}
    assert await numbers(with_view(QueueFilter(), "breaching")) == {c.ticket_number}
    assert await numbers(QueueFilter(statuses=("closed",))) == set()
    assert await queue.counts(agent) == {"open": 3, "mine": 1, "unassigned": 2, "breaching": 1}
    latest = await queue.latest_id()
    d = await services.intake.receive(mail("<f4@x>", sender_email="d@x.fr", subject="Nouveau"))
    polled = await queue.new_since(latest)
    assert [t.number for t in polled.tickets] == [d.ticket_number] and polled.latest > latest
    await services.db.dispose()


async def test_queue_page_filters_polling_and_bulk_actions(db: Database, clock: FixedClock) -> None:
    services = services_for(db.url, clock)
    admin, agent = await add_staff(services)
    ids = [await services.intake.receive(mail(f"<b{i}@x>", sender_email=f"b{i}@x.fr", subject=f"Sujet {i}"))
           for i in range(3)]
    nums = [r.ticket_number for r in ids]
    async with web_client(services) as client:
        token = await login(client, "agent@craig.fr")
        html = await (await client.get("/queue?q=Sujet+1")).text()
        assert f"#{nums[1]}" in html and f"#{nums[0]}<" not in html
        latest = int(re.search(r'data-latest="(\d+)"', await (await client.get("/queue")).text()).group(1))
        assert (await (await client.get(f"/queue/poll?after={latest}")).json())["tickets"] == []
        new = await services.intake.receive(mail("<b9@x>", sender_email="z@x.fr", subject="Tout neuf"))
        polled = await (await client.get(f"/queue/poll?after={latest}")).json()
        assert polled["tickets"] == [{"number": new.ticket_number, "subject": "Tout neuf"}]
        resp = await client.post("/queue/bulk", data=[("csrf_token", token), ("action", "assign"),
                                                      ("assignee", str(agent)), ("numbers", str(nums[0])),
                                                      ("numbers", str(nums[1]))], allow_redirects=False)
        assert resp.status == 303
        resp = await client.post("/queue/bulk", data=[("csrf_token", token), ("action", "close"),
                                                      ("numbers", str(nums[2]))], allow_redirects=False)
        assert resp.status == 303
        page = await (await client.get("/queue?view=mine")).text()
        assert "ticket(s) fermé(s)" in page  # the flash message of the last action
        assert f"#{nums[0]}" in page and f"#{nums[1]}" in page and f"#{nums[2]}<" not in page
    assert (await services.tickets.get_json(nums[2] or 0))["status"] == "closed"
    await services.db.dispose()


async def test_identifiers_too_big_for_the_database_are_refused(services: Services) -> None:
    # Merged with the web validation layer (helpdesk/web/validation.py): an identifier that is not one
    # (too big for the database, or a digit for str.isdigit but not for int()) is a 400, never a 500.
    await add_staff(services)
    await services.intake.receive(mail("<big@x>"))
    huge = "9" * 40
    async with web_client(services) as client:
        await login(client, "agent@craig.fr")
        page = await client.get("/queue", params={"org": huge, "team": huge, "assignee": huge})
        assert page.status == 400 and "Publication du budget" not in await page.text()
        refused = await client.get("/queue", params={"org": "²"})
        assert refused.status == 400 and "Publication du budget" not in await refused.text()
        plain = await client.get("/queue")
        assert plain.status == 200 and "Publication du budget" in await plain.text()
