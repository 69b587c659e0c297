"""What the bot says (French), HTML escaping for Telegram's parse mode, splitting over 4096 characters.

Every text that did not come from this module (FAQ titles and extracts, staff replies, ticket
subjects) goes through ``esc`` before it meets HTML. Lengths are counted as Telegram does, in UTF-16
code units, on the escaped text: a conservative bound for the limit after entity parsing.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

from helpdesk.domain.values import STATUS_LABELS_FR, TicketStatus

LIMIT = 4096
SNIPPET = 280


def esc(text: str) -> str:
    return html.escape(text, quote=False)


def tg_len(text: str) -> int:
    """Length in UTF-16 code units (emoji and other astral characters count twice)."""
    return len(text.encode("utf-16-le")) // 2


def _char_len(ch: str) -> int:
    return tg_len(esc(ch))


def _hard_cut(text: str, limit: int) -> list[str]:
    chunks: list[str] = []
    cur: list[str] = []
    size = 0
    for ch in text:
        n = _char_len(ch)
        if size + n > limit and cur:
            chunks.append("".join(cur))
            cur, size = [], 0
        cur.append(ch)
        size += n
    if cur:
        chunks.append("".join(cur))
    return chunks


def split_text(text: str, limit: int = LIMIT) -> list[str]:
    """Plain text in pieces whose escaped length fits ``limit``: at paragraphs, then lines, then words."""
    text = text.strip()
    if not text:
        return []
    if tg_len(esc(text)) <= limit:
        return [text]
    for sep in ("\n\n", "\n", " "):
        parts = text.split(sep)
        if len(parts) == 1:
            continue
        sep_len = tg_len(esc(sep))
        chunks: list[str] = []
        cur, cur_len = "", 0
        for part in parts:
            plen = tg_len(esc(part))
            if cur and cur_len + sep_len + plen <= limit:
                cur, cur_len = cur + sep + part, cur_len + sep_len + plen
                continue
            if cur.strip():
                chunks.append(cur.strip())
            if plen <= limit:
                cur, cur_len = part, plen
            else:
                pieces = split_text(part, limit)
                chunks.extend(pieces[:-1])
                cur = pieces[-1] if pieces else ""
                cur_len = tg_len(esc(cur))
        if cur.strip():
            chunks.append(cur.strip())
        return chunks
    return _hard_cut(text, limit)


def pack(blocks: Iterable[str], limit: int = LIMIT) -> list[str]:
    """Join HTML blocks (each balanced, each within ``limit``) into as few messages as fit."""
    messages: list[str] = []
    cur = ""
    for block in blocks:
        if not block:
            continue
        candidate = f"{cur}\n\n{block}" if cur else block
        if tg_len(candidate) <= limit:
            cur = candidate
        else:
            if cur:
                messages.append(cur)
            cur = block
    if cur:
        messages.append(cur)
    return messages


def plain_blocks(text: str, limit: int = LIMIT) -> list[str]:
    return [esc(chunk) for chunk in split_text(text, limit)]


def _shorten(text: str, size: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[: size - 1].rstrip() + "…"


# ---- the conversation ----------------------------------------------------------------------
WELCOME = (
    "Bonjour ! Je suis l'assistant du CRAIG pour l'ouverture des données publiques.\n\n"
    "Posez-moi votre question (métadonnées, structuration, publication…) : je cherche la réponse dans "
    "notre FAQ en quelques secondes. Si elle ne suffit pas, touchez « Parler à un conseiller » et une "
    "personne de l'équipe prend le relais, avec toute notre conversation.\n\n"
    "Commandes : /aide, /mesdemandes (vos demandes en cours), /nouvelle (une nouvelle question)."
)
HELP = (
    "Comment ça marche :\n"
    "• écrivez votre question en quelques mots, je vous propose les réponses de la FAQ ;\n"
    "• « Ça répond à ma question » si c'est le cas, « Parler à un conseiller » sinon ;\n"
    "• pendant qu'une demande est ouverte, vos messages, photos et documents y sont ajoutés.\n\n"
    "/mesdemandes : vos demandes et leur état\n/nouvelle : poser une nouvelle question\n"
    "Vous pouvez aussi écrire à l'adresse e-mail de l'assistance."
)
NEW_QUESTION = "C'est noté : posez votre nouvelle question, je cherche dans la FAQ."
ABSTAIN = (
    "Je n'ai pas trouvé de réponse sûre dans la FAQ. Un conseiller peut vous aider : "
    "touchez « Parler à un conseiller »."
)
ASK_EMAIL = (
    "Pour que le conseiller puisse vous répondre aussi par e-mail, quelle est votre adresse e-mail ? "
    "(Vous pouvez passer cette étape.)"
)
BAD_EMAIL = "Cette adresse ne semble pas valide. Exemple : prenom.nom@mairie-exemple.fr — ou touchez « Passer »."
ASK_ORG = "Merci ! Pour quelle collectivité écrivez-vous ? (par exemple : Commune de Murat)"
THANKS_HELPFUL = "Merci ! Ravi d'avoir pu vous aider. Une autre question ? Écrivez-la simplement."
FILE_KEPT = (
    "Fichier reçu. Il sera transmis au conseiller avec votre question : touchez « Parler à un conseiller »."
)
FILE_TOO_BIG = "Ce fichier dépasse 20 Mo, la limite de Telegram pour les robots. Envoyez-le plutôt par e-mail."
NO_TICKETS = "Vous n'avez aucune demande en cours."
UNKNOWN_COMMAND = "Je ne connais pas cette commande. /aide pour la liste."
TEMPORARY_PROBLEM = (
    "Un problème temporaire retarde ma réponse. Votre message est bien enregistré : je le reprends dès que "
    "possible, inutile de le renvoyer."
)
FAILED = (
    "Désolé, je n'ai pas pu traiter ce message. Reformulez-le, ou écrivez à l'adresse e-mail de l'assistance."
)
NO_CODE = "Aucun code n'est en attente pour cette conversation."

RATING_REFUSED = "Cette demande ne peut plus être notée (elle a peut-être été rouverte)."


def rating_thanks(score: int) -> str:
    return f"Merci pour votre note : {score}/5."


BUTTON_HELPFUL = "Ça répond à ma question"
BUTTON_HUMAN = "Parler à un conseiller"
BUTTON_SKIP = "Passer"


ANSWER_MAX = 3000  # a full answer shown in the chat at most this long (Telegram HTML, UTF-16 units)


def answer_html(markdown: str | None) -> str | None:
    """An FAQ answer in Telegram's HTML (knowledge_base.render.to_telegram_html), None when too long."""
    if not markdown:
        return None
    from knowledge_base import to_telegram_html

    rendered = to_telegram_html(markdown).strip()
    return rendered if rendered and tg_len(rendered) <= ANSWER_MAX else None


