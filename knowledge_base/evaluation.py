"""Measure the FAQ engine on labelled questions, for each purpose and each writing style, against a plain
BM25 baseline measured in the same run; fit the engine's few constants on a tune split.

Questions are JSON lines `{"q": "...", "expected": ["entry-id", ...], "style": "email|chat|sms"}`
(`style` optional); an empty `expected` means the question is out of scope: the right answer is nothing.
Questions whose expected ids are not all in the knowledge base being evaluated are skipped and counted
(a split written for a larger FAQ can be run on a smaller one).

Per purpose (see `search`): top-1 (an abstention is a miss), top-3 and MRR over the answerable questions;
the share of answerable questions given nothing, and of out-of-scope ones given nothing. For `mail`, also
the precision of what is mailed (a mail is right when every entry it carries is expected; a mail sent for
an out-of-scope question is wrong), the share of answerable questions mailed and of out-of-scope ones
mailed. For `staff`, top-3 is the share with the right entry among the three shown. The baseline
(bm25s over title + questions + body, French stop words, Snowball French) never abstains: its chat and
staff figures are its ranking, and it would mail its first entry for every question.
"""

from __future__ import annotations

import json
import logging
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import bm25s
import numpy as np
import snowballstemmer

from knowledge_base.loader import Entry, KbError
from knowledge_base.search import (
    FEATURE_NAMES,
    PURPOSES,
    Calibration,
    KnowledgeBase,
    Purpose,
    Ranked,
)

logging.getLogger("bm25s").setLevel(logging.WARNING)  # its index build logs at DEBUG

DEPTH = 10
SHOWN = 3  # suggestions shown in chat and on a ticket page
ALL_STYLES = "all"
NO_STYLE = "-"

# Targets of the threshold choice in `fit_calibration` (stricter than the project's targets, since they are
# met on the split the thresholds are chosen on and must still hold on questions never seen).
MAX_SILENT_PER_STYLE = 0.03  # chat: answerable questions given nothing, in every style
SILENT_COST = 3.0  # chat: one answerable question silenced costs as much as three out-of-scope ones answered
MAIL_PRECISION = 0.95  # mail: share of mails that are right
MAIL_OUT_OF_SCOPE = 0.02  # mail: share of out-of-scope questions mailed
SMALL_FAQS = 12  # FAQs drawn from the one being fitted, so that the constants also hold for a small FAQ
GUARD_MAX_SILENT = 0.03  # chat: answerable questions given nothing, in every style, in the small FAQs (as strict
# as MAX_SILENT_PER_STYLE: 0.05 held on the FAQs of the fit, not on other small FAQs)
SMALL_FAQ_SIZE = 40  # entries in each (the held-out FAQs that check the engine have 36 to 45)


@dataclass(frozen=True, slots=True)
class Question:
    q: str
    expected: tuple[str, ...]
    style: str = NO_STYLE
    also: tuple[str, ...] = ()  # further entries judged to answer it too (`judgments`), right when in the FAQ


@dataclass(frozen=True, slots=True)
class Figures:
    answerable: int
    out_of_scope: int
    top_1: float  # an abstention counts as a miss
    top_3: float
    mrr: float
    answerable_given_nothing: float
    out_of_scope_given_nothing: float
    mail_precision: float | None = None  # mail only
    answerable_mailed: float | None = None
    out_of_scope_mailed: float | None = None

    def as_dict(self) -> dict[str, float | int | None]:
        return asdict(self)


@dataclass
class Report:
    """Figures by engine ("engine", "bm25"), purpose and style (plus "all"), and what was skipped."""

    figures: dict[str, dict[str, dict[str, Figures]]] = field(default_factory=dict)
    skipped: int = 0  # questions whose expected ids are not in the knowledge base

    def as_dict(self) -> dict[str, object]:
        return {"skipped": self.skipped,
                "figures": {e: {p: {s: f.as_dict() for s, f in by_style.items()} for p, by_style in by_p.items()}
                            for e, by_p in self.figures.items()}}


