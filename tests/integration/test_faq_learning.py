"""The FAQ in use, on both databases: the ticket page's suggestions, learning from use (proposal, acceptance,
index refresh, start-up load, export) and « Ce que la FAQ ne couvre pas encore »."""

from __future__ import annotations

import re
import shutil
from html import unescape
from pathlib import Path
from typing import Any

from sqlalchemy import select

from helpdesk.app.chat.service import ChatService
from helpdesk.app.faq.index import FaqIndex
from helpdesk.app.faq.proposals import FAQ_NOT_INSERTED, PROPOSAL_ACCEPTED, PROPOSAL_REJECTED, ProposalService
from helpdesk.app.faq.sync import bundled_kb_dir
from helpdesk.bootstrap import Services
from helpdesk.db.engine import Database
from helpdesk.db.tables import Event, FaqProposal, KbEntry, Message, Ticket
from helpdesk.domain.values import Channel, Direction
from helpdesk.ports import FixedClock
from knowledge_base import to_plain_text
from knowledge_base.loader import load_entries, parse_entry
from tests.support.web import add_staff, csrf_of, login, mail, services_for, web_client

ENTRY = "liste-deliberations-compte-rendu-conseil"  # an answer with **bold** and a list: plain text differs
QUESTION = ("Bonjour, depuis la réforme faut-il encore afficher le compte rendu de la séance du conseil "
            "municipal, ou autre chose ? Merci, la secrétaire de mairie")
LABELS = {"probable", "possible", "peu probable"}


def _faq(services: Services) -> FaqIndex:
    index = services.faq
    assert isinstance(index, FaqIndex), "the web app shares one FAQ index through the Services"
    return index


async def _body(db: Database, entry_id: str) -> str:
    async with db.transaction() as s:
        row = await s.get(KbEntry, entry_id)
    assert row is not None
    return row.body


async def _reply(client: Any, number: int, text: str, inserted: list[str]) -> None:
    page = await (await client.get(f"/tickets/{number}")).text()
    seen = re.search(r'name="seen_message_id" value="(\d+)"', page)
    assert seen
    form: list[tuple[str, str]] = [("csrf_token", csrf_of(page)), ("text", text), ("kind", "reply"),
                                   ("seen_message_id", seen.group(1)), *[("faq_inserted", e) for e in inserted]]
    resp = await client.post(f"/tickets/{number}/reply", data=form, allow_redirects=False)
    assert resp.status == 303, await resp.text()


async def _proposals(db: Database) -> list[FaqProposal]:
    async with db.transaction() as s:
        return list((await s.scalars(select(FaqProposal).order_by(FaqProposal.id))).all())


async def test_ticket_page_ranks_on_the_whole_conversation_and_inserts_plain_text(
        db: Database, clock: FixedClock) -> None:
    services = services_for(db.url, clock)
    await add_staff(services)
    await services.kb_store.import_dir(bundled_kb_dir())
    first = mail("<c1@x>", subject="Métadonnées INSPIRE de nos couches",
                 text="Bonjour, quelles métadonnées INSPIRE devons-nous remplir pour publier nos couches du PLU "
                      "sur le catalogue ?")
    n = (await services.intake.receive(first)).ticket_number
    assert n is not None
    follow_up = mail("<c2@x>", subject=f"Re: [#{n}] Métadonnées INSPIRE de nos couches",
                     text="Merci. Le shapefile du PLU est prêt, c'est pour le conseil de mardi.",
                     in_reply_to=("<c1@x>",))
    assert (await services.intake.receive(follow_up)).ticket_number == n
    async with web_client(services) as client:
        await login(client, "agent@craig.fr")
        page = await (await client.get(f"/tickets/{n}")).text()
    ids = re.findall(r'data-faq-entry="([a-z0-9-]+)"', page)
    labels = re.findall(r'<span class="label label-[a-z-]+" title="confiance [0-9.]+">([^<]+)</span>', page)
    assert len(ids) == 3 and len(labels) == 3 and set(labels) <= LABELS
    # The first message asked about metadata; the latest one alone is about shapefiles.
    kb = await _faq(services).knowledge_base()
    top = kb.get(ids[0])
    assert top is not None and "metadonnees" in top.tags, (ids, top)
    latest_only = kb.search(follow_up.visible_text, limit=1, purpose="staff")
    assert latest_only and "metadonnees" not in (kb.get(latest_only[0].id) or top).tags  # what used to be shown
    # « Insérer dans la réponse » holds the answer as plain text for email.
    templates = dict(re.findall(r'<template id="(sugg-\d)">(.*?)</template>', page, flags=re.S))
    for i, entry_id in enumerate(ids, start=1):
        body = await _body(db, entry_id)
        inserted = unescape(templates[f"sugg-{i}"])
        assert inserted == to_plain_text(body) and "**" not in inserted and "](" not in inserted
    await services.db.dispose()


