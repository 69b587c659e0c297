"""What a staff member's search looks for, and where it is found in a text: pure functions.

A search text becomes terms: lower case, without diacritics, French stop words dropped, each word
reduced to its Snowball stem. A stem of four letters or more matches any word that starts with it
(``deliber`` finds délibération, délibérations, délibérer); a shorter one only that word (``bal``
does not find « balise », ``plu`` not « plus »). The same terms build SQLite's FTS5 query and the
highlights on both databases.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer
from markupsafe import Markup

WORDS_MAX = 16  # terms kept from one search
WORD_MAX = 60  # characters of one word
PREFIX_MIN = 4  # a stem at least this long matches as a prefix
FRAGMENT_CHARS = 180  # of message text shown under a result
SPANS_MAX = 200  # matched words looked at when choosing the fragment

# PostgreSQL's French stop words (tsearch_data/french.stop): dropped on SQLite too, so both answer alike.
STOP_WORDS = frozenset("""
au aux avec ce ces dans de des du elle en et eux il je la le leur lui ma mais me même mes moi mon ne nos notre
nous on ou par pas pour qu que qui sa se ses son sur ta te tes toi ton tu un une vos votre vous c d j l à m n s t
y été étée étées étés étant étante étants étantes suis es est sommes êtes sont serai seras sera serons serez
seront serais serait serions seriez seraient étais était étions étiez étaient fus fut fûmes fûtes furent sois
soit soyons soyez soient fusse fusses fût fussions fussiez fussent ayant ayante ayantes ayants eu eue eues eus ai
as avons avez ont aurai auras aura aurons aurez auront aurais aurait aurions auriez auraient avais avait avions
aviez avaient eut eûmes eûtes eurent aie aies ait ayons ayez aient eusse eusses eût eussions eussiez eussent
""".split()) | {"les", "a", "cet", "cette", "dont"}  # and a few PostgreSQL's list lacks (dropped before it reads)

WORD = re.compile(r"[^\W_]+")
_STEMMER = snowballstemmer.stemmer("french")


@lru_cache(maxsize=50_000)
def fold(word: str) -> str:
    """Lower case without diacritics, as FTS5's unicode61 tokenizer (remove_diacritics 2) indexes it."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@dataclass(frozen=True, slots=True)
class Term:
    text: str  # folded
    prefix: bool

    def matches(self, folded_word: str) -> bool:
        return folded_word.startswith(self.text) if self.prefix else folded_word == self.text

    def fts5(self) -> str:
        # Letters and digits only: quoted, it is an FTS5 string whatever it spells (AND, NEAR…).
        return f'"{self.text}"*' if self.prefix else f'"{self.text}"'


def terms_of(text: str) -> tuple[Term, ...]:
    out: list[Term] = []
    for word in WORD.findall(text.lower()):
        if word in STOP_WORDS or len(word) > WORD_MAX:
            continue
        stem = fold(_STEMMER.stemWord(word))
        term = Term(stem, True) if len(stem) >= PREFIX_MIN else Term(fold(word), False)
        if term not in out:
            out.append(term)
    return tuple(out[:WORDS_MAX])


def without_stop_words(chunks: list[str]) -> list[str]:
    """The pieces of a search that are not a stop word alone (« les » in « les délibérations »)."""
    return [c for c in chunks if c.lower().strip(".,;:!?'\"()") not in STOP_WORDS]


def fts5_query(terms: tuple[Term, ...]) -> str:
    """An AND of the terms (FTS5's implicit operator)."""
    return " ".join(t.fts5() for t in terms)


class Marks:
    """The highlights of one search: which words match is decided once per distinct word, for every text
    of the page (subjects and fragments share most of their words)."""

    __slots__ = ("_exact", "_known", "_prefixes")

    def __init__(self, terms: tuple[Term, ...]) -> None:
        self._prefixes = tuple(t.text for t in terms if t.prefix)
        self._exact = frozenset(t.text for t in terms if not t.prefix)
        self._known: dict[str, bool] = {}

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where the words matching a term are (at most ``SPANS_MAX``). One test per distinct word (prefixes
        checked together by ``str.startswith``), so a long message costs little more than reading its words."""
        prefixes, exact, known = self._prefixes, self._exact, self._known
        spans = []
        for m in WORD.finditer(text):
            word = m.group()
            hit = known.get(word)
            if hit is None:
                folded = fold(word)
                hit = known[word] = folded in exact or (bool(prefixes) and folded.startswith(prefixes))
            if hit:
                spans.append(m.span())
                if len(spans) >= SPANS_MAX:
                    break
        return spans

    def highlight(self, text: str) -> Markup:
        """The whole text, escaped, its matching words in <mark>."""
        return Markup(_marked(text, self.spans(text), 0, len(text)))  # noqa: S704 - escaped piece by piece

    def fragment(self, text: str, width: int = FRAGMENT_CHARS) -> Markup:
        """About ``width`` characters of ``text`` around its densest cluster of matching words, escaped,
        the words in <mark> (the start of the text when nothing matches)."""
        text = " ".join(text.split())
        spans = self.spans(text)
        if not spans:
            cut = text[:width]
            return Markup(html.escape(cut, quote=False) + ("…" if len(text) > width else ""))  # noqa: S704
        best = max(range(len(spans)), key=lambda i: (
            len({fold(text[a:b]) for a, b in spans[i:] if b <= spans[i][0] + width}), -i))
        start = max(0, spans[best][0] - width // 4)
        if start:
            space = text.find(" ", start)
            start = space + 1 if 0 <= space < spans[best][0] else start
        end = min(len(text), start + width)
        if end < len(text):
            space = text.rfind(" ", start, end)
            end = space if space > spans[best][1] else end
        body = _marked(text, spans, start, end)
        return Markup(("…" if start else "") + body + ("…" if end < len(text) else ""))  # noqa: S704


def _marked(text: str, spans: list[tuple[int, int]], start: int, end: int) -> str:
    out, at = [], start
    for a, b in spans:
        if a < start or b > end:
            continue
        out += [html.escape(text[at:a], quote=False), "<mark>", html.escape(text[a:b], quote=False), "</mark>"]
        at = b
    out.append(html.escape(text[at:end], quote=False))
    return "".join(out)


def highlight(text: str, terms: tuple[Term, ...]) -> Markup:
    """The whole text, escaped, its matching words in <mark>."""
    return Marks(terms).highlight(text)


def fragment(text: str, terms: tuple[Term, ...], width: int = FRAGMENT_CHARS) -> Markup:
    """About ``width`` characters of ``text`` around its densest cluster of matching words (``Marks.fragment``)."""
    return Marks(terms).fragment(text, width)
