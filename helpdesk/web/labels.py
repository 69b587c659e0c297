"""French labels and formats for what staff and the public read."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from helpdesk.domain.messages_fr import STATUS_FR

PARIS = ZoneInfo("Europe/Paris")

STATUS = STATUS_FR  # the catalogue's: error messages and pages name statuses alike
PRIORITY = {"low": "Basse", "normal": "Normale", "high": "Haute", "urgent": "Urgente"}
CHANNEL = {"email": "Courriel", "telegram": "Telegram", "web": "Formulaire web", "phone": "Téléphone", "api": "API",
           "portal": "Espace demandeur"}
DIRECTION = {"inbound": "Message reçu", "outbound": "Réponse", "note": "Note interne"}
DELIVERY = {"queued": "en file d'envoi", "sent": "envoyé", "failed": "échec de l'envoi"}
ORG_KIND = {"commune": "Commune", "epci": "EPCI", "departement": "Département", "syndicat": "Syndicat",
            "pnr": "Parc naturel régional", "pays": "Pays", "other": "Autre"}
KB_STATUS = {"published": "Publiée", "draft": "Brouillon", "retired": "Retirée"}
THREAD_REASON = {
    "threaded by In-Reply-To": "rattaché par l'en-tête In-Reply-To (une réponse à un message de ce ticket)",
    "threaded by References": "rattaché par l'en-tête References (un message de ce ticket y est cité)",
    "threaded by subject tag from a participant":
        "rattaché par la référence [#…] de l'objet, envoyée par un participant",
    "threaded by the channel conversation": "rattaché à la conversation en cours sur ce canal",
    "new: no reference to a known ticket": "nouveau ticket : aucune référence à un ticket connu",
    "new: subject tag from someone who is not a participant of that ticket":
        "nouveau ticket : référence [#…] envoyée par une personne qui ne participe pas à ce ticket (tickets liés)",
    "new: the requester asked for a new request": "nouveau ticket, à la demande de l'expéditeur",
    "new: In-Reply-To from someone who is not a participant of that ticket":
        "nouveau ticket : réponse à un message d'un ticket auquel l'expéditeur ne participe pas (tickets liés)",
    "new: References from someone who is not a participant of that ticket":
        "nouveau ticket : cite un message d'un ticket auquel l'expéditeur ne participe pas (tickets liés)",
}
_FOLLOW_UP = re.compile(r"^ticket #(\d+) closed: follow-up opened$")
_SPLIT = re.compile(r"^split from #(\d+) by staff \(was: (.*)\)$", re.S)
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


def thread_reason(reason: str | None) -> str:
    """Why intake put a message on its ticket, in French (the stored reason is for developers)."""
    if not reason:
        return ""
    split = _SPLIT.match(reason)
    if split:
        before = thread_reason(split.group(2))
        return f"séparé du ticket #{split.group(1)} par l'équipe" + (f" (avant : {before})" if before else "")
    parts = []
    for part in reason.split("; "):
        follow_up = _FOLLOW_UP.match(part)
        if follow_up:
            parts.append(f"le ticket #{follow_up.group(1)} étant fermé, ce ticket de suite a été ouvert")
        else:
            parts.append(THREAD_REASON.get(part, part))
    return " ; ".join(parts)
