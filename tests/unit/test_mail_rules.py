"""Pure rules of the mail edge: inert quoting, the automatic-mail guard, storable text, VERP, participants."""

from __future__ import annotations

import pytest

from channels.email.verp import verp_ids, verp_return_path
from helpdesk.app.mail_guard import GuardPolicy, decide, header_text, inert
from helpdesk.app.quarantine.storable import storable, storable_json
from helpdesk.domain.threading import is_participant, same_organisation
from helpdesk.logging_setup import MAX_MESSAGE, bounded, redact


@pytest.mark.parametrize(("text", "expected"), [
    ("Votre compte https://craig-fr.evil.example/login", "Votre compte https[:]//craig-fr[.]evil[.]example/login"),
    ("voir www.evil.example", "voir www[.]evil[.]example"),
    ("écrire à evil.example/x", "écrire à evil[.]example/x"),
    ("fichier budget.csv joint", "fichier budget.csv joint"),  # a file name is not a host
    ("Objet\r\nBcc: x@y.fr", "Objet Bcc: x@y[.]fr"),
    ("Budget primitif 2026", "Budget primitif 2026"),
])
def test_inert_quotes_requester_text_without_links(text: str, expected: str) -> None:
    assert inert(text) == expected


def test_header_text_is_one_bounded_line() -> None:
    assert header_text("Le maire\r\n\tBcc: a@b\x00", 200) == "Le maire Bcc: a@b"
    assert len(header_text("x" * 1000, 50)) == 50


def test_the_guard_refuses_in_order_of_gravity() -> None:
    policy = GuardPolicy(per_address=6, per_ticket=4, loop_messages=8)
    quiet = dict(sent_to_address=0, sent_on_ticket=0, inbound_from_sender=0, inbound_on_ticket=0, bouncing=False)
    assert decide(**quiet, policy=policy) is None
    assert "bouncing" in (decide(**{**quiet, "bouncing": True}, policy=policy) or "")
    assert "loop guard" in (decide(**{**quiet, "inbound_from_sender": 8}, policy=policy) or "")
    assert "loop guard" in (decide(**{**quiet, "inbound_on_ticket": 8}, policy=policy) or "")
    assert "to this address" in (decide(**{**quiet, "sent_to_address": 6}, policy=policy) or "")
    assert "on this ticket" in (decide(**{**quiet, "sent_on_ticket": 4}, policy=policy) or "")
    assert decide(**{**quiet, "sent_to_address": 5, "sent_on_ticket": 3, "inbound_from_sender": 7},
                  policy=policy) is None


def test_storable_replaces_nul_and_lone_surrogates_only() -> None:
    assert storable("Budget \ud83d\x00 été 😀") == "Budget \ufffd\ufffd été 😀"
    clean = "déjà propre"
    assert storable(clean) is clean
    assert storable_json({"a\x00": ["x\ud800", 1, None]}) == {"a\ufffd": ["x\ufffd", 1, None]}


def test_verp_round_trip_and_refusals() -> None:
    path = verp_return_path("assistance@craig.fr", "<ack.0a1b2c.1000@craig.fr>")
    assert path == "assistance+b=ack.0a1b2c.1000@craig.fr"
    assert verp_ids([path, "assistance@craig.fr", "<assistance+1042@craig.fr>"]) == ("<ack.0a1b2c.1000@craig.fr>",)
    assert verp_return_path("assistance@craig.fr", "<x@autre.fr>") == "assistance@craig.fr"  # not our id
    assert verp_return_path("assistance@craig.fr", "<a b@craig.fr>") == "assistance@craig.fr"


@pytest.mark.parametrize(("sender", "requester", "addressed", "staff", "expected"), [
    ("sylvie@mairie.fr", "sylvie@mairie.fr", set(), False, True),
    ("marc@mairie.fr", "sylvie@mairie.fr", set(), False, True),  # a colleague, same organisation
    ("marc@orange.fr", "sylvie@orange.fr", set(), False, False),  # a public webmail is no organisation
    ("paul@copie.fr", "sylvie@mairie.fr", {"paul@copie.fr"}, False, True),  # was copied
    ("agent@craig.fr", "sylvie@mairie.fr", set(), True, True),
    ("intrus@ailleurs.fr", "sylvie@mairie.fr", set(), False, False),
    ("", "sylvie@mairie.fr", set(), False, False),
])
def test_participants(sender: str, requester: str, addressed: set[str], staff: bool, expected: bool) -> None:
    assert is_participant(sender, requester=requester, addressed=addressed, staff=staff) is expected


def test_same_organisation_needs_a_domain() -> None:
    assert not same_organisation(None, "a@b.fr") and not same_organisation("a@b.fr", None)


def test_log_lines_are_bounded_before_redaction() -> None:
    huge = "EHLO " + "a" * 50_000
    line = redact(bounded(huge))
    assert len(line) < MAX_MESSAGE + 60 and line.endswith("caractères omis]")
    assert redact("x " + "a." * 30_000) == "x " + "a." * 30_000  # no address: unchanged (and linear: no backtracking)
