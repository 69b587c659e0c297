"""Delivery failures worded for staff; configuration that silently keeps mail from leaving; the public URL."""

from __future__ import annotations

import socket

import pytest

from helpdesk.app.config_warnings import configuration_warnings, is_loopback_url
from helpdesk.app.outbox_status import delivery_problems, french_reason
from helpdesk.config import Settings


@pytest.mark.parametrize(("error", "expected"), [
    ("recipient refused: 550 5.1.1 <x@y.fr>: Recipient address rejected",
     "le serveur de messagerie a refusé l'adresse du destinataire (réponse : 550 5.1.1 <x@y.fr>: Recipient address "
     "rejected)"),
    ("relay unreachable: ConnectionRefusedError: [Errno 111] Connection refused", "le relais SMTP est injoignable"),
    ("relay answered 554 5.7.1 spam", "le relais SMTP a refusé le message (réponse : 554 5.7.1 spam)"),
    ("Telegram refused (403): Forbidden: bot was blocked by the user",
     "l'usager a bloqué le bot Telegram ou quitté la conversation"),
    ("KeyError: 'to'", "erreur inattendue (KeyError: 'to')"),
    (None, "raison inconnue"),
])
def test_french_reason(error: str | None, expected: str) -> None:
    assert french_reason(error) == expected


def test_public_url_defaults_to_the_listener() -> None:
    assert Settings(http_port=18080).public_url == "http://127.0.0.1:18080"
    assert Settings(http_host="::1", http_port=8081).public_url == "http://[::1]:8081"
    assert Settings(http_host="0.0.0.0", http_port=80).public_url == f"http://{socket.gethostname()}:80"  # noqa: S104
    assert Settings(public_url="https://assistance.craig.fr/", http_port=18080).public_url == \
        "https://assistance.craig.fr"


def test_configuration_warnings() -> None:
    assert any("HELPDESK_SMTP_RELAY_HOST" in w for w in configuration_warnings(Settings()))
    loopback = configuration_warnings(Settings(smtp_relay_host="relay.craig.fr"))
    assert len(loopback) == 1 and "HELPDESK_PUBLIC_URL" in loopback[0]
    assert configuration_warnings(Settings(smtp_relay_host="relay.craig.fr",
                                           public_url="https://assistance.craig.fr")) == []
    assert is_loopback_url("http://localhost:8080") and not is_loopback_url("https://assistance.craig.fr")


def test_delivery_problems_follow_the_configured_senders() -> None:
    assert delivery_problems({"telegram"}) and delivery_problems({"email", "telegram"}) == []
