"""French wording for the core's error messages (the core speaks English in logs and the CLI)."""

from __future__ import annotations

import re

from helpdesk.domain.errors import InvalidTransition, UserError
from helpdesk.web.labels import STATUS

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^ticket #(\d+) not found$"), r"ticket n° \1 introuvable"),
    (re.compile(r"^a reply cannot be empty$"), "la réponse ne peut pas être vide"),
    (re.compile(r"^a note cannot be empty$"), "la note ne peut pas être vide"),
    (re.compile(r"^ticket #(\d+): the requester has no email address$"),
     r"le demandeur du ticket n° \1 n'a pas d'adresse électronique : rappelez-le par téléphone"),
    (re.compile(r"^ticket #(\d+) has no requester to answer$"), r"le ticket n° \1 n'a pas de demandeur"),
    (re.compile(r"^staff user (\d+) not found$"), "membre de l'équipe introuvable"),
]


def french(exc: UserError) -> str:
    if isinstance(exc, InvalidTransition):
        return f"action impossible sur un ticket « {STATUS.get(exc.status, exc.status)} »"
    text = str(exc)
    for pattern, repl in _PATTERNS:
        if pattern.match(text):
            return pattern.sub(repl, text)
    return text
