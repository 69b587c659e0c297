"""Reference recognition on the SMTP path: bounded, linear work on any text.

`find_references` runs in the intake transaction of every requester message, so its cost must not depend
on how hostile the text is. Measured here, CPU time per call (thread CPU, not wall clock):

- a realistic mail (French text with data.gouv.fr, catalogue and file links) repeated to 100,000 characters;
- hostile texts of the same size: one huge URL, runs of near-UUIDs, a repeated introducing phrase, a wall of
  URL-looking fragments, deep slug-like runs;
- the reference: `str.lower()` + one pass of a trivial regex (`\\w+`) over the same realistic text, in the
  same run, so the ratios do not depend on the machine.

Also the linearity check: the realistic text at 10,000 and 100,000 characters (the function reads at most
100,000). Target: every hostile text within 5× the realistic one, and the 100k/10k ratio under 15.
Run: .venv/bin/python benchmarks/published_references.py [--repeat N]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from helpdesk.published.references import MAX_TEXT, find_references  # noqa: E402

MAIL = ("Bonjour,\n\nnotre fiche https://www.data.gouv.fr/fr/datasets/subventions-versees-par-la-ville-de-lannion/ "
        "n'apparaît pas, et le fichier https://www.data.gouv.fr/fr/datasets/r/3c3d5d34-5c66-4d54-9f31-34f1b1d7d8b2 "
        "est refusé par le validateur. La fiche du catalogue est "
        "https://geobretagne.fr/geonetwork/srv/fre/catalog.search#/metadata/955c3e47-411e-4969-b61b-3556d1b9f879 "
        "et l'export https://opendata.lannion.bzh/exports/equipements.csv. Pouvez-vous regarder ?\n"
        "Cordialement,\nla mairie de Lannion, 02 96 00 00 00\n\n")


def sized(unit: str, n: int) -> str:
    return (unit * (n // len(unit) + 1))[:n]


HOSTILE = {
    "one huge URL": "https://" + "a" * (MAX_TEXT - 20) + ".csv",
    "near-UUID runs": sized("0123456789ab-cdef-0123-4567-89abcdef012-", MAX_TEXT),
    "repeated introducing phrase": sized("jeu de données : ", MAX_TEXT),
    "URL fragments": sized("https://www.data.gouv.fr/fr/datasets/ ", MAX_TEXT),
    "slug-like run": "jeu de données " + sized("a-", MAX_TEXT - 20),
    "catalogue fragments": sized("https://x/catalog.search#/metadata/", MAX_TEXT),
}


def cpu_per_call(fn: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.thread_time()
        fn()
        samples.append(time.thread_time() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    realistic = sized(MAIL, MAX_TEXT)
    word = re.compile(r"\w+")
    reference = cpu_per_call(lambda: word.findall(realistic.lower()), args.repeat)
    base = cpu_per_call(lambda: find_references(realistic), args.repeat)
    small = cpu_per_call(lambda: find_references(sized(MAIL, 10_000)), args.repeat)
    print(f"reference (lower + \\w+ over 100k chars): {reference * 1000:.2f} ms")
    print(f"realistic mail, 100k chars: {base * 1000:.2f} ms  ({base / reference:.1f}× reference)")
    print(f"realistic mail, 10k chars: {small * 1000:.2f} ms  (100k/10k = {base / small:.1f}, target < 15)")
    worst = 0.0
    for name, text in HOSTILE.items():
        t = cpu_per_call(lambda text=text: find_references(text), args.repeat)  # type: ignore[misc]
        worst = max(worst, t / base)
        print(f"hostile – {name}: {t * 1000:.2f} ms  ({t / base:.2f}× realistic, {t / reference:.1f}× reference)")
    print(f"worst hostile / realistic: {worst:.2f} (target ≤ 5)")


if __name__ == "__main__":
    main()