async def test_feedback_loop_proposal_acceptance_index_restart_and_export(
        db: Database, clock: FixedClock, tmp_path: Path) -> None:
    services = services_for(db.url, clock)
    admin, agent = await add_staff(services)
    await services.kb_store.import_dir(bundled_kb_dir())
    body = await _body(db, ENTRY)
    answer = to_plain_text(body)
    n1 = (await services.intake.receive(mail("<f1@x>", subject="Compte rendu", text=QUESTION))).ticket_number
    n2 = (await services.intake.receive(mail("<f2@x>", subject="Compte rendu", text=QUESTION,
                                             sender_email="dgs@mairie-riom.fr"))).ticket_number
    n3 = (await services.intake.receive(mail("<f3@x>", subject="Autre", text="Où trouver le cadastre ?",
                                             sender_email="accueil@mairie-thiers.fr"))).ticket_number
    assert n1 and n2 and n3
    async with web_client(services) as client:
        await login(client, "agent@craig.fr")
        await _reply(client, n1, f"Bonjour,\n\n{answer}\n\nCordialement", [ENTRY])
        await _reply(client, n2, f"Bonjour,\n\n{answer}", [ENTRY])  # the same question: counted, not repeated
        await _reply(client, n3, "Voyez le service du cadastre.", [ENTRY])  # inserted, then deleted: no proposal
        rows = await _proposals(db)
        assert len(rows) == 1, [(r.entry_id, r.wording) for r in rows]
        proposal = rows[0]
        assert proposal.entry_id == ENTRY and proposal.status == "pending" and proposal.seen == 2
        assert proposal.source == "ticket" and "compte rendu" in proposal.wording
        assert "secrétaire" not in proposal.wording  # the asking part only: no signature
        async with db.transaction() as s:
            none = (await s.scalars(select(Event).where(Event.kind == FAQ_NOT_INSERTED))).all()
        assert [e.ticket_id for e in none] == [await _ticket_id(db, n3)]

        forbidden = await client.post(f"/admin/faq-proposals/{proposal.id}/accept",
                                      data={"csrf_token": csrf_of(await (await client.get("/queue")).text())})
        assert forbidden.status == 403  # agents do not decide
    assert agent

    kb_before = await _faq(services).knowledge_base()
    assert ENTRY not in kb_before.wordings
    async with web_client(services) as client:
        token = await login(client, "admin@craig.fr")
        listing = await (await client.get("/admin/faq-proposals")).text()
        assert proposal.wording in unescape(listing) and "2 fois" in listing
        no_csrf = await client.post(f"/admin/faq-proposals/{proposal.id}/accept", data={})
        assert no_csrf.status == 403
        ok = await client.post(f"/admin/faq-proposals/{proposal.id}/accept", data={"csrf_token": token},
                               allow_redirects=False)
        assert ok.status == 303
        again = await client.post(f"/admin/faq-proposals/{proposal.id}/reject", data={"csrf_token": token})
        assert again.status == 400  # decided once
    # Indexed at once, in the same index the pages and channels search.
    kb = await _faq(services).knowledge_base()
    assert kb is kb_before and kb.wordings.get(ENTRY) == (proposal.wording,)  # what admins read is what is learnt
    async with db.transaction() as s:
        audit = (await s.scalars(select(Event).where(Event.kind == PROPOSAL_ACCEPTED))).all()
    assert [(e.actor_id, e.data["entry_id"]) for e in audit] == [(admin, ENTRY)]
    # After a restart: a new index loads the accepted wordings from the database.
    fresh = await FaqIndex(services.db, services.kb_store).knowledge_base()
    assert fresh.wordings == kb.wordings
    # `kb export` writes them as questions, with the provenance of the bundled file kept.
    texts = await services.kb_store.export_texts()
    exported, errors = parse_entry(texts[f"{ENTRY}.md"], f"{ENTRY}.md")
    bundled = next(e for e in load_entries(bundled_kb_dir())[0] if e.id == ENTRY)
    assert errors == [] and exported is not None
    assert exported.questions[: len(bundled.questions)] == bundled.questions
    assert exported.questions[len(bundled.questions):] == (proposal.wording,)
    assert (exported.sources, exported.reviewed, exported.body.strip()) == \
        (bundled.sources, bundled.reviewed, bundled.body.strip())
    await services.db.dispose()


