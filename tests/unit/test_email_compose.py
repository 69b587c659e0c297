"""Outbound MIME: threading headers from the payload, automatic-mail markers, safe HTML part."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime

from channels.email.compose import compose, text_to_html
from channels.email.parse import parse_message

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def test_acknowledgement_headers_and_round_trip_through_our_parser() -> None:
    payload = {"to": "paul@mairie.fr", "to_name": "Paul Durand", "subject": "[#1042] Accusé de réception : Budget",
               "text": "Bonjour,\nréférence [#1042].", "message_id": "<ack.1.1042@craig.fr>",
               "in_reply_to": "<in@mairie.fr>", "references": ["<older@mairie.fr>"], "ticket_number": 1042,
               "auto_submitted": "auto-replied"}
    msg = compose(payload, from_address="assistance@craig.fr", from_name="Assistance CRAIG",
                  reply_to="assistance@craig.fr", now=NOW)
    raw = msg.as_bytes(policy=email.policy.SMTP)
    assert msg["References"] == "<older@mairie.fr> <in@mairie.fr>"
    assert msg["Date"] == "Mon, 02 Mar 2026 09:30:00 +0000"
    parsed = parse_message(raw)
    assert parsed.verdict.automatic  # our own acknowledgement would never be answered by another helpdesk
    assert parsed.subject == payload["subject"] and parsed.message_id == "<ack.1.1042@craig.fr>"
    assert parsed.in_reply_to == ("<in@mairie.fr>",) and parsed.visible_text == "Bonjour,\nréférence [#1042]."
    assert parsed.sender_name == "Assistance CRAIG"


def test_html_alternative_escapes_text() -> None:
    html = text_to_html("<script>x</script> & voir https://craig.fr/faq?a=1&b=2\n\nfin")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<a href="https://craig.fr/faq?a=1&amp;b=2">' in html
    assert html.count("<p>") == 2
