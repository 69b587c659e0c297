"""Pure parts of learning from use: what of a message is asked, and how a wording is keyed."""

from __future__ import annotations

from helpdesk.app.faq.proposals import asked_text, wording_key, wording_of


def test_the_assistants_lines_of_a_handover_are_not_the_question() -> None:
    transcript = ("Conversation avec l'assistant Telegram :\n\nDemandeur : où publier nos délibérations ?\n"
                  "Assistant : Suggestions de la FAQ : « Format des métadonnées »\nDemandeur : et le PV ?")
    kept = asked_text(transcript)
    assert "métadonnées" not in kept and "délibérations" in kept and "le PV" in kept


def test_a_wording_is_its_asking_part_and_stable_on_a_second_pass() -> None:
    mail = "Bonjour,\n\nNous sommes une petite commune. Où publier nos délibérations ?\n\nCordialement,\nAnne"
    wording = wording_of(mail)
    assert "délibérations" in wording and "Cordialement" not in wording and "Anne" not in wording
    assert wording_of(wording) == wording
    assert wording_key(wording) == wording_key("  " + wording.upper() + " ")
    assert wording_of("x" * 1_000_000) == wording_of("x" * 5000)  # bounded work on a huge message