async def _ticket_id(db: Database, number: int) -> int | None:
    async with db.transaction() as s:
        return (await s.scalars(select(Ticket.id).where(Ticket.number == number))).one()


async def test_rejected_proposals_are_not_indexed_and_telegram_helpful_proposes(
        db: Database, clock: FixedClock) -> None:
    services = services_for(db.url, clock)
    admin, _ = await add_staff(services)
    await services.kb_store.import_dir(bundled_kb_dir())
    chat = ChatService(db, clock)
    question = "dois je encore afficher le compte rendu du conseil ?"
    sid = await chat.record_question(77, question, [(ENTRY, "Compte rendu"), ("md-format-distribution", "MD")])
    assert await chat.feedback(77, sid, helpful_index=0) == ENTRY
    assert await chat.feedback(77, sid, helpful_index=0) == ENTRY  # a second click changes nothing
    sid2 = await chat.record_question(78, "Quelle couleur pour le logo ?", [("md-format-distribution", "MD")])
    assert await chat.feedback(78, sid2, helpful_index=None) is None  # « Parler à un conseiller »: no proposal
    rows = await _proposals(db)
    assert [(r.entry_id, r.source, r.seen) for r in rows] == [(ENTRY, "telegram", 1)]
    async with web_client(services) as client:
        token = await login(client, "admin@craig.fr")
        resp = await client.post(f"/admin/faq-proposals/{rows[0].id}/reject", data={"csrf_token": token},
                                 allow_redirects=False)
        assert resp.status == 303
    assert ENTRY not in (await _faq(services).knowledge_base()).wordings
    assert await services.kb_store.accepted_wordings() == []
    async with db.transaction() as s:
        audit = (await s.scalars(select(Event).where(Event.kind == PROPOSAL_REJECTED))).all()
    assert [e.actor_id for e in audit] == [admin]
    await services.db.dispose()


async def test_export_round_trip_keeps_sources_reviewed_and_replaces(
        db: Database, clock: FixedClock, tmp_path: Path) -> None:
    services = services_for(db.url, clock)
    source = bundled_kb_dir() / f"{ENTRY}.md"
    directory = tmp_path / "faq"
    directory.mkdir()
    shutil.copy(source, directory / source.name)
    text = (directory / source.name).read_text(encoding="utf-8")
    (directory / source.name).write_text(text.replace("\n---\n", "\nreplaces:\n- ancienne-entree\n---\n", 1),
                                         encoding="utf-8")
    original = load_entries(directory)[0][0]
    assert original.replaces == ("ancienne-entree",) and original.sources and original.reviewed
    await services.kb_store.import_dir(directory)
    out = tmp_path / "export"
    out.mkdir()
    for name, content in (await services.kb_store.export_texts()).items():
        (out / name).write_text(content, encoding="utf-8")
    (back,), errors = load_entries(out)
    assert errors == []
    assert (back.sources, back.reviewed, back.replaces, back.questions, back.title, back.tags) == \
        (original.sources, original.reviewed, original.replaces, original.questions, original.title, original.tags)
    await services.db.dispose()


