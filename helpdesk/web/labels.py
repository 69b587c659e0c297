"""French labels and formats for what staff and the public read."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")

STATUS = {"new": "Nouveau", "open": "En cours", "pending": "En attente", "resolved": "Résolu", "closed": "Fermé"}
PRIORITY = {"low": "Basse", "normal": "Normale", "high": "Haute", "urgent": "Urgente"}
CHANNEL = {"email": "Courriel", "telegram": "Telegram", "web": "Formulaire web", "phone": "Téléphone", "api": "API"}
DIRECTION = {"inbound": "Message reçu", "outbound": "Réponse", "note": "Note interne"}
DELIVERY = {"queued": "en file d'envoi", "sent": "envoyé", "failed": "échec de l'envoi"}
ORG_KIND = {"commune": "Commune", "epci": "EPCI", "departement": "Département", "syndicat": "Syndicat",
            "pnr": "Parc naturel régional", "pays": "Pays", "other": "Autre"}
KB_STATUS = {"published": "Publiée", "draft": "Brouillon", "retired": "Retirée"}
AUTOMATIC_KIND = {"auto_reply": "Réponse automatique", "bulk": "Envoi en nombre", "bounce": "Avis de non-distribution"}


def local_time(value: datetime | None) -> str:
    if value is None:
        return "—"
    return value.astimezone(PARIS).strftime("%d/%m/%Y %H:%M")


def duration(seconds: int | None) -> str:
    """``3 j 2 h``, ``2 h 05``, ``12 min``: the SLA time left, or how late, in words."""
    if seconds is None:
        return "sans échéance"
    late = seconds < 0
    s = abs(seconds)
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        text = f"{days} j {hours} h"
    elif hours:
        text = f"{hours} h {minutes:02d}"
    else:
        text = f"{minutes} min"
    return f"en retard de {text}" if late else f"reste {text}"


def file_size(size: int) -> str:
    if size < 1024:
        return f"{size} o"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} Ko"
    return f"{size / 1024 / 1024:.1f} Mo"
