"""The visible part of a reply: the text above the quoted message, without the signature.

Pure functions on plain text. Recognised quote starts: French, English and other Gmail/Apple/
Thunderbird headers ("Le … a écrit :", "On … wrote:", also wrapped over two or three lines),
Outlook header blocks ("De : … Envoyé : … À : … Objet :", indented Yahoo variants, "*From:*"),
separators ("-----Message d'origine-----", "-----Original Message-----", "Begin forwarded
message:", a line of underscores) and ``>`` quoting. Also: an attribution on the same line as the reply
("Merci. Le lun. 3 mars 2025 à 10:00, X <x@y> a écrit :"), one whose ``<address>`` went below a blank
line (Polymail), and quote lines that lost their ``>`` to a link. Signatures: the "-- " delimiter, the
mobile footers ("Envoyé de mon iPhone", "Obtenir Outlook pour iOS") and a closing formula followed by a
few short lines ("Cordialement," / "Martine Dupuis" / "Mairie de …" / "04 71 …"; the formula goes too).
When stripping would leave nothing (a bare forward), the full text is the visible text.
"""

from __future__ import annotations

import re

_WROTE = (
    r"(?:a\s+écrit|a\s+ecrit|wrote|schrieb|escribió|escribio|ha\s+escrit|ha\s+scritto|escreveu|schreef|"
    r"geschreven|skrev|napisał(?:\(a\))?|pisze|kirjoitti|написал(?:\(а\))?|написала)"
)
_OPENER = r"(?:le|on|am|el|il|em|op|den|dnia|w\s+dniu|på|pe|dne|в|the)"
_ATTRIBUTION = re.compile(
    rf"(?:>\s*)*[-–]*\s*{_OPENER}\b.{{0,300}}?\b{_WROTE}\b.{{0,200}}?[:\-]*\s*", re.IGNORECASE | re.DOTALL
)
_ATTRIBUTION_DASHES = re.compile(rf"\s*-{{2,}}.{{0,200}}\b{_WROTE}\b.{{0,40}}-{{2,}}\s*", re.IGNORECASE)
# "2014-03-20 8:48 GMT+01:00 Rémi <r@x.fr>:", "tir. 18. apr. 2017 kl. 13:09 skrev A <a@x>:", CJK variants.
_ATTRIBUTION_LOOSE = re.compile(r"(?=.*\d).{0,200}<\s*[^<>\s]+@[^<>\s]+\s*>.{0,40}[:：]\s*", re.DOTALL)
_OPENER_START = re.compile(rf"\s*(?:>\s*)*[-–]*\s*{_OPENER}\b", re.IGNORECASE)
_DATED_ADDRESS = re.compile(r"\s*\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}.{0,100}<[^<>\s]+@[^<>\s]+>\s*")
_SEPARATOR = re.compile(
    r"\s*[-=_*]{2,}\s*(?:original\s+message|message\s+d'origine|message\s+d’origine|"
    r"oprindelig\s+besked|mensaje\s+original|ursprüngliche\s+nachricht|messaggio\s+originale|"
    r"oprindelig\s+meddelelse|opprinnelig\s+melding|ursprungligt\s+meddelande|alkuperäinen\s+viesti|"
    r"mensagem\s+original|исходное\s+сообщение|oorspronkelijk\s+bericht|wiadomość\s+oryginalna)"
    r"\s*[-=_*]*\s*",
    re.IGNORECASE,
)
# A forward is content to read, not a quote: nothing below it is stripped.
_FORWARD = re.compile(
    r"\s*[-=_*]*\s*(?:begin\s+forwarded\s+message|début\s+du\s+message\s+(?:réexpédié|transféré)|"
    r"message\s+transféré|forwarded\s+message|weitergeleitete\s+nachricht)\s*:?\s*[-=_*]*\s*",
    re.IGNORECASE,
)
_UNDERSCORES = re.compile(r"\s*(?:_{20,}|={4,}|-{4,})\s*")
_ATTRIBUTION_NAME = re.compile(rf".{{0,100}}<[^<>\s]+@[^<>\s]+>\s*{_WROTE}\s*:\s*", re.IGNORECASE)
_HEADER = re.compile(
    r"\s*\**\s*(from|de|von|van|da|fra|från|od|от|sent|envoyé|envoyé\s+le|date|gesendet|datum|"
    r"message\s+du|dato|to|à|a|an|aan|til|till|cc|copie\s+à|copie|subject|sujet|objet|betreff|onderwerp|oggetto|asunto|emne|ämne|temat|тема|"
    r"отправлено|кому|enviado|inviato|verzonden|skickat|sendt|wysłano|para|per)\s*\**\s*:\s*\**",
    re.IGNORECASE,
)
_FROM_NAMES = {"from", "de", "von", "van", "da", "fra", "från", "od", "от"}
_SIG_DELIMITER = re.compile(r"(?:--|__)\s?")
_MOBILE_FOOTER = re.compile(
    r"\s*(?:envoyé\s+(?:de|depuis|à\s+partir\s+de)\s+(?:mon|ma|outlook|yahoo|l'application)|"
    r"sent\s+from\s+\S+|get\s+outlook\s+for|obtenir\s+outlook\s+pour|"
    r"télécharger\s+outlook\s+pour|gesendet\s+von|von\s+meinem|enviado\s+desde\s+mi|inviato\s+da)\b.*",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"\s*>")
