"""The real python-telegram-bot against a fake Bot API: FAQ answers, abstention, hand-over, files, policy."""

from __future__ import annotations

import html

from sqlalchemy import func, select

from helpdesk.db.tables import Attachment, Contact, Message, Ticket, TicketLink
from helpdesk.db.tables_telegram import ChatSuggestion, TelegramUpdate
from helpdesk.domain.values import TicketStatus
from tests.e2e.telegram.harness import CHAT, PUBLIC, Harness
from tests.support.waiting import wait_until

HUMAN = "Parler à un conseiller"


async def count(h: Harness, model: type, *where: object) -> int:
    async with h.services.db.transaction() as s:
        return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def test_start_and_help_say_what_the_bot_does(tg: Harness) -> None:
    sent = await tg.say("/start")
    assert "FAQ" in sent[-1]["text"] and HUMAN in sent[-1]["text"] and "/mesdemandes" in sent[-1]["text"]
    sent = await tg.say("/aide")
    assert "/nouvelle" in sent[-1]["text"]
    sent = await tg.say("/inconnue")
    assert "Je ne connais pas cette commande" in sent[-1]["text"]
    sent = await tg.say("/mesdemandes")
    assert sent[-1]["text"] == "Vous n'avez aucune demande en cours."


async def test_question_answered_from_the_faq_with_feedback_per_entry(tg: Harness) -> None:
    sent = await tg.say("Comment publier notre budget ?")
    answer = sent[-1]
    assert answer["parse_mode"] == "HTML"
    text = answer["text"]
    # FAQ text is escaped for HTML whatever it holds; our own markup stays.
    assert "<b>Publier son budget &lt;SCDL&gt; &amp; ses annexes</b>" in text
    assert "&lt;balises&gt; &amp; caractères spéciaux_*[]()~`&gt;#+-=|{}.!" in text
    assert f'<a href="{PUBLIC}/faq/publier-budget">' in text
    labels = [t for t, _ in tg.api.buttons(answer)]
    assert labels == ["Ça répond à ma question : n°1", "Ça répond à ma question : n°2", HUMAN]
    ok = tg.api.buttons(answer)[0][1]
    shown = {"message_id": 77, "date": 0, "chat": {"id": CHAT, "type": "private"}, "text": html.unescape(text)}
    await tg.press(ok, message=shown, expect=0)
    await tg.api.wait_for(lambda: any(m == "editMessageText" for m, _ in tg.api.calls))
    edited = next(p for m, p in tg.api.calls if m == "editMessageText")
    assert "Merci" in edited["text"]
    await tg.idle()
    assert await tg.chat.feedback_by_entry() == {"publier-budget": (1, 0)}
    # A second click on the same answer changes nothing; no ticket was opened.
    await tg.press(ok, message=shown, expect=0)
    await tg.idle()
    assert await tg.chat.feedback_by_entry() == {"publier-budget": (1, 0)}
    assert await count(tg, Ticket) == 0


async def test_abstention_says_so_and_offers_a_person(tg: Harness) -> None:
    sent = await tg.say("Quelle est la couleur du cheval blanc d'Henri IV ?")
    assert "pas trouvé de réponse sûre" in sent[-1]["text"]
    assert [t for t, _ in tg.api.buttons(sent[-1])] == [HUMAN]
    async with tg.services.db.transaction() as s:
        rows = (await s.scalars(select(ChatSuggestion))).all()
    assert [(r.entry_ids, r.query) for r in rows] == [([], "Quelle est la couleur du cheval blanc d'Henri IV ?")]


async def test_hand_over_opens_a_ticket_with_the_conversation_then_messages_and_files_go_onto_it(tg: Harness) -> None:
    sent = await tg.say("Comment publier notre budget ?")
    human = tg.api.buttons(sent[-1])[-1][1]
    sent = await tg.press(human)
    assert "adresse e-mail" in sent[-1]["text"]
    sent = await tg.say("pas une adresse")
    assert "ne semble pas valide" in sent[-1]["text"]
    sent = await tg.say("sylvie@mairie-murat.fr")
    assert "collectivité" in sent[-1]["text"]
    before = len(sent)
    tg.api.push(tg.api.text(CHAT, "Commune de Murat"))
    sent = await tg.api.wait_sent(CHAT, before + 2)
    assert "votre demande porte le numéro <b>1000</b>" in sent[before]["text"]
    assert "code à 6 chiffres" in sent[before + 1]["text"] and "sylvie@mairie-murat.fr" in sent[before + 1]["text"]

    ticket = await tg.services.tickets.get_json(1000)
    assert ticket["channel"] == "telegram" and ticket["subject"] == "Comment publier notre budget ?"
    assert ticket["requester"]["organization"] == "Commune de Murat"
    first = ticket["messages"][0]["text"]
    assert "Demandeur : Comment publier notre budget ?" in first
    assert "Suggestions de la FAQ : « Publier son budget <SCDL> & ses annexes »" in first
    assert "Collectivité indiquée : Commune de Murat" in first
    assert "Adresse e-mail indiquée (pas encore vérifiée) : sylvie@mairie-murat.fr" in first
    # "Parler à un conseiller" counts as "did not answer" for every suggested entry.
    assert await tg.chat.feedback_by_entry() == {"publier-budget": (0, 1), "metadonnees-inspire": (0, 1)}

    sent = await tg.say("J'ajoute : c'est pour le budget primitif 2026.")
    assert sent[-1]["text"] == "Ajouté à votre demande n°1000."
    before = len(tg.api.sent(CHAT))
    tg.api.push(tg.api.document(CHAT, "budget 2026.csv", b"compte;montant\n6411;1200\n", "text/csv", "le fichier"))
    await tg.api.wait_sent(CHAT, before + 1)
    ticket = await tg.services.tickets.get_json(1000)
    assert [m["text"] for m in ticket["messages"][1:]] == ["J'ajoute : c'est pour le budget primitif 2026.",
                                                           "le fichier"]
    [att] = ticket["messages"][2]["attachments"]
    assert att == {"id": att["id"], "filename": "budget 2026.csv", "content_type": "text/csv", "size": 25}
    sent = await tg.press(human)  # an old button while the ticket is open: no second ticket
    assert "déjà entre les mains d'un conseiller" in sent[-1]["text"]
    sent = await tg.say("/mesdemandes")
    assert "n°1000 — Comment publier notre budget ? : <i>Nouveau</i>" in sent[-1]["text"]
    assert await count(tg, Ticket) == 1


