"""Full-text search over tickets on both databases: stemming, fields, ranking, filters, pages, the index kept
in step by every write, hostile queries, escaped highlights, the queue page and the API."""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import select, update

from helpdesk.app.tickets.queue import QueueFilter
from helpdesk.db import fulltext, migrate
from helpdesk.db.copy import copy_database
from helpdesk.db.engine import Database
from helpdesk.db.tables import Contact, Message, Organization, Ticket
from helpdesk.domain.errors import ValidationError
from helpdesk.domain.values import TicketStatus
from helpdesk.ports import FixedClock
from helpdesk.services import Services
from tests.conftest import PG_SKIP, _pg_url
from tests.support.web import active_content, add_staff, login, mail, services_for, web_client


async def _numbers(services: Services, text: str, me: int | None = None, **filters: object) -> list[int]:
    page = await services.search.page(QueueFilter(text=text, **filters), me=me)  # type: ignore[arg-type]
    return [row.number for row in page.items]


async def _ticket(services: Services, ext: str, subject: str, text: str, sender: str) -> int:
    res = await services.intake.receive(mail(ext, subject=subject, text=text, sender_email=sender))
    assert res.ticket_number
    return res.ticket_number


async def test_french_words_in_every_field_ranked_and_filtered(db: Database, clock: FixedClock) -> None:
    services = services_for(db.url, clock)
    admin, agent = await add_staff(services)
    a = await _ticket(services, "<s1@x>", "Délibérations du conseil municipal", "Où publier nos délibérations ?",
                      "greffe@mairie-lyon.fr")
    b = await _ticket(services, "<s2@x>", "Question budget", "Le conseil a voté une délibération sur le budget.",
                      "finances@agglo.fr")
    c = await _ticket(services, "<s3@x>", "Adresses BAL", "Notre base adresse locale est refusée par validata.",
                      "sig@commune.fr")
    async with services.db.transaction() as s:
        contact = (await s.scalars(select(Contact).where(Contact.email == "sig@commune.fr"))).one()
        contact.name = "Hélène Martin"
    await services.tickets.add_note(c, agent, "Rappeler la secrétaire de mairie pour le géocodage")

    # Stemming and accents: plural, verb and unaccented forms find the same tickets; the subject ranks first.
    assert await _numbers(services, "délibération") == [a, b]
    assert await _numbers(services, "deliberations") == [a, b]
    # A plain AND of the words, across fields (subject + message).
    assert await _numbers(services, "conseil budget") == [b]
    assert await _numbers(services, "conseil validata") == []
    # The requester's name and address, and internal notes, are searchable by staff.
    assert await _numbers(services, "helene martin") == [c]
    assert await _numbers(services, "mairie-lyon") == [a]
    assert await _numbers(services, "géocodage") == [c]
    # Combined with the queue's filters.
    await services.tickets.assign(b, agent, admin)
    assert await _numbers(services, "délibération", me=agent, assignee="me") == [b]
    assert await _numbers(services, "délibération", assignee="none") == [a]
    await services.tickets.set_status(a, TicketStatus.CLOSED, admin)
    assert await _numbers(services, "délibération") == [b]  # open tickets only, by default
    assert await _numbers(services, "délibération", statuses=()) == [a, b]
    # Digits alone still look a ticket up by number.
    assert await _numbers(services, f"#{c}") == [c]
    await services.db.dispose()