async def test_gaps_page_groups_unanswered_questions_over_the_period(db: Database, clock: FixedClock) -> None:
    services = services_for(db.url, clock)
    await add_staff(services)
    await services.kb_store.import_dir(bundled_kb_dir())
    chat = ChatService(db, clock)
    # Long ago (outside 30 days): a chat question the assistant had nothing for.
    await chat.record_question(90, "Comment inscrire mon enfant à la cantine scolaire ?", [])
    clock.advance(days=40)
    # Within the period: the assistant had nothing; then a hand-over « Parler à un conseiller ».
    await chat.record_question(91, "Comment inscrire ma fille à la cantine de l'école ?", [])
    sid = await chat.record_question(92, "Inscription à la cantine pour la rentrée ?", [(ENTRY, "Compte rendu")])
    await chat.feedback(92, sid, helpful_index=None)
    # A mail whose acknowledgement went out without any suggestion.
    n_mail = (await services.intake.receive(mail("<g1@x>", subject="Piscine", text="Quels sont les horaires "
                                                 "de la piscine municipale cet été ?"))).ticket_number
    assert n_mail
    async with db.transaction() as s:
        s.add(Message(ticket_id=await _ticket_id_in(s, n_mail), direction=Direction.OUTBOUND.value,
                      channel=Channel.EMAIL.value, automatic=True, delivery_status="sent",
                      visible_text="Accusé de réception", meta={"kind": "acknowledgement", "faq_suggestions": []},
                      created_at=clock.now()))
    # Two tickets answered: one without inserting any FAQ entry (a gap), one with (not a gap).
    n_none = (await services.intake.receive(mail("<g2@x>", subject="Cantine", text="Les tarifs de la cantine "
                                                 "scolaire sont-ils publiés ?", sender_email="a@b.fr"))).ticket_number
    n_used = (await services.intake.receive(mail("<g3@x>", subject="Compte rendu", text=QUESTION,
                                                 sender_email="c@d.fr"))).ticket_number
    assert n_none and n_used
    answer = to_plain_text(await _body(db, ENTRY))
    async with web_client(services) as client:
        token = await login(client, "agent@craig.fr")
        await _reply(client, n_none, "Nous regardons avec le service scolaire.", [])
        await _reply(client, n_used, answer, [ENTRY])
        page = unescape(await (await client.get("/faq-gaps?days=30")).text())
        assert "4 questions sur les 30 derniers jours" in page
        for shown in ("ma fille à la cantine", "Inscription à la cantine", "horaires de la piscine",
                      "tarifs de la cantine"):
            assert shown in page
        assert "mon enfant à la cantine" not in page and "compte rendu de la séance" not in page
        for reason in ("Telegram : aucune suggestion", "Telegram : « Parler à un conseiller »",
                       "Courriel : accusé de réception sans suggestion", "Ticket : réponse sans entrée de FAQ"):
            assert reason in page
        longer = unescape(await (await client.get("/faq-gaps?days=90")).text())
        assert "5 questions sur les 90 derniers jours" in longer and "mon enfant à la cantine" in longer
        # The cantine questions share a theme; one click drafts an entry with them.
        groups = re.findall(r'name="theme" value="([a-z0-9-]*)"', page)
        sections = re.split(r'<section class="gap-group"', page)[1:]
        cantine = next(i for i, sec in enumerate(sections) if sec.count("cantine") >= 3)
        draft = await client.post("/faq-gaps/draft", data={"csrf_token": token, "theme": groups[cantine],
                                                           "days": "30"}, allow_redirects=False)
        assert draft.status == 303 and draft.headers["Location"].startswith("/faq-gaps")  # an agent: back here
        assert (await client.post("/faq-gaps/draft", data={"theme": groups[cantine], "days": "30"})).status == 403
    async with db.transaction() as s:
        drafts = (await s.scalars(select(KbEntry).where(KbEntry.status == "draft"))).all()
    assert len(drafts) == 1 and drafts[0].title.startswith("À rédiger")
    assert sum("cantine" in q for q in drafts[0].questions) >= 2
    await services.db.dispose()