async def test_a_file_before_the_hand_over_travels_with_it(tg: Harness) -> None:
    before = len(tg.api.sent(CHAT))
    tg.api.push(tg.api.photo(CHAT, b"\x89PNG fake image"))
    sent = await tg.api.wait_sent(CHAT, before + 1)
    assert "Fichier reçu" in sent[-1]["text"]
    number = await tg.hand_over("Ma carte ne s'affiche pas, voir la capture")
    ticket = await tg.services.tickets.get_json(number)
    assert ticket["messages"][0]["attachments"][0]["content_type"] == "image/jpeg"
    assert await count(tg, Attachment) == 1


async def test_a_repeated_update_is_processed_once(tg: Harness) -> None:
    number = await tg.hand_over()
    update = tg.api.text(CHAT, "Une précision importante.")
    before = len(tg.api.sent(CHAT))
    tg.api.push(update)
    tg.api.push(dict(update))  # Telegram delivers the same update id again
    await tg.api.wait_sent(CHAT, before + 1)
    await tg.idle()  # both deliveries fetched (the offset is past them) and nothing left to process
    await wait_until(lambda: count(tg, TelegramUpdate, TelegramUpdate.update_id == update["update_id"],
                                   TelegramUpdate.status == "done"), "the update stored and marked done")
    assert len(tg.api.sent(CHAT)) == before + 1
    assert await count(tg, Message, Message.visible_text == "Une précision importante.") == 1
    assert await count(tg, TelegramUpdate, TelegramUpdate.update_id == update["update_id"]) == 1
    assert update["update_id"] + 1 in tg.api.offsets  # acknowledged once stored
    assert (await tg.services.tickets.get_json(number))["messages"][-1]["text"] == "Une précision importante."


async def test_reopen_within_the_window_then_a_linked_ticket_after_it(tg: Harness) -> None:
    number = await tg.hand_over()
    await tg.services.tickets.set_status(number, TicketStatus.RESOLVED, None)
    tg.clock.advance(hours=71)
    sent = await tg.say("Finalement cela ne marche toujours pas.")
    assert "rouverte" in sent[-1]["text"]
    assert (await tg.services.tickets.get_json(number))["status"] == "open"

    await tg.services.tickets.set_status(number, TicketStatus.RESOLVED, None)
    tg.clock.advance(hours=73)
    sent = await tg.say("Une autre difficulté sur le même jeu de données.")
    assert f"demande n°{number} étant close" in sent[-1]["text"]
    assert (await tg.services.tickets.get_json(number))["status"] == "resolved"
    async with tg.services.db.transaction() as s:
        new = (await s.scalars(select(Ticket).where(Ticket.number == number + 1))).one()
        parent = (await s.scalars(select(Ticket).where(Ticket.number == number))).one()
        links = (await s.scalars(select(TicketLink).where(TicketLink.ticket_id == new.id))).all()
    assert new.parent_id == parent.id and [(lk.other_id, lk.kind) for lk in links] == [(parent.id, "follow_up")]

    sent = await tg.say("/nouvelle")
    assert "nouvelle question" in sent[-1]["text"]
    sent = await tg.say("Et pour les métadonnées ?")  # a new question goes to the FAQ, not onto the ticket
    assert "Voici ce que j'ai trouvé" in sent[-1]["text"]


async def test_group_chats_are_ignored_unless_listed(tg: Harness) -> None:
    group = -100777
    tg.api.push(tg.api.text(group, "Bonjour le groupe, une question sur le budget", chat_type="supergroup"))
    await tg.idle()
    await wait_until(lambda: count(tg, TelegramUpdate, TelegramUpdate.status == "done"), "the group update processed")
    assert tg.api.sent(group) == []
    assert await count(tg, TelegramUpdate, TelegramUpdate.status == "done") == 1
    tg.channel.conversation.group_chats = frozenset({group})
    before = len(tg.api.sent(group))
    tg.api.push(tg.api.text(group, "Une question sur le budget", chat_type="supergroup"))
    sent = await tg.api.wait_sent(group, before + 1)
    assert "Voici ce que j'ai trouvé" in sent[-1]["text"]
    assert await count(tg, Contact) == 0
