"""Settings that make the service look fine while nothing leaves: said by `serve` and `helpdesk config`.

Apart from the Outbox's status (which needs the database layer) so that `helpdesk config` starts fast.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from helpdesk.config import Settings


def configuration_warnings(settings: Settings) -> list[str]:
    """What makes the service say it works while nothing leaves (shown by `serve` and `helpdesk config`)."""
    out = []
    if not settings.smtp_relay_host:
        out.append("Aucun relais SMTP n'est configuré (HELPDESK_SMTP_RELAY_HOST) : les réponses et accusés de "
                   "réception par courriel restent en file d'envoi et ne partent pas.")
    elif is_loopback_url(settings.public_url):
        out.append(f"HELPDESK_PUBLIC_URL vaut {settings.public_url}, une adresse locale : les liens envoyés "
                   "par courriel (FAQ, satisfaction, résultats de vérification) ne fonctionneront pas chez les "
                   "usagers. Indiquez l'adresse publique du service.")
    return out


def is_loopback_url(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host in ("localhost", "::1") or host.startswith("127.") or host.endswith(".localhost")
