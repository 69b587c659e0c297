"""The inverted index: BM25F over weighted fields on stems, in two groups that saturate separately.

The "intent" group (title, questions, tags) says what an entry answers; the "content" group (body) says
how. Within a group, a term's frequency sums over the fields, each scaled by its weight and normalised by
its length (BM25F); each group then saturates on its own, so that a term found in the title adds to the
same term found in the body instead of both being swallowed by one saturation. Adjacent pairs of terms
("mise jour") and word prefixes ("#anony" for anonymiser/anonymisation) are indexed as extra, lighter
terms. For each term the index keeps the entries that hold it and the precomputed weight, so that
scoring a query is a few numpy additions.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from knowledge_base.loader import Entry
from knowledge_base.normalize import Analyzer, stem

PREFIX_LENGTH = 6


@dataclass(frozen=True)
class Bm25fParams:
    title: float = 2.0
    questions: float = 2.0  # 1.0 -> 2.0 and content 1.0 -> 0.5: two-fold CV on the tune split (top-1 0.675 -> 0.728)
    tags: float = 1.0
    body: float = 1.0
    b_title: float = 0.8
    b_questions: float = 0.6
    b_tags: float = 0.2
    b_body: float = 0.9
    k1_intent: float = 1.6
    k1_content: float = 2.0
    intent: float = 1.0  # weight of the intent group in the score
    content: float = 0.5  # weight of the content group (the body says how, the intent fields say what)
    bigrams: float = 0.6  # weight of an adjacent pair relative to a single term
    prefixes: float = 0.9  # weight of a word prefix relative to a stem


def bigrams(terms: Sequence[str]) -> list[str]:
    return [f"{a} {b}" for a, b in zip(terms, terms[1:], strict=False) if a != b]


def prefix(word: str) -> str | None:
    """A truncation term for words longer than the prefix; None for short words and numbers."""
    return "#" + word[:PREFIX_LENGTH] if len(word) >= PREFIX_LENGTH and not word.isdigit() else None


def analyse(text: str, analyzer: Analyzer, words: dict[str, str], p: Bm25fParams) -> dict[str, float]:
    """Weighted term counts of a text: stems, adjacent pairs of stems, prefixes."""
    surface = analyzer.surface(text)
    known = words.get
    terms = []
    for w in surface:
        s = known(w)
        if s is None:
            s = words[w] = stem(w)
        terms.append(s)
    counts: dict[str, float] = dict(Counter(terms))
    # pairs and prefixes count once per text: they back up the stems, they do not repeat them
    if p.bigrams:
        for g in set(bigrams(terms)):
            counts[g] = p.bigrams
    if p.prefixes:
        for x in {"#" + w[:PREFIX_LENGTH] for w in surface if len(w) >= PREFIX_LENGTH and not w.isdigit()}:
            counts[x] = p.prefixes
    return counts


def _is_plain(term: str) -> bool:
    return " " not in term and not term.startswith("#")


@dataclass
class AnalysisCache:
    """What analysing the entries' texts produced, kept between builds of one knowledge base."""

    texts: dict[str, dict[str, float]] = field(default_factory=dict)  # text -> weighted terms
    words: dict[str, str] = field(default_factory=dict)  # folded surface word -> stem


_PACKED = ("docs", "sats", "short_docs")