async def test_index_follows_replies_splits_renames_and_erasure(db: Database, clock: FixedClock) -> None:
    services = services_for(db.url, clock)
    admin, agent = await add_staff(services)
    n = await _ticket(services, "<k1@x>", "Cadastre", "Première question sur le cadastre", "k@x.fr")
    assert await _numbers(services, "parcelles") == []
    await services.tickets.reply(n, agent, "Les parcelles sont dans le fichier joint.")
    assert await _numbers(services, "parcelles") == [n]
    second = await services.intake.receive(mail("<k2@x>", subject="Re: Cadastre", text="Et les subventions ?",
                                                sender_email="k@x.fr", ticket_number=n))
    assert second.ticket_number == n and await _numbers(services, "subvention") == [n]
    async with services.db.transaction() as s:
        msg_id = (await s.scalars(select(Message.id).where(col_text(Message.visible_text, "subventions")))).one()
    new = await services.merge_split.split(n, msg_id, agent)
    assert await _numbers(services, "subvention") == [new]  # moved with its message
    await services.merge_split.merge(new, n, agent)
    assert await _numbers(services, "subvention", statuses=()) == [new]  # merge keeps each ticket's messages
    async with services.db.transaction() as s:  # renaming an organisation reindexes its tickets
        org = Organization(name="Communauté de communes du Val", kind="epci", created_at=clock.now())
        s.add(org)
        await s.flush()
        await s.execute(update(Ticket).where(Ticket.number == n).values(organization_id=org.id))
    assert await _numbers(services, "val") == [n]
    async with services.db.transaction() as s:
        await s.execute(update(Organization).where(Organization.name.startswith("Communauté"))  # type: ignore[attr-defined]
                        .values(name="Métropole du Grand Ouest"))
    assert await _numbers(services, "val") == [] and await _numbers(services, "metropole") == [n]
    async with services.db.transaction() as s:  # text rewritten in place (RGPD erasure) leaves the index
        await s.execute(update(Message).values(visible_text="[effacé]"))
    assert await _numbers(services, "parcelles") == []
    await services.db.dispose()


def col_text(column: object, word: str) -> object:
    return column.contains(word)  # type: ignore[attr-defined]