# A closing formula that opens the signature block: « Cordialement, Martine Dupuis, Mairie de…, 04 71… ».
_VALEDICTION = re.compile(
    r"\s*(?:(?:bien|très|tres|trés|sincères|sinceres|meilleures|bien\s+sincères)\s+)?"
    r"(?:cordialement|cdlt|cdt|salutations(?:\s+distinguées)?|amicalement|respectueusement|"
    r"bien\s+à\s+(?:vous|toi)|bien\s+a\s+vous|"
    r"(?:best|kind|warm)?\s*regards|best\s+wishes|mit\s+freundlichen\s+grüßen|"
    r"(?:veuillez|je\s+vous\s+prie\s+d['’])\s*agréer\b.*|dans\s+l['’]attente\s+de\s+(?:votre|vous)\s+lire.*)"
    r"\s*[,.!]*\s*(?P<rest>.*)",
    re.IGNORECASE,
)
SIGNATURE_MAX_LINES = 10  # lines below the closing formula: name, role, organisation, address, phones, site
SIGNATURE_MAX_WIDTH = 120
# An attribution that begins inside a line of reply text: "Merci. Le lun. 3 mars 2025 à 10:00, X <x@y> a écrit :".
_OPENER_INLINE = re.compile(rf"(?:[-–]{{2,}}\s*)?\b{_OPENER}\b", re.IGNORECASE)
_ENDS_WITH_WROTE = re.compile(rf"\b{_WROTE}\s*[:：]?\s*[-–]*\s*$", re.IGNORECASE)
_ADDRESS_PART = re.compile(r"<[^<>]*>|\S+@\S+")
_SENTENCE_END = (".", "!", "?", "…")
_URL = r"(?:https?://|mailto:|www\.)"
# " (http://example.com/c/x) >": a link pushed the next line's '>' marker to the end of its own line.
_LINK_THEN_MARKER = re.compile(rf"\s*[(<\[]?{_URL}\S*\s*(?:>\s*)+")
# "> Voir (https://data.craig.fr/jeu" then "_2025)": a link in brackets wrapped onto a line without '>'.
_OPEN_LINK_AT_END = re.compile(rf"([(<\[]){_URL}[^\s)>\]]*$")
_CLOSERS = {"(": ")", "<": ">", "[": "]"}


def normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _attribution_length(lines: list[str], i: int) -> int:
    """How many lines the attribution starting at ``i`` spans (0: none)."""
    for k in (1, 2, 3):
        if i + k > len(lines):
            return 0
        if k > 1 and not lines[i + k - 1].strip():
            return _over_blank_lines(lines, i)
        chunk = " ".join(part.strip() for part in lines[i : i + k])
        if len(chunk) > 400:
            return 0
        matched = any(p.fullmatch(chunk) for p in (_ATTRIBUTION, _ATTRIBUTION_DASHES, _ATTRIBUTION_NAME)) or (
            _ATTRIBUTION_LOOSE.fullmatch(chunk) is not None and not _QUOTED.match(lines[i])
        )
        if matched:
            # A wrapped attribution starts at its own first line, not on the sentence before it.
            if k > 1 and (lines[i].rstrip().endswith((".", "!", "?")) or (
                not _OPENER_START.match(lines[i]) and _attribution_length(lines, i + 1)
            )):
                return 0
            return k
        if k == 1 and _DATED_ADDRESS.fullmatch(chunk) and _next_is_quoted(lines, i + 1):
            return 1
    return 0