def read_json_lines(source: Path) -> list[tuple[int, object]]:
    """(line number, value) of each non-blank line of a JSON-lines file; KbError naming a line that is not
    JSON or a file that cannot be read."""
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise KbError(f"{source}: cannot be read ({exc})") from None
    rows: list[tuple[int, object]] = []
    for number, line in enumerate(lines, 1):
        if line.strip():
            try:
                rows.append((number, json.loads(line)))
            except json.JSONDecodeError as exc:
                raise KbError(f"{source.name}:{number}: invalid JSON ({exc.msg})") from None
    return rows


def load_questions(path: Path | str) -> list[Question]:
    """The questions of a JSON-lines file; KbError naming the line when one is malformed."""
    source = Path(path)
    out: list[Question] = []
    for number, row in read_json_lines(source):
        if not (isinstance(row, dict) and isinstance(row.get("q"), str) and isinstance(row.get("expected"), list)
                and all(isinstance(x, str) for x in row["expected"])
                and isinstance(row.get("style", NO_STYLE), str)):
            raise KbError(f"{source.name}:{number}: expected {{\"q\": text, \"expected\": [entry ids], "
                          "\"style\": text}}")
        out.append(Question(row["q"], tuple(row["expected"]), row.get("style") or NO_STYLE))
    if not out:
        raise KbError(f"{source}: no question")
    return out


def unknown_ids(questions: Sequence[Question], ids: set[str]) -> list[str]:
    return sorted({x for q in questions for x in q.expected if x not in ids})


def answerable_here(questions: Sequence[Question], ids: set[str]) -> tuple[list[Question], int]:
    """The questions whose expected ids are all in the knowledge base, and how many were skipped. The
    alternative answers of a question (`also`) that are in the knowledge base join its expected ids (an
    out-of-scope question with one becomes answerable here); the others are dropped."""
    kept = [q if not q.also else replace(q, expected=q.expected + tuple(x for x in q.also if x in ids), also=())
            for q in questions if all(x in ids for x in q.expected)]
    return kept, len(questions) - len(kept)


def answered_right(right: Iterable[str], given: Sequence[str], purpose: Purpose | None = None) -> bool:
    """Whether what was given (best first) is a right answer: its first entry is one of `right`, and for mail
    every entry it carries is (a mail with one wrong entry is a wrong mail). Nothing given is no answer."""
    right = set(right)
    return bool(given) and given[0] in right and (purpose != "mail" or all(x in right for x in given))


def measure(results: Sequence[tuple[Question, list[str]]], purpose: Purpose | None = None) -> Figures:
    """Figures of (question, ids given for it, best first) pairs; `purpose` "mail" adds the mail figures."""
    inside = [(q, ids) for q, ids in results if q.expected]
    outside = [(q, ids) for q, ids in results if not q.expected]
    hit1 = hit3 = rr = silent = 0.0
    for q, ids in inside:
        silent += not ids
        ranks = [i for i, x in enumerate(ids, 1) if x in q.expected]
        if ranks:
            hit1 += ranks[0] == 1
            hit3 += ranks[0] <= SHOWN
            rr += 1.0 / ranks[0]
    n, m = max(len(inside), 1), max(len(outside), 1)
    figures = Figures(len(inside), len(outside), _r(hit1 / n), _r(hit3 / n), _r(rr / n), _r(silent / n),
                      _r(sum(not ids for _, ids in outside) / m))
    if purpose != "mail":
        return figures
    mailed = [(q, ids) for q, ids in results if ids]
    right = sum(answered_right(q.expected, ids, "mail") for q, ids in mailed)
    return Figures(**{**figures.as_dict(),  # type: ignore[arg-type]
                      "mail_precision": _r(right / len(mailed)) if mailed else 1.0,
                      "answerable_mailed": _r(sum(bool(ids) for _, ids in inside) / n),
                      "out_of_scope_mailed": _r(sum(bool(ids) for _, ids in outside) / m)})


def _r(x: float) -> float:
    return round(x, 4)


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


def by_style(questions: Sequence[Question]) -> dict[str, list[int]]:
    """Positions of the questions per style, plus ALL_STYLES for all of them."""
    groups: dict[str, list[int]] = {ALL_STYLES: list(range(len(questions)))}
    for i, q in enumerate(questions):
        groups.setdefault(q.style, []).append(i)
    return groups


