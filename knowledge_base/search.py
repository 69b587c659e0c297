"""FAQ suggestions: rank the entries for a message, and abstain unless the best one is likely right.

A message is reduced to its weighted sentences and terms (`query`), the entries are ranked by BM25F
(`index`) plus how closely the message matches the entry's title or one of its questions. A logistic
function of a few features that do not depend on the size of the FAQ (how much evidence the best entry
has, how many of the message's terms it holds, how much of the message the FAQ does not know at all, how
typical of the FAQ the message's words are) gives a confidence in [0, 1]. Under the threshold: no
suggestion, since a wrong suggestion costs more than none. `evaluation.fit_calibration` fits it; each
knowledge base then raises the threshold if a cohort of out-of-scope messages would get through it.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import yaml

from knowledge_base.index import Bm25fParams, Index
from knowledge_base.loader import Entry, KbLoadError, load_entries
from knowledge_base.normalize import Analyzer, default_analyzer
from knowledge_base.query import QueryParser

OUT_OF_SCOPE_FILE = Path(__file__).resolve().with_name("out_of_scope.yaml")
COHORT_QUANTILE = 0.95  # the threshold rises until this share of the out-of-scope cohort gets no suggestion
COHORT_CAP = 0.9  # but never above this
SNIPPET_CHARS = 200
INTENT_WEIGHT = 0.2  # weight of the best title/question match next to the BM25F score (scaled to 1)
RANK_DEPTH = 10


@dataclass(frozen=True, slots=True)
class Features:
    coverage: float  # share of the message's weight (idf-weighted) found in the entry
    evidence: float  # log(1 + matched weight counted in units of the rarest possible term)
    margin: float  # (best - second) / best
    unknown: float  # share of the message's weight that no entry uses
    intent: float  # best match between the message and the entry's title or one of its questions
    matched_terms: float  # log(1 + number of distinct message terms found in the entry)
    domain: float  # mean log-ratio of the message's words between the FAQ and general French


FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Features))


@dataclass(frozen=True)
class Calibration:
    """confidence = sigmoid(bias + sum(coefficient * feature)); under `threshold`, no suggestion.

    The defaults come from `evaluation.fit_calibration` on the 140 development questions (features:
    evidence, unknown, matched_terms, domain; threshold: one in-scope question lost costs three
    out-of-scope ones, at most 5 % lost), after checking that a fit on either half holds on the other."""

    bias: float = -5.841
    coefficients: tuple[float, ...] = (0.0, 1.715, 0.0, -2.065, 0.0, 3.624, 0.881)  # in FEATURE_NAMES order
    threshold: float = 0.6056
    relative: float = 0.3  # a further suggestion needs this share of the best one's score

    def confidence(self, features: Features) -> float:
        values = (getattr(features, name) for name in FEATURE_NAMES)
        z = self.bias + sum(c * v for c, v in zip(self.coefficients, values, strict=True))
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


@dataclass(frozen=True, slots=True)
class Suggestion:
    id: str
    title: str
    score: float  # confidence in [0, 1]
    snippet: str  # the opening of the answer, plain text


@dataclass(frozen=True, slots=True)
class Ranked:
    """The ranking of a message before abstention: entry numbers and scores, best first."""

    order: list[int]
    scores: list[float]
    features: Features | None


class KnowledgeBase:
    def __init__(self, entries: Sequence[Entry], *, analyzer: Analyzer | None = None,
                 params: Bm25fParams | None = None, calibration: Calibration | None = None) -> None:
        dupes = sorted(i for i, n in Counter(e.id for e in entries).items() if n > 1)
        if dupes:
            raise KbLoadError([f"duplicate id '{i}'" for i in dupes])
        self._entries = list(entries)
        self._by_id = {e.id: e for e in self._entries}
        self.analyzer = analyzer or default_analyzer()
        self._calibration = calibration or Calibration()
        self.index = Index.build(self._entries, self.analyzer, params)
        self.parser = QueryParser(self.index, self.analyzer)
        self._snippets = [snippet(e.body) for e in self._entries]
        self.threshold = self._adaptive_threshold()

    @property
    def calibration(self) -> Calibration:
        return self._calibration

    @calibration.setter
    def calibration(self, value: Calibration) -> None:
        self._calibration = value
        self.threshold = self._adaptive_threshold()

    def _adaptive_threshold(self) -> float:
        """The calibrated threshold, raised for this knowledge base until the cohort of out-of-scope
        messages (`out_of_scope.yaml`) mostly gets no suggestion: a larger FAQ always has some entry that
        shares a few words with any message, which inflates the confidence of what it cannot answer."""
        cohort = [self.calibration.confidence(f) if (f := self.rank(m).features) is not None else 0.0
                  for m in out_of_scope_messages()]
        if not cohort:
            return self.calibration.threshold
        raised = float(np.quantile(np.array(cohort), COHORT_QUANTILE))
        return max(self.calibration.threshold, min(COHORT_CAP, raised))

    @classmethod
    def load(cls, path: Path | str) -> KnowledgeBase:
        """The entries of a directory; KbLoadError listing every problem when one is invalid."""
        entries, errors = load_entries(path)
        if errors:
            raise KbLoadError(errors)
        return cls(entries)

    @classmethod
    def from_entries(cls, entries: Iterable[Entry]) -> KnowledgeBase:
        return cls(list(entries))

    @property
    def entries(self) -> list[Entry]:
        return list(self._entries)

    def get(self, entry_id: str) -> Entry | None:
        return self._by_id.get(entry_id)

    def search(self, query: str, limit: int = 3) -> list[Suggestion]:
        """At most `limit` suggestions, best first; [] when no entry is likely to answer."""
        if limit <= 0:
            return []
        ranked = self.rank(query, depth=max(limit, RANK_DEPTH))
        if ranked.features is None:
            return []
        cal = self.calibration
        confidence = cal.confidence(ranked.features)
        if confidence < self.threshold:
            return []
        best = ranked.scores[0]
        out: list[Suggestion] = []
        for doc, score in zip(ranked.order[:limit], ranked.scores[:limit], strict=True):
            share = score / best
            if out and share < cal.relative:
                break
            e = self._entries[doc]
            out.append(Suggestion(id=e.id, title=e.title, score=round(confidence * share, 4),
                                  snippet=self._snippets[doc]))
        return out

    def rank(self, query: str, depth: int = RANK_DEPTH) -> Ranked:
        """Entries ranked for the message (best first, at most `depth`) and the features of the best."""
        idx = self.index
        parsed = self.parser.parse(query)
        if not parsed.terms or idx.size == 0:
            return Ranked([], [], None)
        bm25 = idx.scores(parsed.terms)
        top_bm25 = float(bm25.max())
        if top_bm25 <= 0:
            return Ranked([], [], None)
        intent = idx.intent(parsed.terms)
        scores = bm25 / top_bm25 + INTENT_WEIGHT * intent
        k = min(depth, idx.size)
        top = np.argpartition(-scores, k - 1)[:k] if k < idx.size else np.arange(idx.size)
        top = top[np.argsort(-scores[top], kind="stable")]
        order = [int(d) for d in top if scores[d] > 0]
        values = [float(scores[d]) for d in order]
        features = self._features(parsed.terms, parsed.unknown, parsed.domain, float(intent[order[0]]), order, values)
        return Ranked(order, values, features)

    def _features(self, terms: dict[int, float], unknown: float, domain: float, intent: float, order: list[int],
                  values: list[float]) -> Features:
        idx = self.index
        plain = {t: w * float(idx.idf[t]) for t, w in terms.items() if idx.is_plain(t)}
        total = sum(plain.values()) + unknown * idx.idf_max
        ids = list(plain)
        held = idx.holds(order[0], ids)
        matched = sum(plain[t] for t, h in zip(ids, held, strict=True) if h)
        second = values[1] if len(values) > 1 else 0.0
        return Features(coverage=matched / total if total else 0.0,
                        evidence=math.log1p(matched / idx.idf_max),
                        margin=(values[0] - second) / values[0],
                        unknown=unknown * idx.idf_max / total if total else 0.0,
                        intent=intent,
                        matched_terms=math.log1p(int(held.sum())),
                        domain=domain)


@functools.cache
def out_of_scope_messages() -> tuple[str, ...]:
    data = yaml.safe_load(OUT_OF_SCOPE_FILE.read_text(encoding="utf-8")) or {}
    return tuple(str(m) for m in data.get("messages", []))


_MARKUP = [
    (re.compile(r"```.*?```", re.S), " "),
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),
    (re.compile(r"<[^>]+>"), " "),
    (re.compile(r"^\s{0,3}(#{1,6}\s+|>\s?|[-*+]\s+|\d+[.)]\s+)", re.M), ""),
    (re.compile(r"(\*\*|__|\*|`)"), ""),
    (re.compile(r"\s+"), " "),
]


def plain_text(markdown: str) -> str:
    """Markdown reduced to plain text on one line."""
    text = markdown
    for pattern, repl in _MARKUP:
        text = pattern.sub(repl, text)
    return text.strip()


def snippet(body: str, limit: int = SNIPPET_CHARS) -> str:
    """The opening of the answer as plain text, cut at a word boundary near `limit` characters."""
    text = plain_text(body)
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit].rstrip(" ,;:") + "…"
