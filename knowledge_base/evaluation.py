"""Measure the FAQ engine on labelled questions, against a plain BM25 baseline in the same run.

Questions are JSON lines `{"q": "...", "expected": ["entry-id", ...]}`; an empty `expected` means the
question is out of scope and should get no suggestion. A question is a hit at k when one of its expected
ids is among the first k suggestions; MRR uses the rank of the first expected id among those returned.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import bm25s
import numpy as np
import snowballstemmer

from knowledge_base.loader import Entry, KbError
from knowledge_base.search import FEATURE_NAMES, Calibration, KnowledgeBase

logging.getLogger("bm25s").setLevel(logging.WARNING)  # its index build logs at DEBUG

DEPTH = 10
CALIBRATION_FEATURES = ("evidence", "unknown", "matched_terms", "domain")


@dataclass(frozen=True, slots=True)
class Question:
    q: str
    expected: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Figures:
    in_scope: int
    out_of_scope: int
    hit_at_1: float
    hit_at_3: float
    mrr: float
    out_of_scope_abstained: float
    in_scope_abstained: float

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def load_questions(path: Path | str) -> list[Question]:
    """The questions of a JSON-lines file; KbError naming the line when one is malformed."""
    source = Path(path)
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise KbError(f"{source}: cannot be read ({exc})") from None
    out: list[Question] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise KbError(f"{source.name}:{number}: invalid JSON ({exc.msg})") from None
        if not (isinstance(row, dict) and isinstance(row.get("q"), str) and isinstance(row.get("expected"), list)
                and all(isinstance(x, str) for x in row["expected"])):
            raise KbError(f"{source.name}:{number}: expected {{\"q\": text, \"expected\": [entry ids]}}")
        out.append(Question(row["q"], tuple(row["expected"])))
    if not out:
        raise KbError(f"{source}: no question")
    return out


def unknown_ids(questions: Sequence[Question], ids: set[str]) -> list[str]:
    return sorted({x for q in questions for x in q.expected if x not in ids})


def measure(ranker: Callable[[str], list[str]], questions: Sequence[Question]) -> Figures:
    """Figures of a ranker (message -> suggested ids, best first, [] to abstain)."""
    hit1 = hit3 = rr = wrong_abstain = oos_abstain = 0.0
    inside = [q for q in questions if q.expected]
    outside = [q for q in questions if not q.expected]
    for q in inside:
        ids = ranker(q.q)
        if not ids:
            wrong_abstain += 1
        ranks = [i for i, x in enumerate(ids, 1) if x in q.expected]
        if ranks:
            hit1 += ranks[0] == 1
            hit3 += ranks[0] <= 3
            rr += 1.0 / ranks[0]
    for q in outside:
        oos_abstain += not ranker(q.q)
    n, m = max(len(inside), 1), max(len(outside), 1)
    return Figures(len(inside), len(outside), round(hit1 / n, 4), round(hit3 / n, 4), round(rr / n, 4),
                   round(oos_abstain / m, 4), round(wrong_abstain / n, 4))


class Bm25Baseline:
    """bm25s over title + questions + body, French stop words and Snowball French stemmer; never abstains."""

    def __init__(self, entries: Sequence[Entry]) -> None:
        self.ids = [e.id for e in entries]
        self._stemmer = snowballstemmer.stemmer("french")
        corpus = [" ".join([e.title, *e.questions, e.body]) for e in entries]
        self.model = bm25s.BM25()
        self.model.index(self._tokens(corpus), show_progress=False)

    def _tokens(self, texts: list[str]) -> bm25s.tokenization.Tokenized:
        return bm25s.tokenize(texts, stopwords="fr", stemmer=self._stemmer.stemWords, show_progress=False)

    def rank(self, query: str, depth: int = DEPTH) -> list[str]:
        tokens = self._tokens([query])
        k = min(depth, len(self.ids))
        if not tokens.vocab or k == 0:
            return self.ids[:k]
        docs, scores = self.model.retrieve(tokens, k=k, show_progress=False)
        return [self.ids[int(d)] for d, s in zip(docs[0], scores[0], strict=True) if s > 0] or self.ids[:1]


def compare(kb: KnowledgeBase, questions: Sequence[Question]) -> dict[str, Figures]:
    """Figures of our engine and of the BM25 baseline on the same questions."""
    baseline = Bm25Baseline(kb.entries)
    return {
        "engine": measure(lambda q: [s.id for s in kb.search(q, limit=DEPTH)], questions),
        "bm25": measure(baseline.rank, questions),
    }


def format_table(results: dict[str, Figures]) -> str:
    names = list(results)
    rows = [("in-scope questions", "in_scope", "{:d}"), ("out-of-scope questions", "out_of_scope", "{:d}"),
            ("hit@1", "hit_at_1", "{:.3f}"), ("hit@3", "hit_at_3", "{:.3f}"), ("MRR", "mrr", "{:.3f}"),
            ("out of scope abstained", "out_of_scope_abstained", "{:.3f}"),
            ("in scope wrongly abstained", "in_scope_abstained", "{:.3f}")]
    lines = [f"{'':28}" + "".join(f"{n:>10}" for n in names)]
    for label, key, fmt in rows:
        lines.append(f"{label:28}" + "".join(f"{fmt.format(getattr(results[n], key)):>10}" for n in names))
    return "\n".join(lines)


def fit_calibration(kb: KnowledgeBase, questions: Sequence[Question], *, max_wrong_abstain: float = 0.05,
                    in_scope_cost: float = 3.0, features: Sequence[str] = CALIBRATION_FEATURES,
                    l2: float = 0.1) -> Calibration:
    """Fit the confidence (logistic regression: in scope or not) and choose its threshold (see
    `choose_threshold`) on the questions given."""
    columns = [FEATURE_NAMES.index(name) for name in features]
    rows, labels = [], []
    for q in questions:
        f = kb.rank(q.q).features
        rows.append([0.0] * len(columns) if f is None else [getattr(f, FEATURE_NAMES[c]) for c in columns])
        labels.append(1.0 if q.expected else 0.0)
    x = np.hstack([np.ones((len(rows), 1)), np.array(rows)])
    y = np.array(labels)
    w = np.zeros(x.shape[1])
    ridge = l2 * np.diag([0.0] + [1.0] * len(columns))
    for _ in range(100):  # Newton's method on the penalised log-likelihood
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -60, 60)))
        step = np.linalg.solve((x * (p * (1 - p))[:, None]).T @ x + ridge, x.T @ (p - y) + ridge @ w)
        w -= step
        if np.abs(step).max() < 1e-9:
            break
    coefficients = [0.0] * len(FEATURE_NAMES)
    for c, value in zip(columns, w[1:], strict=True):
        coefficients[c] = round(float(value), 3)
    calibration = Calibration(bias=round(float(w[0]), 3), coefficients=tuple(coefficients), threshold=0.0,
                              relative=kb.calibration.relative)
    scored = [(calibration.confidence(f) if (f := kb.rank(q.q).features) is not None else 0.0, bool(q.expected))
              for q in questions]
    threshold = choose_threshold(scored, max_wrong_abstain, in_scope_cost)
    return Calibration(bias=calibration.bias, coefficients=calibration.coefficients,
                       threshold=round(threshold, 4), relative=calibration.relative)


def choose_threshold(scored: Sequence[tuple[float, bool]], max_wrong_abstain: float, in_scope_cost: float) -> float:
    """The threshold that best trades abstaining on out-of-scope questions against abstaining on in-scope
    ones (each in-scope one lost costs `in_scope_cost` out-of-scope ones), never losing more than
    `max_wrong_abstain` of the in-scope questions. `scored` holds (confidence, in scope)."""
    inside = sorted(c for c, scope in scored if scope)
    outside = sorted(c for c, scope in scored if not scope)
    if not inside:
        return 0.5
    best, best_value = inside[0] - 1e-4, -math.inf
    for i in range(int(max_wrong_abstain * len(inside)) + 1):
        candidate = inside[i] - 1e-4  # abstains on the i lowest in-scope questions
        caught = sum(c < candidate for c in outside) / max(len(outside), 1)
        value = caught - in_scope_cost * i / len(inside)
        if value > best_value:
            best, best_value = candidate, value
    return best
