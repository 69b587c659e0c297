"""Turn a message into weighted search terms for one index, and measure how typical of the FAQ it is.

Each word of a sentence weighs the sentence's weight (questions more than context, see `email_text`)
times how typical of the FAQ the word is: the log-ratio of its frequency in the entries to its frequency
in general French ("shapefile", "délibération" are typical; "temps", "bureau" are not). A word that no
entry uses is looked up among the known words as a typo ("metadonees" -> "métadonnées"), unless it is a
real French word; otherwise it counts as unknown, which weighs against every suggestion.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from knowledge_base.email_text import sentences
from knowledge_base.index import Index, bigrams, prefix
from knowledge_base.normalize import Analyzer, general_frequencies, stem
from knowledge_base.vectors import WordVectors, embed, sif_weight

TYPO_MIN_LENGTH = 5
TYPO_MIN_SIMILARITY = 82.0
TYPO_WEIGHT = 0.8
LOG_RATIO_CLIP = 8.0
LOG_RATIO_UNKNOWN = -4.0  # log-ratio given to a word that no entry uses
TYPICAL_LOW, TYPICAL_HIGH, TYPICAL_FLOOR = 0.0, 4.0, 0.3
MAX_MESSAGE_CHARS = 6000  # bounded work per message: a question is in the first lines of even a long email
MAX_MESSAGES = 8  # of a conversation, the latest ones
CONVERSATION_DECAY = 0.5  # weight of a message relative to the next one (the latest weighs as much as all before)


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    terms: dict[int, float]  # term id -> weight
    unknown: float  # summed weight of the words that no entry uses
    domain: float  # mean log-ratio of the words between the FAQ and general French
    vector: np.ndarray | None = None  # unit-length SIF-weighted mean of the word vectors (None without vectors)
    texts: tuple[str, ...] = ()  # what each message read asks (`email_text.question_text`), oldest first


def typicality(log_ratio: float) -> float:
    """Weight in [TYPICAL_FLOOR, 1] of a word from its log-ratio between the FAQ and general French."""
    share = (log_ratio - TYPICAL_LOW) / (TYPICAL_HIGH - TYPICAL_LOW)
    return max(TYPICAL_FLOOR, min(1.0, TYPICAL_FLOOR + (1.0 - TYPICAL_FLOOR) * share))


def log_ratio(word: str, word_stem: str, frequency: Mapping[str, float],
              general_french: tuple[Mapping[str, int], int] | None = None) -> float:
    """log P(word | the FAQ) / P(word | general French), clipped; LOG_RATIO_UNKNOWN when the FAQ lacks it."""
    share = frequency.get(word_stem, 0.0)
    if not share:
        return LOG_RATIO_UNKNOWN
    counts, total = general_french or general_frequencies()
    general = (counts.get(word, 0) + 1) / total
    return max(-LOG_RATIO_CLIP, min(LOG_RATIO_CLIP, math.log(share / general)))


class QueryParser:
    """Parses messages against one index; holds the typo candidates of that index and the word counts of
    general French (so that a parser read back from the index cache needs no word list loaded)."""

    def __init__(self, index: Index, analyzer: Analyzer, vectors: WordVectors | None = None) -> None:
        self.index = index
        self.analyzer = analyzer
        self.vectors = vectors
        self.general_french = general_frequencies()
        by_letter: dict[str, list[str]] = {}
        for word in index.words:
            if len(word) >= TYPO_MIN_LENGTH - 1 and not word.isdigit():
                by_letter.setdefault(word[0], []).append(word)
        self._typo_candidates = by_letter

    def parse(self, message: str) -> ParsedQuery:
        """The weighted terms of one message (at most MAX_MESSAGE_CHARS of it: bounded work)."""
        return self.parse_conversation([message])

    def parse_conversation(self, messages: Sequence[str]) -> ParsedQuery:
        """The weighted terms of the inbound messages of a conversation, oldest first: the latest counts
        fully, each earlier one CONVERSATION_DECAY times the next; a term keeps its largest weight."""
        recent = list(messages)[-MAX_MESSAGES:]
        terms: dict[int, float] = {}
        unknown: dict[str, float] = {}
        ratio = [0.0, 0.0]
        rows: dict[int, float] = {}
        texts = [self._parse_one(message[:MAX_MESSAGE_CHARS], CONVERSATION_DECAY ** age, terms, unknown, ratio, rows)
                 for age, message in enumerate(reversed(recent))]
        domain = ratio[0] / ratio[1] if ratio[1] else 0.0
        vector = embed(rows, self.vectors) if self.vectors is not None else None
        return ParsedQuery(terms=terms, unknown=sum(unknown.values()), domain=domain, vector=vector,
                           texts=tuple(reversed(texts)))

    def _parse_one(self, message: str, scale: float, terms: dict[int, float], unknown: dict[str, float],
                   ratio: list[float], rows: dict[int, float]) -> str:
        """Adds the message's terms; returns what it asks (its sentences, joined)."""
        vocab, params, vectors = self.index.vocab, self.index.params, self.vectors

        def add(term: str, weight: float) -> None:
            tid = vocab.get(term)
            if tid is not None and weight > terms.get(tid, 0.0):
                terms[tid] = weight

        asked = sentences(message)
        for sentence in asked:
            weight_of_sentence = sentence.weight * scale
            stems: list[str] = []
            for word in self.analyzer.surface(sentence.text):
                s = stem(word)
                if word.isdigit():
                    if s in vocab:
                        stems.append(s)
                        add(s, weight_of_sentence * TYPICAL_FLOOR)
                    continue
                word_ratio = log_ratio(word, s, self.index.frequency, self.general_french)
                ratio[0] += weight_of_sentence * word_ratio
                ratio[1] += weight_of_sentence
                weight = weight_of_sentence * typicality(word_ratio)
                row = vectors.row(word) if vectors is not None else -1
                fixed = self.correct(word) if s not in vocab else None
                if row < 0 and fixed is not None and vectors is not None:
                    row = vectors.row(fixed)
                if row >= 0:  # like a term, a word vector keeps its largest weight
                    rows[row] = max(rows.get(row, 0.0), weight_of_sentence * sif_weight(word, self.general_french))
                if s not in vocab:
                    if fixed is None:
                        unknown[s] = max(unknown.get(s, 0.0), weight)
                        continue
                    word, s, weight = fixed, self.index.words[fixed], weight * TYPO_WEIGHT
                stems.append(s)
                add(s, weight)
                pre = prefix(word)
                if pre is not None and params.prefixes:
                    add(pre, weight * params.prefixes)
            if params.bigrams:
                for pair in bigrams(stems):
                    add(pair, weight_of_sentence * params.bigrams)
        return " ".join(sentence.text for sentence in asked)

    def correct(self, word: str) -> str | None:
        """The known word closest to an unknown one, when it is a likely typo."""
        counts, total = self.general_french
        if len(word) < TYPO_MIN_LENGTH or counts.get(word, 0) * 1e9 > total:  # a Zipf frequency over 0
            return None  # short, or a real French word that the FAQ does not use: not a typo
        choices = self._typo_candidates.get(word[0])
        if not choices:
            return None
        found = process.extractOne(word, choices, scorer=fuzz.ratio, score_cutoff=TYPO_MIN_SIMILARITY)
        return str(found[0]) if found else None