def _over_blank_lines(lines: list[str], i: int) -> int:
    """Lines spanned by an attribution whose ``<address>`` was pushed below a blank line (Polymail):
    "On Tue, Apr 11, 2017 at 10:07 PM John Smith", "", "<", "mailto:John Smith <j@x.com>", "> wrote:"."""
    first = lines[i]
    if not _OPENER_START.match(first) or not re.search(r"\d", first) or first.rstrip().endswith(_SENTENCE_END):
        return 0
    parts = [first.strip()]
    blank_before_address = False
    for j in range(i + 1, min(i + 7, len(lines))):
        line = lines[j].strip()
        if not line:
            nxt = next((x.strip() for x in lines[j + 1 : i + 7] if x.strip()), "")
            if not nxt.startswith("<"):
                return 0
            blank_before_address = True
            continue
        if len(line) > 100:
            return 0
        parts.append(line)
        if _ENDS_WITH_WROTE.search(line):
            chunk = " ".join(parts)
            ok = blank_before_address and "@" in chunk and len(chunk) <= 400 and _ATTRIBUTION.fullmatch(chunk)
            return j - i + 1 if ok else 0
        if line.endswith(_SENTENCE_END):
            return 0
    return 0


def _inline_attribution(chunk: str) -> int | None:
    """Column where an attribution starts after reply text on the same line ("reply On … wrote:")."""
    if not _ENDS_WITH_WROTE.search(chunk):
        return None
    for m in reversed(list(_OPENER_INLINE.finditer(chunk, max(0, len(chunk) - 400)))):
        start, opener = m.start(), m.group().lstrip("-– ")
        prefix, tail = chunk[:start].rstrip(), chunk[start:]
        if not re.search(r"\w", prefix):
            continue
        if not (opener[:1].isupper() or m.group().startswith(("-", "–"))):
            continue  # "on behalf of", "le dossier": a header's opener is capitalised
        if _OPENER_START.match(chunk) and not prefix.endswith(_SENTENCE_END):
            continue  # the line is itself an attribution, not reply text followed by one
        if not re.search(r"\d", _ADDRESS_PART.sub(" ", tail)):
            continue  # a header carries a date or a time
        if _ATTRIBUTION.fullmatch(tail) or _ATTRIBUTION_DASHES.fullmatch(tail):
            return start
    return None


def _shared_line(lines: list[str], k: int) -> int | None:
    """Column in ``lines[k]`` where an attribution starts after reply text, if one does.

    The attribution may wrap onto the next line; it must be followed by a ``>`` quote or carry an address."""
    line = lines[k]
    if not line.strip() or _QUOTED.match(line):
        return None
    for extra in (0, 1):
        end = k + extra + 1
        if extra and (end > len(lines) or not lines[k + 1].strip() or _QUOTED.match(lines[k + 1])):
            return None
        chunk = " ".join([line.rstrip()] + [x.strip() for x in lines[k + 1 : end]])
        col = _inline_attribution(chunk)
        if col is not None and col < len(line.rstrip()):
            if "@" in chunk[col:] or _next_is_quoted(lines, end):
                return col
    return None


def _split_shared_line(lines: list[str]) -> list[str]:
    """Put an attribution that shares a line with the reply on its own line (up to the first quote start)."""
    found = quote_start(lines)
    stop = found[0] if found else len(lines) - 1
    for k in range(min(stop + 1, len(lines))):
        if _FORWARD.fullmatch(lines[k]):
            break
        col = _shared_line(lines, k)
        if col is not None:
            return [*lines[:k], lines[k][:col].rstrip(), lines[k][col:].strip(), *lines[k + 1 :]]
    return lines


def _link_piece(lines: list[str], j: int) -> bool:
    """A line of a ``>`` quote that lost its marker because of a link."""
    if j == 0 or not _QUOTED.match(lines[j - 1]):
        return False
    if _LINK_THEN_MARKER.fullmatch(lines[j]):
        return True
    opened = _OPEN_LINK_AT_END.search(lines[j - 1].rstrip())
    rest = lines[j].strip()
    return opened is not None and " " not in rest and rest.rstrip(".,;:!?").endswith(_CLOSERS[opened.group(1)])


def _in_quote(lines: list[str], j: int) -> bool:
    return bool(_QUOTED.match(lines[j])) or _link_piece(lines, j)


def _next_is_quoted(lines: list[str], j: int) -> bool:
    nxt = next((x for x in lines[j:] if x.strip()), "")
    return bool(_QUOTED.match(nxt))


def _header_name(line: str) -> str | None:
    m = _HEADER.match(line)
    if not m:
        return None
    return re.sub(r"\s+", " ", m.group(1).lower())


_DATE_NAMES = {"message du", "dato", "отправлено", "date", "sent", "envoyé", "envoyé le", "gesendet", "datum",
               "sendt", "skickat", "verzonden"}


