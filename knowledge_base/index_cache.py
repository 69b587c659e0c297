"""An on-disk cache of built knowledge bases, so that a command-line search does not rebuild the index.

Building the index of the bundled FAQ (and loading the general-French word counts the query parser needs)
takes most of a `kb search`; reading the built `KnowledgeBase` back takes a small part of it. A cache file
is named after a hash of everything the result depends on: the entry files (names and bytes), this
package's code and vocabularies (`*.py`, `*.yaml`), ENGINE_VERSION, the Python version, whether the sentence
encoder is installed and enabled (`encoder`) and whether the word vectors are installed (they are pickled
as a reference, read back from their own cache: `vectors`). Any change gives
another name, so a stale file is never read; a file that cannot be read back (truncated, corrupt, from
another numpy) is ignored and rebuilt. Files are written whole under a temporary name, then renamed;
at most KEEP files are kept. The cache lives in the service's data directory: it is trusted as the
database file is (it is a pickle; only the service's own account should be able to write there).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import pickle
import sys
import tempfile
from pathlib import Path

from knowledge_base import encoder, vectors
from knowledge_base.search import KnowledgeBase

ENGINE_VERSION = "2"  # bump when a built index must not be reused although no source file changed
PREFIX = "kb-index-"
SUFFIX = ".pickle"
KEEP = 4  # cache files kept (several FAQ directories may be searched from one data directory)
_PACKAGE = Path(__file__).resolve().parent

log = logging.getLogger(__name__)


@functools.cache
def engine_fingerprint() -> bytes:
    """A hash of what builds an index: the package's code and vocabularies, its version, Python's, and
    whether the French word vectors are installed (an index built with them is not read back without)."""
    with_vectors = f"{vectors.MODEL_DIR}-v{vectors.FORMAT}" if vectors.source_dir() is not None else "lexical"
    with_encoder = encoder.MODEL if encoder.installed() else "no-encoder"
    digest = hashlib.sha256(f"{ENGINE_VERSION}|{sys.version_info[:2]}|{with_vectors}|{with_encoder}".encode())
    for path in sorted([*_PACKAGE.glob("*.py"), *_PACKAGE.glob("*.yaml")]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.digest()


def cache_key(directory: Path) -> str:
    """The hash of the engine and of every entry file of `directory` (as `load_entries` reads them)."""
    digest = hashlib.sha256(engine_fingerprint())
    for path in sorted(directory.glob("*.md")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def load(directory: Path | str, cache_dir: Path | str) -> KnowledgeBase:
    """The knowledge base of `directory`, read from `cache_dir` when built before, else built and saved.

    Raises what `KnowledgeBase.load` raises (an invalid FAQ is never cached); problems with the cache
    itself (unreadable, corrupt, read-only directory) only cost a rebuild."""
    source, cache = Path(directory), Path(cache_dir)
    try:
        key = cache_key(source)
    except OSError:
        return KnowledgeBase.load(source)  # unreadable entries: let the loader report them
    path = cache / f"{PREFIX}{key[:40]}{SUFFIX}"
    kb = _read(path, key)
    if kb is None:
        kb = KnowledgeBase.load(source)
        _write(path, key, kb)
    return kb


def _read(path: Path, key: str) -> KnowledgeBase | None:
    try:
        with path.open("rb") as f:
            stored_key, kb = pickle.load(f)  # noqa: S301 (our own file in the data directory, see above)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except Exception as exc:  # noqa: BLE001 (any unreadable cache file is rebuilt)
        log.warning("FAQ index cache %s unreadable (%s): rebuilding it", path, exc)
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    if stored_key != key or not isinstance(kb, KnowledgeBase):
        return None
    return kb


def _write(path: Path, key: str, kb: KnowledgeBase) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=PREFIX, suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump((key, kb), f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        _prune(path.parent)
    except OSError as exc:
        log.warning("FAQ index cache not written to %s (%s)", path.parent, exc)


def _prune(cache: Path) -> None:
    """Keep the KEEP most recently written cache files."""
    files = sorted(cache.glob(f"{PREFIX}*{SUFFIX}"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in files[KEEP:]:
        with contextlib.suppress(OSError):
            old.unlink()