def evaluate(kb: KnowledgeBase, questions: Sequence[Question], *, baseline: bool = True) -> Report:
    """Figures of the engine for each purpose, and of plain BM25, on the questions the KB can answer."""
    kept, skipped = answerable_here(questions, {e.id for e in kb.entries})
    report = Report(skipped=skipped)
    groups = by_style(kept)
    ranked = [kb.rank(q.q) for q in kept]
    engine: dict[str, dict[str, Figures]] = {}
    for purpose in PURPOSES:
        given = [[s.id for s in kb.decide(r, SHOWN, purpose)] for r in ranked]
        engine[purpose] = {style: measure([(kept[i], given[i]) for i in idx], purpose)
                           for style, idx in groups.items()}
    report.figures["engine"] = engine
    if baseline:
        bm25 = Bm25Baseline(kb.entries)
        order = [bm25.rank(q.q, SHOWN) for q in kept]
        report.figures["bm25"] = {
            purpose: {style: measure([(kept[i], order[i][:1] if purpose == "mail" else order[i]) for i in idx],
                                     purpose) for style, idx in groups.items()}
            for purpose in PURPOSES}
    return report


def draw_faqs(entries: Sequence[Entry], count: int, size: int = SMALL_FAQ_SIZE, *, themed: bool = False,
              seed: int = 0) -> list[list[Entry]]:
    """`count` FAQs of about `size` entries drawn from `entries`: at random, or `themed` (whole themes, an
    entry's theme being its id's first word: "bal", "datagouv", "md"…, until `size` is reached), which keeps
    the near-neighbour entries of a theme together and is harder."""
    draw = random.Random(seed)  # noqa: S311 (a reproducible draw, not a secret)
    out: list[list[Entry]] = []
    themes: dict[str, list[Entry]] = {}
    for e in entries:
        themes.setdefault(e.id.split("-")[0], []).append(e)
    for _ in range(count):
        if not themed:
            out.append(draw.sample(list(entries), min(size, len(entries))))
            continue
        names = sorted(themes)
        draw.shuffle(names)
        chosen: list[Entry] = []
        for name in names:
            if len(chosen) >= size:
                break
            chosen += themes[name]
        out.append(chosen)
    return out


def evaluate_drawn(kb: KnowledgeBase, questions: Sequence[Question], count: int, *, themed: bool = False,
                   seed: int = 0) -> Report:
    """The engine's figures averaged over FAQs drawn from `kb` (`draw_faqs`), each asked the questions of its
    own entries and the out-of-scope ones: how the constants hold on a FAQ of the size of the held-out ones,
    which the tune split alone cannot say. Counts are summed, shares averaged; no BM25 beside."""
    reports = []
    for entries in draw_faqs(kb.entries, count, themed=themed, seed=seed):
        small = KnowledgeBase(entries, analyzer=kb.analyzer, params=kb.index.params, calibration=kb.calibration)
        reports.append(evaluate(small, questions, baseline=False))
    merged = Report(skipped=sum(r.skipped for r in reports))
    engine: dict[str, dict[str, Figures]] = {}
    for purpose in PURPOSES:
        engine[purpose] = {}
        for style in reports[0].figures["engine"][purpose]:
            rows = [r.figures["engine"][purpose][style] for r in reports if style in r.figures["engine"][purpose]]
            values: dict[str, float | int | None] = {}
            for name, first in rows[0].as_dict().items():
                got = [getattr(f, name) for f in rows if getattr(f, name) is not None]
                if isinstance(first, int):
                    values[name] = sum(got)
                else:
                    values[name] = _r(sum(got) / len(got)) if got else None
            engine[purpose][style] = Figures(**values)  # type: ignore[arg-type]
    merged.figures["engine"] = engine
    return merged


def feedback_pairs(questions: Iterable[Question]) -> list[tuple[str, str]]:
    """A question file replayed as accepted wordings: each answerable question becomes a wording of its
    first expected entry (what a requester or an agent would have confirmed)."""
    return [(q.expected[0], q.q) for q in questions if q.expected]


_COLUMNS: tuple[tuple[str, str], ...] = (
    ("answerable", "n"), ("out_of_scope", "oos"), ("top_1", "top1"), ("top_3", "top3"), ("mrr", "MRR"),
    ("answerable_given_nothing", "ans∅"), ("out_of_scope_given_nothing", "oos∅"),
    ("mail_precision", "prec"), ("answerable_mailed", "ans→"), ("out_of_scope_mailed", "oos→"))


