"""Reduce a message (often a long email) to what it asks, as sentences with weights.

Dropped: quoted replies and everything after their header ("Le … a écrit :", "-----Message d'origine-----",
"De : … Envoyé : …", "> " lines), the signature (after "-- " or a sign-off such as "Cordialement",
"Bien à vous", with the name, title, phone and "Mairie de …" lines under it) and a trailing sign-off on the
same line ("… ? Merci d'avance. Sylvie"). Sentences that ask something ("?", "comment", "est-ce que",
"peut-on"…) weigh QUESTION_WEIGHT; the others, which give context, weigh CONTEXT_WEIGHT.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge_base.normalize import fold

QUESTION_WEIGHT = 1.0
CONTEXT_WEIGHT = 0.8

# Matched on folded text (lowercase, no accents).
_QUOTE_HEADERS = [
    re.compile(r"^\s*le .{4,200}a\s+ecrit\s*:?\s*$"),
    re.compile(r"^\s*on .{4,200}wrote\s*:?\s*$"),
    re.compile(r"^\s*-{2,}\s*(message d'origine|original message|message transfere|forwarded message)"),
    re.compile(r"^\s*_{8,}\s*$"),
    re.compile(r"^\s*(de|from)\s*:\s*\S+.*$"),
]
_SENT_HEADER = re.compile(r"^\s*(envoye|sent|date|objet|subject|a|to)\s*:")
_SIGN_OFF = re.compile(
    r"^\s*(bien )?(cordialement|cdlt|bien a (vous|toi)|salutations|sinceres salutations|bonne (journee|soiree|fin de"
    r" journee)|belle journee|a bientot|merci( beaucoup| encore| d'avance| par avance| pour votre (aide|retour"
    r"|reponse))?|en vous remerciant.*|dans l'attente de votre (retour|reponse).*|veuillez agreer.*)\s*[,.!]*\s*$"
)
_INLINE_SIGN_OFF = re.compile(
    r"(?:^|(?<=[.?!,;\s]))(?:(?:bien )?(?:cordialement|cdlt|bien a vous|bonne journee|en vous remerciant|a bientot)"
    r"\b|merci(?: d'avance| par avance| beaucoup| encore| a vous| (?:pour|de) votre (?:aide|retour|reponse|temps))?"
    r"(?=\s*(?:[,.!]|$)))"
)
_GREETING = re.compile(r"^\s*(bonjour|bonsoir|salut|hello|bjr|madame|monsieur|mesdames|messieurs|cher|ch[eè]re)\b"
                       r"[^.?!\n]{0,40}?[,!:]\s*", re.IGNORECASE)
_CONTACT = re.compile(r"(\+33|\b0\d)([ .-]?\d{2}){4}\b|@|https?://|^\s*(tel|tél|fax|portable|mobile|mairie de"
                      r"|commune de|secretaire|secretariat|service|communaute de|adresse|site)\b")
_QUESTION_WORDS = re.compile(
    r"\?|\b(comment|pourquoi|combien|quel|quelle|quels|quelles|lequel|laquelle|est-ce|est ce|peut-on|peut on"
    r"|doit-on|doit on|faut-il|faut il|peux-je|puis-je|pouvez-vous|pourriez-vous|auriez-vous|avez-vous|ou trouver"
    r"|que faire|qu'est-ce|c'est quoi|c quoi|savoir si|je cherche|j'aimerais|je voudrais|nous voudrions)\b"
)
_SENTENCE_END = re.compile(r"(?<=[.?!])\s+|\n+")


@dataclass(frozen=True, slots=True)
class Sentence:
    text: str
    weight: float


def strip_quoted(text: str) -> str:
    """The message without quoted replies: cut at the first reply header, drop '>' lines."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for i, line in enumerate(lines):
        folded = fold(line)
        if line.lstrip().startswith(">"):
            continue
        if any(p.match(folded) for p in _QUOTE_HEADERS[:4]):
            break
        if _QUOTE_HEADERS[4].match(folded) and any(_SENT_HEADER.match(fold(n)) for n in lines[i + 1 : i + 4]):
            break
        if i + 1 < len(lines) and re.match(r"^\s*le .{4,200}\ba\s*$", folded) and "ecrit" in fold(lines[i + 1]):
            break  # "Le … a" / "écrit :" wrapped over two lines
        kept.append(line)
    return "\n".join(kept)


def strip_signature(text: str) -> str:
    """The message without its signature block and without a trailing sign-off on the last line."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.rstrip() in ("--", "-- ") or (i > 0 and _SIGN_OFF.match(fold(line))):
            lines = lines[:i]
            break
    while lines and (not lines[-1].strip() or _is_contact_line(lines[-1])):
        lines.pop()
    body = "\n".join(lines)
    folded = _fold_in_place(body)
    for match in _INLINE_SIGN_OFF.finditer(folded, max(0, len(folded) - 160)):
        rest = folded[match.end() :]
        if len(rest.split()) <= 8 and "?" not in rest:
            return body[: match.start()].rstrip()
    return body


def _fold_in_place(text: str) -> str:
    """`fold`, keeping the length so that positions match the original (character by character if needed)."""
    folded = fold(text)
    return folded if len(folded) == len(text) else "".join((fold(c) or " ")[0] for c in text)


def _is_contact_line(line: str) -> bool:
    stripped = line.strip()
    if not stripped or stripped[-1] in ".?!:":
        return False
    folded = fold(stripped)
    return bool(_CONTACT.search(folded)) or (len(stripped.split()) <= 4 and stripped[0].isupper())


def strip_greeting(text: str) -> str:
    return _GREETING.sub("", text.lstrip(), count=1)


def sentences(text: str) -> list[Sentence]:
    """The sentences of a message that matter for search, with their weights; [] when nothing is left."""
    core = strip_greeting(strip_signature(strip_quoted(text)))
    out: list[Sentence] = []
    for part in _SENTENCE_END.split(core):
        part = part.strip(" \t-*•|")
        if not part:
            continue
        weight = QUESTION_WEIGHT if _QUESTION_WORDS.search(fold(part)) else CONTEXT_WEIGHT
        out.append(Sentence(part, weight))
    return out


def question_text(text: str) -> str:
    """The message reduced to its sentences, joined: what a person would read as the request."""
    return " ".join(s.text for s in sentences(text))
