"""The French text of every coded user error: one catalogue, used by the edges (web, CLI, Telegram).

The core raises ``UserError(message, code=..., **params)``; the message is for logs and developers,
the edges show ``user_message_fr(exc)``. An error without a code is shown as raised (those messages
are already written for users).
"""

from __future__ import annotations

from helpdesk.domain.errors import ErrorCode, UserError

# How staff call each status (the requester-facing wording is values.STATUS_LABELS_FR).
STATUS_FR: dict[str, str] = {"new": "Nouveau", "open": "En cours", "pending": "En attente", "resolved": "Résolu",
                             "closed": "Fermé"}

CATALOGUE: dict[ErrorCode, str] = {
    ErrorCode.TICKET_NOT_FOUND: "ticket n° {number} introuvable",
    ErrorCode.REPLY_EMPTY: "la réponse ne peut pas être vide",
    ErrorCode.NOTE_EMPTY: "la note ne peut pas être vide",
    ErrorCode.NO_REQUESTER: "le ticket n° {number} n'a pas de demandeur",
    ErrorCode.REQUESTER_NO_EMAIL: "le demandeur du ticket n° {number} n'a pas d'adresse électronique : "
                                  "rappelez-le par téléphone",
    ErrorCode.STAFF_NOT_FOUND: "membre de l'équipe {id} introuvable",
    ErrorCode.TEAM_NOT_FOUND: "équipe {id} introuvable",
    ErrorCode.INVALID_TRANSITION: "action impossible sur un ticket « {status_label} »",
    ErrorCode.QUARANTINE_ITEM_NOT_FOUND: "élément de quarantaine n° {id} introuvable",
    ErrorCode.SLA_POLICY_NOT_FOUND: "politique de délais « {name} » introuvable",
    ErrorCode.CLOSURE_NOT_FOUND: "fermeture n° {id} introuvable",
    ErrorCode.ROUTING_RULE_NOT_FOUND: "règle d'aiguillage n° {id} introuvable",
    ErrorCode.CALENDAR_NOT_FOUND: "calendrier « {name} » introuvable",
    ErrorCode.CANNED_NOT_FOUND: "réponse type n° {id} introuvable",
    ErrorCode.INVALID_EMAIL: "adresse électronique invalide : {email}",
    ErrorCode.STAFF_EXISTS: "un compte existe déjà pour {email}",
    ErrorCode.OWN_ROLE: "vous ne pouvez pas changer votre propre rôle",
    ErrorCode.OWN_DEACTIVATION: "vous ne pouvez pas désactiver votre propre compte",
    ErrorCode.LAST_ADMIN: "il faut au moins un autre administrateur actif avant de retirer celui-ci",
    ErrorCode.TEAM_EXISTS: "une équipe « {name} » existe déjà",
    ErrorCode.TEAM_NAME_EMPTY: "une équipe doit avoir un nom",
    ErrorCode.TEAM_NAME_TOO_LONG: "le nom d'une équipe a au plus {max} caractères",
    ErrorCode.QUARANTINE_STILL_FAILS: "le message n° {id} ne passe toujours pas : {reason}",
    ErrorCode.QUARANTINE_ALREADY_HANDLED: "le message n° {id} a déjà été traité",
}


def user_message_fr(exc: UserError) -> str:
    """What the user reads for ``exc``."""
    if exc.code is None or exc.code not in CATALOGUE:
        return str(exc)
    params = dict(exc.params)
    if exc.code is ErrorCode.INVALID_TRANSITION:
        params["status_label"] = STATUS_FR.get(str(params.get("status")), str(params.get("status")))
    try:
        return CATALOGUE[exc.code].format(**params)
    except (KeyError, IndexError):  # a raise site that forgot a parameter still answers in French
        return CATALOGUE[exc.code].split("{", 1)[0].strip()
