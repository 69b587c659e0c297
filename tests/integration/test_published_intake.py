"""Published data end to end on both databases: a mail naming a data.gouv.fr dataset queues a look-up job
in the intake transaction; the Outbox runs it against the fake udata and CSW servers; the ticket gets the
internal note (in `ticket --json`) and the sidebar « Données publiées » (page data and HTML)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from helpdesk.app.intake.messages import InboundMessage
from helpdesk.app.published.jobs import PUBLISHED, PublishedDataHook
from helpdesk.app.tickets.page import TicketPageService
from helpdesk.bootstrap import Services, build
from helpdesk.config import Settings
from helpdesk.db.engine import Database
from helpdesk.db.tables import Message, Outbox
from helpdesk.domain.values import Channel
from helpdesk.ports import FixedClock
from tests.support.fake_csw import FakeCsw
from tests.support.fake_udata import FakeUdata
from tests.support.web import add_staff, login, web_client

SLUG = "subventions-versees-par-la-ville-de-lannion"


@pytest.fixture
async def peers() -> AsyncIterator[tuple[FakeUdata, FakeCsw]]:
    csw = FakeCsw()
    await csw.start()
    udata = FakeUdata(catalogue=csw.host)
    await udata.start()
    try:
        yield udata, csw
    finally:
        await udata.stop()
        await csw.stop()


def services(db_url: str, clock: FixedClock, udata: FakeUdata, csw: FakeCsw, **kw: Any) -> Services:
    settings = Settings(database_url=db_url, smtp_enabled=False, public_url="http://127.0.0.1",
                        datagouv_api_url=udata.api_url, csw_url=csw.url, fetch_enabled=True, fetch_timeout=2, **kw)
    return build(settings, clock=clock)


def mail(ext: str, text: str) -> InboundMessage:
    return InboundMessage(channel=Channel.EMAIL, external_id=ext, sender_email="maire@lannion.bzh",
                          sender_name="Mairie de Lannion", subject="Le validateur dit que mon fichier est faux",
                          visible_text=text, raw=f"raw {ext}".encode())


async def outbox_rows(svc: Services) -> list[Outbox]:
    async with svc.db.transaction() as s:
        return list((await s.scalars(select(Outbox).where(Outbox.channel == PUBLISHED))).all())


async def test_a_mail_naming_a_dataset_gets_the_note_and_the_sidebar(
        db: Database, clock: FixedClock, peers: tuple[FakeUdata, FakeCsw]) -> None:
    udata, csw = peers
    svc = services(db.url, clock, udata, csw)
    try:
        await add_staff(svc)
        res = await svc.intake.receive(mail("<p1@lannion>", "Bonjour, notre fiche "
                                            f"https://www.data.gouv.fr/fr/datasets/{SLUG}/ est refusée."))
        number = res.ticket_number
        assert number is not None
        [job] = await outbox_rows(svc)
        assert job.payload["references"][0]["value"] == SLUG and job.payload["ticket_number"] == number
        assert udata.requests == []  # nothing fetched on the request path

        assert await svc.outbox.run_once() == 1
        data = await svc.tickets.get_json(number)
        notes = [m for m in data["messages"] if m["direction"] == "note"]
        assert len(notes) == 1
        text = notes[0]["text"]
        assert "Subventions versées par la ville de Lannion" in text
        assert "Ressource « subventions-2025.csv » (csv) :" in text and "scdl/subventions" in text
        assert "[à corriger] Le jeu de données déclare le schéma « scdl/subventions »" in text

        page = await TicketPageService(svc.db, svc.clock).page(number)
        [row] = page.published["rows"]
        assert (row["title"], row["organisation"], row["licence"], row["last_update"], row["schema"]) == (
            "Subventions versées par la ville de Lannion", "Ville de Lannion",
            "Licence Ouverte / Open Licence version 2.0", "09/01/2026", "scdl/subventions 2.1.1")
        assert row["harvest"].startswith("non moissonné")
        assert row["resources"][0]["findings"][0]["code"] == "schema-not-followed"
        [summary] = page.published["summaries"]
        assert summary["text"].startswith("Nous avons regardé les données publiées")

        async with web_client(svc) as client:
            await login(client, "agent@craig.fr")
            html = await (await client.get(f"/tickets/{number}")).text()
        assert "Données publiées" in html and "Licence Ouverte / Open Licence version 2.0" in html
        assert f'data-insert="published-summary-{summary["note_id"]}"' in html
        async with svc.db.transaction() as s:  # the summary is not sent: only staff can choose to
            outbound = (await s.scalars(select(Message).where(Message.direction == "outbound"))).all()
        assert [m for m in outbound if (m.meta or {}).get("kind") == PUBLISHED] == []
    finally:
        await svc.db.dispose()


async def test_a_retried_job_writes_its_note_once(db: Database, clock: FixedClock,
                                                  peers: tuple[FakeUdata, FakeCsw]) -> None:
    udata, csw = peers
    svc = services(db.url, clock, udata, csw)
    try:
        res = await svc.intake.receive(mail("<p2@lannion>", "https://www.data.gouv.fr/fr/datasets/"
                                                            "cadastre-2018-en-bretagne/"))
        [job] = await outbox_rows(svc)
        sender = svc.outbox.senders[PUBLISHED]
        await sender.send(job.payload)  # the job ran, then the worker died before marking it sent
        assert await svc.outbox.run_once() == 1  # the dispatcher runs it again: the note is already there
        data = await svc.tickets.get_json(res.ticket_number)
        notes = [m for m in data["messages"] if m["direction"] == "note"]
        assert len(notes) == 1 and "7 élément(s) INSPIRE manquant(s)" in notes[0]["text"]
    finally:
        await svc.db.dispose()


async def test_network_off_still_writes_a_note_that_says_not_verified(
        db: Database, clock: FixedClock, peers: tuple[FakeUdata, FakeCsw]) -> None:
    udata, csw = peers
    settings = Settings(database_url=db.url, smtp_enabled=False, datagouv_api_url=udata.api_url, csw_url=csw.url,
                        fetch_enabled=False)
    svc = build(settings, clock=clock)
    try:
        res = await svc.intake.receive(mail("<p3@lannion>", f"https://www.data.gouv.fr/fr/datasets/{SLUG}/"))
        assert await svc.outbox.run_once() == 1
        data = await svc.tickets.get_json(res.ticket_number)
        [note] = [m for m in data["messages"] if m["direction"] == "note"]
        assert "non vérifié (la vérification en ligne est désactivée" in note["text"]
        assert udata.requests == []
    finally:
        await svc.db.dispose()


async def test_no_job_for_messages_without_references_or_automatic_ones(db: Database, clock: FixedClock) -> None:
    svc = build(Settings(database_url=db.url, smtp_enabled=False), clock=clock)
    try:
        await svc.intake.receive(mail("<p4@lannion>", "Bonjour, le jeu de données est-il bien publié ?"))
        auto = InboundMessage(channel=Channel.EMAIL, external_id="<p5@lannion>", sender_email="robot@lannion.bzh",
                              subject="Absence", visible_text=f"https://www.data.gouv.fr/fr/datasets/{SLUG}/",
                              automatic=True, automatic_reason="auto-submitted", raw=b"raw")
        await svc.intake.receive(auto)
        assert await outbox_rows(svc) == []
        assert any(isinstance(h, PublishedDataHook) for h in svc.intake.hooks)
    finally:
        await svc.db.dispose()