async def _ticket_id_in(s: Any, number: int) -> int:
    ticket_id = (await s.scalars(select(Ticket.id).where(Ticket.number == number))).one()
    assert isinstance(ticket_id, int)
    return ticket_id


async def test_the_acknowledgement_searches_with_purpose_mail(db: Database, clock: FixedClock) -> None:
    """The Outbox's email sender completes acknowledgements with at most two entries, only when nearly
    certain; a question that the ranked (staff) list still answers with three entries mails none."""
    from helpdesk.bootstrap import build
    from helpdesk.config import Settings

    services = build(Settings(database_url=db.url, public_url="https://assistance.craig.fr", smtp_enabled=False,
                              smtp_relay_host="127.0.0.1"), clock=clock)
    await services.kb_store.import_dir(bundled_kb_dir())
    finisher = services.outbox.senders["email"].finisher  # type: ignore[attr-defined]
    base = {"ticket_number": 1000, "ticket_subject": "Question", "text": ""}
    sure = await finisher.finish({**base, "faq_query": "Quel séparateur utiliser dans un fichier CSV, virgule ou "
                                                        "point-virgule ?"})
    assert 1 <= sure["text"].count("/faq/") <= 2
    vague = "Bonjour, la photocopieuse de la mairie est en panne, que faire ?"
    assert len(await _faq(services).search(vague, limit=3, purpose="staff")) == 3
    unsure = await finisher.finish({**base, "faq_query": vague})
    assert "/faq/" not in unsure["text"]
    await services.db.dispose()


async def test_erasing_a_requester_drops_their_pending_proposals(db: Database, clock: FixedClock) -> None:
    from helpdesk.app.privacy.gdpr import GdprService

    services = services_for(db.url, clock)
    _, agent = await add_staff(services)
    await services.kb_store.import_dir(bundled_kb_dir())
    n = (await services.intake.receive(mail("<e1@x>", subject="Compte rendu", text=QUESTION))).ticket_number
    assert n
    message_id = await services.tickets.reply(n, agent, to_plain_text(await _body(db, ENTRY)))
    assert await ProposalService(db, clock).record_reply(n, agent, message_id, [ENTRY]) == 1
    await GdprService(db, clock).erase("sylvie@mairie-murat.fr")
    assert await _proposals(db) == []
    await services.db.dispose()


async def test_hostile_input_gets_4xx_or_is_ignored(db: Database, clock: FixedClock) -> None:
    services = services_for(db.url, clock)
    await add_staff(services)
    await services.kb_store.import_dir(bundled_kb_dir())
    n = (await services.intake.receive(mail("<h1@x>", subject="Compte rendu", text=QUESTION))).ticket_number
    assert n
    async with web_client(services) as client:
        token = await login(client, "admin@craig.fr")
        for path in ("/admin/faq-proposals/424242/accept", "/admin/faq-proposals/99999999999999/accept",
                     "/admin/faq-proposals/1/publish"):
            resp = await client.post(path, data={"csrf_token": token})
            assert 400 <= resp.status < 500, (path, resp.status)
        for days in ("-1", "abc", "99999999999999999999", "7"):
            assert (await client.get(f"/faq-gaps?days={days}")).status == 200
        junk = ["../../etc", "x" * 5000, "PAS-UN-ID", ENTRY.upper(), *(f"e{i}" for i in range(50))]
        await _reply(client, n, "Une réponse sans FAQ.", junk)
        assert (await client.post("/faq-gaps/draft", data={"csrf_token": token, "theme": "x" * 10000,
                                                           "days": "30"})).status < 500
    assert await _proposals(db) == []
    await services.db.dispose()