def _is_header_block(lines: list[str], i: int) -> bool:
    first = _header_name(lines[i])
    if first is None or first not in _FROM_NAMES | _DATE_NAMES:
        return False
    names: list[str] = []
    for line in lines[i : i + 8]:
        name = _header_name(line)
        if name is not None:
            names.append(name)
        elif line.strip() and not line.startswith((" ", "\t")) and len(names) >= 2:
            break  # a wrapped value may follow; other text ends the block
        elif not line.strip() and len(names) >= 2:
            break
    distinct = set(names)
    return len(distinct) >= 3 or (len(distinct) >= 2 and bool(distinct & (_FROM_NAMES | _DATE_NAMES)))


def quote_start(lines: list[str]) -> tuple[int, int] | None:
    """Where the quoted message starts, and how many lines its attribution spans (0: to the end)."""
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        if _FORWARD.fullmatch(line):
            return None
        if _SEPARATOR.fullmatch(line):
            return i, 0
        if _UNDERSCORES.fullmatch(line) and any(_header_name(x) for x in lines[i + 1 : i + 3]):
            return i, 0
        span = _attribution_length(lines, i)
        if span:
            return i, span
        if _is_header_block(lines, i):
            return i, 0
    return None


def _wrapped(lines: list[str], j: int) -> bool:
    """A line right after a long quoted line: the sender's client wrapped the quote."""
    return j > 0 and bool(_QUOTED.match(lines[j - 1])) and len(lines[j - 1]) >= 60


def _cut_quotes(lines: list[str]) -> list[str]:
    lines = _split_shared_line(lines)
    found = quote_start(lines)
    if found is None:
        return lines
    i, span = found
    if span == 0:
        return lines[:i]
    # "On … wrote:" then a ">" block: text after the block is an answer below the quote.
    j = i + span
    while j < len(lines) and (not lines[j].strip() or _in_quote(lines, j) or _wrapped(lines, j)):
        j += 1
    quoted = any(_QUOTED.match(x) for x in lines[i + span : j])
    if not quoted or j >= len(lines):
        return lines[:i]
    return lines[:i] + _cut_quotes(lines[j:])


def _drop_quoted_lines(lines: list[str]) -> list[str]:
    quoted = [_in_quote(lines, j) for j in range(len(lines))]
    out = [line for line, q in zip(lines, quoted, strict=True) if not q]
    # "Someone wrote:" in an unknown language, right before a quoted block that ran to the end.
    if len(out) < len(lines):
        last_kept = max((i for i, line in enumerate(lines) if not quoted[i] and line.strip()), default=-1)
        tail_quoted = all(quoted[j] or not lines[j].strip() for j in range(last_kept + 1, len(lines)))
        if last_kept >= 0 and tail_quoted and lines[last_kept].rstrip().endswith(":") and last_kept + 1 < len(lines):
            nxt = next((x for x in lines[last_kept + 1 :] if x.strip()), "")
            if _QUOTED.match(nxt):
                out = [line for line, q in zip(lines[:last_kept], quoted, strict=False) if not q]
    return out


def _signature_block_start(lines: list[str]) -> int | None:
    """Where a signature introduced by a closing formula starts (« Cordialement, » then a few short lines)."""
    below = 0
    for i in range(len(lines) - 1, 0, -1):
        line = lines[i].strip()
        if not line:
            continue
        m = _VALEDICTION.fullmatch(line)
        if m and len(m.group("rest")) <= 80 and "?" not in m.group("rest"):
            return i
        below += 1
        if below >= SIGNATURE_MAX_LINES or len(line) > SIGNATURE_MAX_WIDTH or line.endswith("?"):
            return None
    return None


def _strip_signature(lines: list[str]) -> list[str]:
    while lines and (not lines[-1].strip() or _UNDERSCORES.fullmatch(lines[-1])):
        lines = lines[:-1]
    for i, line in enumerate(lines):
        if i > 0 and (_SIG_DELIMITER.fullmatch(line) or (_MOBILE_FOOTER.fullmatch(line) and len(line) < 100)):
            lines = lines[:i]
            break
    start = _signature_block_start(lines)
    return lines[:start] if start is not None else lines


def visible_text(text: str) -> str:
    """The new part of a reply: quoted text and signature removed, surrounding blank lines trimmed."""
    full = normalise_newlines(text or "")
    lines = full.split("\n")
    lines = _strip_signature(_drop_quoted_lines(_cut_quotes(lines)))
    result = "\n".join(line.rstrip() for line in lines).strip("\n").strip()
    return result if result else full.strip()