def suggestions(items: Sequence[tuple[str, str, str]], answers: Sequence[str | None] = ()) -> list[str]:
    """The FAQ suggestions: (title, extract, link) each, escaped, in messages that fit. The first one's
    full answer is shown instead of its extract when `answers` has it (already Telegram HTML)."""
    blocks = ["Voici ce que j'ai trouvé dans la FAQ :"]
    for n, (title, snippet, url) in enumerate(items, start=1):
        full = answers[n - 1] if n == 1 and len(answers) >= 1 else None
        extract = full if full else esc(_shorten(snippet, SNIPPET))
        block = f"{n}. <b>{esc(_shorten(title, 200))}</b>\n{extract}"
        if url:
            block += f'\n<a href="{html.escape(url, quote=True)}">Lire la réponse complète</a>'
        blocks.append(block)
    return pack(blocks)


def helpful_label(index: int, count: int) -> str:
    return BUTTON_HELPFUL if count == 1 else f"{BUTTON_HELPFUL} : n°{index + 1}"


def ticket_opened(number: int) -> str:
    return (
        f"C'est transmis : votre demande porte le numéro <b>{number}</b>. Un conseiller vous répondra ici. "
        "Vous pouvez ajouter des précisions, des photos ou des documents à tout moment."
    )


def appended(number: int, *, reopened: bool) -> str:
    if reopened:
        return f"Votre demande n°{number} est rouverte avec ce message ; un conseiller va la reprendre."
    return f"Ajouté à votre demande n°{number}."


def new_linked(number: int, previous: int) -> str:
    return (
        f"Votre demande n°{previous} étant close, j'ai ouvert la demande n°<b>{number}</b>, liée à la "
        "précédente. Un conseiller vous répondra ici."
    )


def already_handled(number: int) -> str:
    return f"Votre demande n°{number} est déjà entre les mains d'un conseiller : écrivez ici pour la compléter."


def code_sent(email: str) -> str:
    return (
        f"Un code à 6 chiffres vient d'être envoyé à {esc(email)}. Envoyez-le ici pour relier cette conversation "
        "à vos demandes par e-mail (facultatif, valable 30 minutes)."
    )


def code_linked(email: str) -> str:
    return (
        f"Adresse confirmée : {esc(email)}. "
        "Vos demandes par e-mail et par Telegram partagent maintenant un historique."
    )


def code_wrong(left: int) -> str:
    if left <= 0:
        return "Code incorrect. Trop d'essais : le code est annulé."
    return f"Code incorrect. Il vous reste {left} essai{'s' if left > 1 else ''}."


CODE_EXPIRED = "Ce code a expiré. Touchez « Parler à un conseiller » pour en recevoir un nouveau."


def my_requests(rows: Sequence[tuple[int, str, TicketStatus]]) -> str:
    if not rows:
        return NO_TICKETS
    lines = ["Vos demandes :"]
    for number, subject, status in rows:
        lines.append(f"• n°{number} — {esc(_shorten(subject, 80))} : <i>{STATUS_LABELS_FR[status]}</i>")
    return "\n".join(lines)


def staff_reply(text: str, ticket_number: int | None) -> list[str]:
    """A staff reply as HTML messages: a header then the text, escaped and split."""
    header = f"<b>Réponse de l'équipe — demande n°{ticket_number}</b>\n\n" if ticket_number else ""
    blocks = plain_blocks(text, LIMIT - tg_len(header))
    if not blocks:
        return []
    return pack([header + blocks[0], *blocks[1:]])


def plain(text: str) -> list[str]:
    return pack(plain_blocks(text))
