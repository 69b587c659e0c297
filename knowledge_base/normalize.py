"""The French analyser: text to search terms, with pure functions only.

Steps: lowercase and fold accents, drop elisions (l', d', qu'…), split on punctuation, rewrite domain
abbreviations and variants to their canonical form (`synonyms.yaml`), drop stop words and politeness
words (`stopwords.yaml`), then stem with Snowball French. Entries and questions go through the same steps.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import snowballstemmer
import yaml

HERE = Path(__file__).resolve().parent
SYNONYMS_FILE = HERE / "synonyms.yaml"
ABBREVIATIONS_FILE = HERE / "abbreviations.yaml"
STOPWORDS_FILE = HERE / "stopwords.yaml"

_REPLACEMENTS = (*((c, "'") for c in "\u2019\u2018\u02bc\u2032`\u00b4"), ("\u0153", "oe"), ("\u00e6", "ae"),
                 ("\u00df", "ss"))
_ELISION = re.compile(r"\b(?:l|d|qu|j|n|s|c|m|t|jusqu|lorsqu|puisqu|quoiqu|presqu)'(?=\w)")
_WORD = re.compile(r"[a-z0-9]+")
_COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_STEMMER = snowballstemmer.stemmer("french")
# UTF-8 read as Windows-1252 ("Ã©" for "é", "â€™" for "’"): the symptom names the problem, so it reads as a word.
# The second character of such a pair is one of the Windows-1252 characters of bytes 0x80-0xBF (µ left out: its
# capital is Greek, and a text must analyse the same in capitals).
_CONTINUATION = "".join(sorted({bytes([b]).decode("cp1252", "ignore") for b in range(0x80, 0xC0)} - {"", "\u00b5"}))
_MOJIBAKE = re.compile(f"(?:[\u00c3\u00e3][{re.escape(_CONTINUATION)}]|[\u00e2\u00c2]\u20ac.?)+")

Phrases = Mapping[tuple[str, ...], tuple[str, ...]]


def fold(text: str) -> str:
    """Lowercase, without accents or ligatures, with every apostrophe made straight; mojibake as "encodage"."""
    if text.isascii():
        return text.lower()
    if "\u00c3" in text or "\u00e3" in text or "\u20ac" in text:
        text = _MOJIBAKE.sub(" encodage ", text)
    text = unicodedata.normalize("NFKD", text).lower()
    for old, new in _REPLACEMENTS:
        if old in text:
            text = text.replace(old, new)
    return _COMBINING.sub("", text)


def words(text: str) -> list[str]:
    """Folded words without elisions: "L’Open-Data d'été" -> ["open", "data", "ete"]."""
    return _WORD.findall(_ELISION.sub(" ", fold(text)))


@functools.lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Snowball French stem of a folded word; a trailing 'e' left by the folding is dropped too."""
    if word.isdigit():
        return word
    out: str = _STEMMER.stemWord(word)
    while len(out) > 3 and out.endswith("e"):
        out = out[:-1]
    return out


def apply_phrases(tokens: list[str], phrases: Phrases, longest: Mapping[str, int]) -> list[str]:
    """Rewrite every known variant (one or more tokens, longest first) to its canonical tokens.

    `longest` maps the first token of every variant to the length of the longest variant it starts."""
    candidates = [i for i, t in enumerate(tokens) if t in longest]
    if not candidates:
        return tokens
    out: list[str] = []
    done = 0  # tokens before this position are already in `out`
    n = len(tokens)
    for i in candidates:
        if i < done:
            continue
        for size in range(min(longest[tokens[i]], n - i), 0, -1):
            canonical = phrases.get(tuple(tokens[i : i + size]))
            if canonical is not None:
                out.extend(tokens[done:i])
                out.extend(canonical)
                done = i + size
                break
    out.extend(tokens[done:])
    return out


def build_phrases(synonyms: Mapping[str, Iterable[str]]) -> dict[tuple[str, ...], tuple[str, ...]]:
    """{canonical: [variants]} to {variant tokens: canonical tokens}; variants are analysed like text."""
    table: dict[tuple[str, ...], tuple[str, ...]] = {}
    for canonical, variants in synonyms.items():
        target = tuple(words(canonical))
        for variant in variants:
            key = tuple(words(str(variant)))
            if key and key != target:
                table[key] = target
    return table


@dataclass(frozen=True)
class Analyzer:
    stop: frozenset[str]
    politeness: frozenset[str]
    phrases: Phrases

    @functools.cached_property
    def longest(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for key in self.phrases:
            out[key[0]] = max(out.get(key[0], 0), len(key))
        return out

    def surface(self, text: str) -> list[str]:
        """Meaningful folded words of `text`, synonyms rewritten, before stemming."""
        tokens = apply_phrases(words(text), self.phrases, self.longest)
        return [t for t in tokens if len(t) > 1 and t not in self.stop and t not in self.politeness]

    def terms(self, text: str) -> list[str]:
        """The search terms (stems) of `text`."""
        return [stem(w) for w in self.surface(text)]

    def is_only_politeness(self, text: str) -> bool:
        """True when `text` holds nothing but greetings, thanks and grammar words."""
        return not self.surface(text)


def load_stopwords(path: Path = STOPWORDS_FILE) -> tuple[frozenset[str], frozenset[str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    stop = frozenset(words(str(data.get("stop", ""))))
    polite = frozenset(words(str(data.get("politeness", ""))))
    return stop, polite


def load_synonyms(path: Path = SYNONYMS_FILE) -> dict[str, list[str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path.name}: expected a mapping of canonical form to a list of variants")
    return {str(k): [str(v) for v in (vs or [])] for k, vs in data.items()}


def merge_phrases(domain: Phrases, general: Phrases) -> dict[tuple[str, ...], tuple[str, ...]]:
    """One table from the domain vocabulary and the general abbreviations: the domain wins on a shared
    variant, and an abbreviation whose full form is itself a domain variant goes straight to the domain's
    canonical form ("mairi" -> "mairie" -> "commune")."""
    table = {key: domain.get(value, value) for key, value in general.items()}
    table.update(domain)
    return table


def make_analyzer(synonyms: Mapping[str, Iterable[str]] | None = None,
                  abbreviations: Mapping[str, Iterable[str]] | None = None) -> Analyzer:
    """The analyser with the given vocabularies (default: the bundled `synonyms.yaml` and
    `abbreviations.yaml`)."""
    stop, polite = load_stopwords()
    domain = build_phrases(load_synonyms() if synonyms is None else synonyms)
    general = build_phrases(load_synonyms(ABBREVIATIONS_FILE) if abbreviations is None else abbreviations)
    return Analyzer(stop=stop, politeness=polite, phrases=merge_phrases(domain, general))


@functools.cache
def general_frequencies() -> tuple[dict[str, int], int]:
    """Word counts of general French (pyspellchecker's list), keys folded; and the total count."""
    from spellchecker import SpellChecker

    counts: dict[str, int] = {}
    frequency = SpellChecker(language="fr", distance=1).word_frequency
    for word, count in frequency.items():
        key = fold(word)
        counts[key] = counts.get(key, 0) + int(count)
    return counts, max(int(frequency.total_words), 1)


def zipf(word: str) -> float:
    """Zipf frequency of a folded word in general French: log10 of occurrences per billion; 0 if unseen."""
    counts, total = general_frequencies()
    count = counts.get(word, 0)
    return math.log10(count * 1e9 / total) if count else 0.0


@functools.cache
def default_analyzer() -> Analyzer:
    """The analyser with the bundled stop words and synonyms (loaded once)."""
    return make_analyzer()