def format_report(report: Report) -> str:
    """One table per purpose: a row per style and engine."""
    lines = []
    if report.skipped:
        lines.append(f"{report.skipped} question(s) skipped: their expected entries are not in this FAQ")
    engines = list(report.figures)
    for purpose in PURPOSES:
        columns = [c for c in _COLUMNS if purpose == "mail" or not c[0].endswith(("mailed", "precision"))]
        lines.append(f"\npurpose {purpose}" + ("  (top3 = right entry among the three shown)"
                                               if purpose == "staff" else ""))
        lines.append(f"{'style':<8}{'engine':<8}" + "".join(f"{label:>7}" for _, label in columns))
        styles = list(report.figures[engines[0]][purpose])
        for style in [s for s in styles if s != ALL_STYLES] + [ALL_STYLES]:
            for name in engines:
                f = report.figures[name][purpose][style]
                cells = []
                for key, _ in columns:
                    value = getattr(f, key)
                    cells.append(f"{value:>7d}" if isinstance(value, int) else f"{value:>7.3f}")
                lines.append(f"{style:<8}{name:<8}" + "".join(cells))
    return "\n".join(lines)


# -- fitting the constants --------------------------------------------------------------------------------


def fit_calibration(kb: KnowledgeBase, questions: Sequence[Question], *, l2: float = 1.0,
                    small_faqs: int = SMALL_FAQS, seed: int = 0) -> Calibration:
    """The two probabilities and their thresholds, fitted on labelled questions (the tune split).

    The questions are run on the FAQ itself and on `small_faqs` FAQs of SMALL_FAQ_SIZE entries drawn from
    it (each with the questions of its entries and every out-of-scope question), so that mail's constants
    hold for a FAQ of either size: the margin over the second entry means more in a small FAQ.
    1. Confidence: a logistic regression (ridge `l2` on the coefficients) of "the FAQ answers this
       question" on the features of the first ranked entry, on the FAQ itself (pooling the small FAQs
       silenced fewer out-of-scope questions, in two-fold cross-validation and on the development set).
    2. Certainty: the same regression of "the first entry is right", on all the FAQs.
    3. Chat threshold (on the confidence, the FAQ itself): the one that best trades out-of-scope questions given nothing
       against answerable ones given nothing (one of these costs SILENT_COST of those), never silencing more
       than MAX_SILENT_PER_STYLE of the answerable questions of any style, nor more than GUARD_MAX_SILENT of
       any style in the small FAQs (where the same confidence is lower: fewer entries know the words).
    4. Mail threshold (on the certainty): the lowest at which mails are right for MAIL_PRECISION of them and
       at most MAIL_OUT_OF_SCOPE of the out-of-scope questions get one, on all the FAQs together and on the FAQ
       itself alone (where near-neighbour entries make mails riskier than in the small FAQs)."""
    runs = [(kb, q, kb.rank(q.q)) for q in answerable_here(questions, {e.id for e in kb.entries})[0]]
    own = len(runs)  # the runs on the FAQ itself
    entries = kb.entries
    draw = random.Random(seed)  # noqa: S311 (a reproducible draw, not a secret)
    for _ in range(small_faqs if len(entries) > SMALL_FAQ_SIZE else 0):
        small = KnowledgeBase(draw.sample(entries, SMALL_FAQ_SIZE), analyzer=kb.analyzer, params=kb.index.params,
                              calibration=kb.calibration)
        runs += [(small, q, small.rank(q.q)) for q in answerable_here(questions, {e.id for e in small.entries})[0]]
    x = np.array([_row(r) for _, _, r in runs])
    answers = np.array([1.0 if q.expected else 0.0 for _, q, _ in runs])
    right = np.array([1.0 if r.order and small.entries[r.order[0]].id in q.expected else 0.0
                      for small, q, r in runs])
    w = _logistic(x[:own], answers[:own], l2)
    v = _logistic(x, right, l2)
    base = Calibration(bias=round(float(w[0]), 3), coefficients=tuple(round(float(c), 3) for c in w[1:]),
                       chat=0.0, mail=1.0, relative=kb.calibration.relative,
                       right_bias=round(float(v[0]), 3), right_coefficients=tuple(round(float(c), 3) for c in v[1:]))
    kept = [q for _, q, _ in runs[:own]]
    confidences = [base.confidence(r.features[0]) if r.order else 0.0 for _, _, r in runs[:own]]
    small_runs = runs[own:]
    guard = ([q for _, q, _ in small_runs],
             [base.confidence(r.features[0]) if r.order else 0.0 for _, _, r in small_runs]) if small_runs else None
    chat = math.floor(choose_chat_threshold(kept, confidences, guard) * 1e4) / 1e4
    certainties = [base.certainty(r.features[0]) if r.order else 0.0 for _, _, r in runs]
    mail = choose_mail_threshold(runs, certainties, replace(base, chat=chat))
    return replace(base, chat=chat, mail=math.floor(mail * 1e4) / 1e4)