@dataclass
class Index:
    size: int
    vocab: dict[str, int]
    names: list[str]  # term id -> term; pairs hold a space, prefixes start with '#'
    plain: np.ndarray  # term id -> True for a stem (not a pair, not a prefix)
    docs: list[np.ndarray]  # per term id: the entry numbers that hold it (sorted)
    sats: list[np.ndarray]  # per term id: the saturated weight of the term in each of those entries
    idf: np.ndarray
    idf_max: float
    words: dict[str, str]  # every folded surface word seen in the entries -> its stem
    doc_ptr: np.ndarray  # the term ids of entry d are doc_tids[doc_ptr[d]:doc_ptr[d + 1]] (sorted)
    doc_tids: np.ndarray
    frequency: dict[str, float]  # stem -> its share of all the words of the entries
    short_docs: list[np.ndarray]  # per term id: the short texts (title, each question) that hold it
    short_norm: np.ndarray  # per short text: sum of the idf of its distinct terms
    short_starts: np.ndarray  # first short text of each entry (they are contiguous, in entry order)
    params: Bm25fParams = field(default_factory=Bm25fParams)

    @classmethod
    def build(cls, entries: Sequence[Entry], analyzer: Analyzer, params: Bm25fParams | None = None,
              cache: AnalysisCache | None = None) -> Index:
        """The index of `entries`. `cache` keeps the analysis of every text across builds, which is most of
        the cost: after a question is added to one entry, a rebuild analyses only that question."""
        p = params or Bm25fParams()
        memo = cache or AnalysisCache()
        n = len(entries)
        words = memo.words
        vocab: dict[str, int] = {}
        fields = (("title", p.title, p.b_title, 0), ("questions", p.questions, p.b_questions, 0),
                  ("tags", p.tags, p.b_tags, 0), ("body", p.body, p.b_body, 1))
        groups = ((p.intent, p.k1_intent), (p.content, p.k1_content))
        cols: dict[str, tuple[list[int], list[int], list[float]]] = {f[0]: ([], [], []) for f in fields}
        short_ids: list[list[int]] = []  # per short text: its distinct plain term ids
        starts: list[int] = []
        for d, e in enumerate(entries):
            starts.append(len(short_ids))
            texts = {"title": [e.title], "questions": list(e.questions), "tags": list(e.tags), "body": [e.body]}
            for name, parts in texts.items():
                merged: dict[str, float] = {}
                for text in parts:
                    counts = memo.texts.get(text) or memo.texts.setdefault(text, analyse(text, analyzer, words, p))
                    for term, tf in counts.items():
                        merged[term] = merged.get(term, 0.0) + tf
                    if name in ("title", "questions"):
                        short_ids.append([vocab.setdefault(t, len(vocab)) for t in counts if _is_plain(t)])
                doc_col, term_col, tf_col = cols[name]
                for term, tf in merged.items():
                    doc_col.append(d)
                    term_col.append(vocab.setdefault(term, len(vocab)))
                    tf_col.append(tf)
        size_v = len(vocab)
        names = [""] * size_v
        for term, tid in vocab.items():
            names[tid] = term
        plain = np.array([_is_plain(t) for t in names], dtype=bool)
        keys_all, weights_all = [], []
        collection = np.zeros(size_v)
        for g, (group_weight, k1) in enumerate(groups):
            keys_g, tf_g = [], []
            for name, field_weight, b, group in fields:
                if group != g or not cols[name][0]:
                    continue
                doc_a = np.array(cols[name][0], dtype=np.int64)
                tid_a = np.array(cols[name][1], dtype=np.int64)
                tf_a = np.array(cols[name][2], dtype=np.float64)
                counted = np.where(plain[tid_a], tf_a, 0.0)
                np.add.at(collection, tid_a, counted)
                lengths = np.bincount(doc_a, weights=counted, minlength=n)
                avg = lengths.mean() if n and lengths.sum() else 1.0
                keys_g.append(doc_a * size_v + tid_a)
                tf_g.append(field_weight * tf_a / (1.0 - b + b * lengths[doc_a] / avg))
            if keys_g:
                keys, inverse = np.unique(np.concatenate(keys_g), return_inverse=True)
                tf_sum = np.bincount(inverse, weights=np.concatenate(tf_g))
                keys_all.append(keys)
                weights_all.append(group_weight * (k1 + 1.0) * tf_sum / (k1 + tf_sum))
        keys, inverse = np.unique(np.concatenate(keys_all or [np.zeros(0, np.int64)]), return_inverse=True)
        weight = np.bincount(inverse, weights=np.concatenate(weights_all or [np.zeros(0)]))
        doc_of, tid_of = keys // max(size_v, 1), keys % max(size_v, 1)
        by_term = np.lexsort((doc_of, tid_of))
        bounds = np.searchsorted(tid_of[by_term], np.arange(size_v + 1))
        docs = [doc_of[by_term[bounds[t]:bounds[t + 1]]].astype(np.int32) for t in range(size_v)]
        sats = [weight[by_term[bounds[t]:bounds[t + 1]]] for t in range(size_v)]
        df = np.diff(bounds).astype(np.float64)
        idf = np.log1p((n - df + 0.5) / (df + 0.5))
        short_posts: list[list[int]] = [[] for _ in range(size_v)]
        for sid, ids in enumerate(short_ids):
            for tid in set(ids):
                short_posts[tid].append(sid)
        total = max(1.0, float(collection.sum()))
        return cls(size=n, vocab=vocab, names=names, plain=plain, docs=docs, sats=sats, idf=idf,
                   idf_max=math.log1p((n + 0.5) / 0.5), words=words,
                   doc_ptr=np.searchsorted(doc_of, np.arange(n + 1)), doc_tids=tid_of.astype(np.int64),
                   frequency={names[t]: float(collection[t]) / total for t in np.flatnonzero(collection)},
                   short_docs=[np.array(ids, dtype=np.int32) for ids in short_posts],
                   short_norm=np.array([float(idf[list(set(ids))].sum()) or 1.0 for ids in short_ids]),
                   short_starts=np.array(starts, dtype=np.int64), params=p)

    def __getstate__(self) -> dict[str, object]:
        """For the index cache: the per-term arrays packed into one array each (tens of thousands of small
        arrays pickle and unpickle slowly)."""
        state = dict(self.__dict__)
        for name in _PACKED:
            arrays: list[np.ndarray] = state.pop(name)
            state[name] = (np.concatenate(arrays) if arrays else np.zeros(0), np.array([len(a) for a in arrays]))
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        for name in _PACKED:
            packed = state[name]
            assert isinstance(packed, tuple)
            flat, lengths = packed
            state[name] = np.split(flat, np.cumsum(lengths)[:-1]) if len(lengths) else []
        self.__dict__.update(state)

    def holds(self, doc: int, term_ids: Sequence[int]) -> np.ndarray:
        """For each term id, whether entry `doc` holds it."""
        held = self.doc_tids[self.doc_ptr[doc]:self.doc_ptr[doc + 1]]  # sorted
        ids = np.asarray(term_ids, dtype=np.int64)
        if not len(held):
            return np.zeros(len(ids), dtype=bool)
        pos = np.minimum(np.searchsorted(held, ids), len(held) - 1)
        return np.asarray(held[pos] == ids)

    def scores(self, weighted_terms: dict[int, float]) -> np.ndarray:
        """Score of every entry for {term id: query weight}."""
        out = np.zeros(self.size, dtype=np.float64)
        for tid, w in weighted_terms.items():
            out[self.docs[tid]] += (w * self.idf[tid]) * self.sats[tid]
        return out

    def intent(self, weighted_terms: dict[int, float]) -> np.ndarray:
        """Per entry, the best cosine-like match between the query and its title or one of its questions."""
        acc = np.zeros(len(self.short_norm), dtype=np.float64)
        qnorm = 0.0
        for tid, w in weighted_terms.items():
            if self.is_plain(tid):
                acc[self.short_docs[tid]] += w * self.idf[tid]
                qnorm += w * self.idf[tid]
        if not qnorm or not len(acc):
            return np.zeros(self.size)
        sim = acc / np.sqrt(qnorm * self.short_norm)
        return np.maximum.reduceat(sim, self.short_starts) if self.size else sim

    def is_plain(self, tid: int) -> bool:
        return bool(self.plain[tid])