async def test_ranked_pages_cover_every_result_once(db: Database, clock: FixedClock) -> None:
    services = services_for(db.url, clock)
    made = [await _ticket(services, f"<p{i}@x>", f"Licence {i}", "licence " * i or "rien", f"p{i}@x.fr")
            for i in range(7)]
    seen: list[int] = []
    cursor = None
    while True:
        page = await services.search.page(QueueFilter(text="licences"), me=None, cursor=cursor, limit=3)
        seen += [row.number for row in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == sorted(made) and len(seen) == len(set(seen))
    assert seen[0] == made[-1]  # the most mentions rank first
    for bad in ("abc", "-1", "99999999"):
        try:
            await services.search.page(QueueFilter(text="licence"), me=None, cursor=bad)
        except ValidationError:
            continue
        raise AssertionError(f"cursor {bad!r} accepted")
    await services.db.dispose()


HOSTILE = ['"', '"budget', "budget AND", "NOT budget", "budget OR OR", "NEAR(budget cadastre)", "budget*", "*",
           "^budget", "subject:budget", "(budget", "budget)", "-budget", "'; DROP TABLE ticket; --", "budget & | !",
           "\x00budget\x01", "le la les de des", "???", "😀 budget", "b" * 400, "budget " * 60, "é" * 499]


async def test_hostile_queries_never_fail(db: Database, clock: FixedClock) -> None:
    services = services_for(db.url, clock)
    n = await _ticket(services, "<h1@x>", "Budget primitif", "Le budget est en ligne", "h@x.fr")
    for text in HOSTILE:
        page = await services.search.page(QueueFilter(text=text), me=None)
        assert all(row.number == n for row in page.items), text
    assert await _numbers(services, "le la les de des") == []  # only stop words: nothing to look for
    for text in ('"budget"', "budget*", "(budget)", "budget:", "-budget"):
        assert await _numbers(services, text) == [n], text  # operator characters only separate words
    assert await _numbers(services, "budget OR cadastre") == []  # a plain AND: « or » is one more word
    try:
        await services.search.page(QueueFilter(text="budget " * 2000), me=None)
    except ValidationError:
        pass
    else:
        raise AssertionError("a 14 KB search was accepted")
    await services.db.dispose()


async def test_queue_page_and_api_show_escaped_highlights(db: Database, clock: FixedClock) -> None:
    services = services_for(db.url, clock)
    await add_staff(services)
    n = await _ticket(services, "<x1@x>", "<img src=x onerror=alert(1)> Schéma IRVE",
                      "<script>alert('x')</script> notre schéma IRVE est refusé", "x@x.fr")
    other = await _ticket(services, "<x2@x>", "Autre", "Rien à voir", "y@x.fr")
    async with web_client(services) as client:
        await login(client, "agent@craig.fr")
        resp = await client.get("/queue?q=sch%C3%A9mas")
        html = await resp.text()
        assert resp.status == 200 and f"#{n}" in html and f"#{other}<" not in html
        assert "<mark>Schéma</mark>" in html and "<mark>schéma</mark>" in html
        rows = html.split("<tbody>")[1].split("</tbody>")[0]
        assert "&lt;img src=x onerror=alert(1)&gt;" in rows  # the subject, escaped around its marks
        assert active_content(rows) == [] and "<script" not in rows
        assert "Résultats classés par pertinence" in html
        assert (await client.get("/queue?q=" + "x" * 600)).status == 400
        assert (await client.get("/queue?q=%22%29%28NEAR")).status == 200
        page = await client.post("/account/tokens", data={"csrf_token": await _csrf(client), "name": "recherche"})
        api_token = re.search(r'<code id="new-token">([^<]+)</code>', await page.text()).group(1)  # type: ignore[union-attr]
        bearer = {"Authorization": f"Bearer {api_token}"}
        found = await (await client.get("/api/v1/tickets?q=irve%20refus", headers=bearer)).json()
        assert [t["number"] for t in found["items"]] == [n] and found["ranked"] is True
        fragment = found["items"][0]["fragment_html"]
        assert "<mark>" in fragment and "<script" not in fragment and "refus" in fragment
        assert (await client.get("/api/v1/tickets?q=" + "x" * 600, headers=bearer)).status == 400
        nothing = await (await client.get("/api/v1/tickets?q=de%20la", headers=bearer)).json()
        assert nothing["items"] == []
    await services.db.dispose()


async def _csrf(client: object) -> str:
    html = await (await client.get("/account")).text()  # type: ignore[attr-defined]
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


async def test_upgrade_indexes_existing_tickets(db: Database, clock: FixedClock) -> None:
    """Tickets written before migration 0010 are found after it (the backfill)."""
    await asyncio.to_thread(command.downgrade, migrate.alembic_config(db.url), "0008_faq_proposals")
    try:
        async with db.transaction() as s:
            s.add(Ticket(number=4242, public_ref="r4242", subject="Métadonnées DCAT", created_at=clock.now(),
                         updated_at=clock.now()))
            await s.flush()
            tid = (await s.scalars(select(Ticket.id).where(Ticket.number == 4242))).one()
            s.add(Message(ticket_id=tid, direction="inbound", channel="email", visible_text="moissonnage du catalogue",
                          full_text="", created_at=clock.now()))
    finally:
        await asyncio.to_thread(migrate.upgrade, db.url)
    services = services_for(db.url, clock)
    assert await _numbers(services, "moissonnages catalogues") == [4242]
    assert await _numbers(services, "metadonnee") == [4242]
    await services.db.dispose()


async def test_searches_read_beside_a_writer(db: Database, clock: FixedClock) -> None:
    """Database.read() takes no write lock on SQLite: a search runs while another transaction writes."""
    services = services_for(db.url, clock)
    n = await _ticket(services, "<w1@x>", "Budget annexe", "budget", "w@x.fr")
    async with services.db.transaction() as writer:
        await writer.execute(update(Ticket).where(Ticket.number == n).values(subject="Budget annexe 2026"))
        await writer.flush()  # the write lock is held from here until the block ends
        assert await _numbers(services, "annexe") == [n]  # reads the last committed state, without waiting
    assert await _numbers(services, "annexe 2026") == [n]
    await services.db.dispose()


async def test_a_broad_search_ranks_the_most_recent_matches(db: Database, clock: FixedClock,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    services = services_for(db.url, clock)
    made = [await _ticket(services, f"<r{i}@x>", "Licence ouverte", "licence " * (10 - i), f"r{i}@x.fr")
            for i in range(5)]
    assert await _numbers(services, "licence") == made  # most mentions first
    monkeypatch.setattr(fulltext, "CANDIDATES", 3)
    assert await _numbers(services, "licence") == made[2:]  # the three newest, still ranked
    await services.db.dispose()


async def test_common_and_rare_words_answer_alike(db: Database, clock: FixedClock,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL reads few matches from the GIN index and walks the newest documents for many: both ways
    give the same ranked, filtered results (FEW_MATCHES moves the switch; SQLite has one way)."""
    services = services_for(db.url, clock)
    admin, agent = await add_staff(services)
    made = [await _ticket(services, f"<w{i}@x>", f"Licence {i}", "licence " * (1 + i % 3), f"w{i}@x.fr")
            for i in range(8)]
    await services.tickets.set_status(made[6], TicketStatus.CLOSED, admin)
    for n in made[:3]:
        await services.tickets.assign(n, agent, admin)

    async def answers() -> list[list[int]]:
        return [await _numbers(services, "licences"), await _numbers(services, "licence", statuses=()),
                await _numbers(services, "licence", me=agent, assignee="me"),
                await _numbers(services, "licence", me=admin, assignee="me"),
                await _numbers(services, "licence 4")]

    from_index = await answers()
    assert from_index[2] == [made[2], made[1], made[0]] and from_index[3] == [] and from_index[4] == [made[4]]
    assert sorted(from_index[1]) == sorted(made) and made[6] not in from_index[0]
    monkeypatch.setattr(fulltext, "FEW_MATCHES", 2)
    assert await answers() == from_index
    monkeypatch.setattr(fulltext, "CANDIDATES", 3)
    assert await _numbers(services, "licence", statuses=()) == [made[5], made[7], made[6]]
    await services.db.dispose()


async def test_erasure_removes_a_person_from_the_index(db: Database, clock: FixedClock) -> None:
    services = services_for(db.url, clock)
    n = await _ticket(services, "<g1@x>", "Plan local d'urbanisme", "Signé : Gaspard Nivelle", "gaspard@ville.fr")
    assert await _numbers(services, "gaspard nivelle") == [n]
    await services.gdpr.erase("gaspard@ville.fr")
    assert await _numbers(services, "gaspard") == [] and await _numbers(services, "urbanisme") == []
    await services.db.dispose()


async def test_copy_to_postgresql_carries_the_search(tmp_path: Path, clock: FixedClock) -> None:
    """`helpdesk db copy` writes through the target's triggers: the copy is searchable at once."""
    base = _pg_url()
    if not base:
        pytest.skip(PG_SKIP)
    import asyncpg

    src_url = f"sqlite+aiosqlite:///{tmp_path / 'src.sqlite3'}"
    await asyncio.to_thread(migrate.upgrade, src_url)
    src = services_for(src_url, clock)
    n = await _ticket(src, "<c1@x>", "Moissonnage DCAT", "Les métadonnées du catalogue régional", "c@x.fr")
    await src.tickets.add_note(n, None, "Voir avec la plateforme régionale")
    await src.db.dispose()
    name = f"helpdesk_copy_{uuid.uuid4().hex[:8]}"
    admin = base.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    target = base.rsplit("/", 1)[0] + "/" + name
    try:
        await copy_database(src_url, target)
        dst = services_for(target, clock)
        assert await _numbers(dst, "métadonnée catalogues") == [n]
        assert await _numbers(dst, "plateformes") == [n]
        await dst.db.dispose()
    finally:
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()