def _row(r: Ranked) -> list[float]:
    if not r.order:
        return [0.0] * len(FEATURE_NAMES)
    return [float(getattr(r.features[0], name)) for name in FEATURE_NAMES]


def _logistic(x: np.ndarray, y: np.ndarray, l2: float) -> np.ndarray:
    """Ridge logistic regression by Newton's method: [bias, coefficients...]."""
    x = np.hstack([np.ones((len(x), 1)), x])
    w = np.zeros(x.shape[1])
    ridge = l2 * np.diag([0.0] + [1.0] * (x.shape[1] - 1))
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -60, 60)))
        step = np.linalg.solve((x * (p * (1 - p))[:, None]).T @ x + ridge + 1e-9 * np.eye(len(w)),
                               x.T @ (p - y) + ridge @ w)
        w -= step
        if np.abs(step).max() < 1e-9:
            break
    return w


def _silent(questions: Sequence[Question], confidences: Sequence[float], styles: dict[str, list[int]],
            t: float) -> dict[str, float]:
    """Per style, the share of the answerable questions whose confidence is under `t`."""
    return {s: sum(bool(questions[i].expected) and confidences[i] < t for i in idx)
            / max(1, sum(bool(questions[i].expected) for i in idx)) for s, idx in styles.items()}


def choose_chat_threshold(questions: Sequence[Question], confidences: Sequence[float],
                          guard: tuple[Sequence[Question], Sequence[float]] | None = None) -> float:
    """See `fit_calibration`, step 3. `guard`: other runs (the small FAQs) whose answerable questions must
    not be silenced more than MAX_SILENT_PER_STYLE in any style either."""
    candidates = sorted({c - 1e-6 for c in confidences if c > 0} | {0.0})
    best, best_value = 0.0, -math.inf
    styles = by_style(questions)
    guard_styles = by_style(guard[0]) if guard else {}
    for t in candidates:
        silent = _silent(questions, confidences, styles, t)
        guarded = _silent(guard[0], guard[1], guard_styles, t) if guard else {}
        if max(silent.values()) > MAX_SILENT_PER_STYLE or max(guarded.values(), default=0.0) > GUARD_MAX_SILENT:
            break  # every higher threshold silences at least as many
        outside = [c for q, c in zip(questions, confidences, strict=True) if not q.expected]
        caught = sum(c < t for c in outside) / max(1, len(outside))
        value = caught - SILENT_COST * silent[ALL_STYLES]
        if value > best_value:
            best, best_value = t, value
    return best


def choose_mail_threshold(runs: Sequence[tuple[KnowledgeBase, Question, Ranked]], certainties: Sequence[float],
                          base: Calibration) -> float:
    """See `fit_calibration`, step 4: `base` carries the fitted probabilities and the chat threshold."""
    for t in sorted({c - 1e-6 for c in certainties if c > 0} | {1.0}):
        cal = replace(base, mail=t)
        results = []
        for kb, q, r in runs:
            saved, kb.calibration = kb.calibration, cal
            try:  # only the decision changes: no rebuild
                results.append((q, [s.id for s in kb.decide(r, SHOWN, "mail")]))
            finally:
                kb.calibration = saved
        own = [res for res, (kb, _, _) in zip(results, runs, strict=True) if kb is runs[0][0]]
        if all((f.mail_precision or 0.0) >= MAIL_PRECISION and (f.out_of_scope_mailed or 0.0) <= MAIL_OUT_OF_SCOPE
               for f in (measure(results, "mail"), measure(own, "mail"))):
            return t
    return 1.0
