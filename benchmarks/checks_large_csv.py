"""A 10 MB CSV through the file checks, as the Outbox worker runs them.

Two files are generated in this run (seeded): a subsidies file matching the SCDL Subventions 2.1.1 schema
(so frictionless and the Validata custom checks run) and a plain table of the same size with no schema. The
reference is a plain ``csv`` module read of the same bytes (decode + parse every row), measured in the same
run, so the ratio does not depend on the machine. Target: under 10 s per file on this machine; the ratio is
what to compare between runs. The first check of a process also imports pandas (csv-detective) and
frictionless: measured apart as "warm-up".
Run: .venv/bin/python benchmarks/checks_large_csv.py [--mb 10]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from helpdesk.checks import check_file  # noqa: E402

HEADER = ("nomAttribuant,idAttribuant,dateConvention,referenceDecision,nomBeneficiaire,idBeneficiaire,"
          "rnaBeneficiaire,objet,montant,nature,conditionsVersement,datesPeriodeVersement,idRAE,notificationUE,"
          "pourcentageSubvention")
ASSOS = ["Association sportive", "Comité des fêtes", "Club de l'âge d'or", "Harmonie municipale", "Amicale laïque"]


def subsidies(size: int, rng: random.Random) -> bytes:
    lines = [HEADER]
    total = len(HEADER)
    while total < size:
        day = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        amount = f"{rng.randint(100, 50000)}.{rng.randint(0, 99):02d}"
        if rng.random() < 0.02:
            amount = amount.replace(".", ",")  # a few French decimals, to be reported
        line = (f"Commune de Murat,21150138200017,{day},DEL-{rng.randint(1, 999)},{rng.choice(ASSOS)} "
                f"{rng.randint(1, 500)},,W{rng.randint(10**8, 10**9 - 1)},Subvention de fonctionnement,"
                f"\"{amount}\",aide en numéraire,unique,{day},,non,1")
        lines.append(line)
        total += len(line) + 1
    return ("\n".join(lines) + "\n").encode()


def plain(size: int, rng: random.Random) -> bytes:
    lines = ["commune;code_insee;population;latitude;longitude;date_maj"]
    total = 0
    while total < size:
        line = (f"Commune {rng.randint(1, 9999)};15{rng.randint(1, 270):03d};{rng.randint(50, 90000)};"
                f"{rng.uniform(44, 46):.5f};{rng.uniform(2, 3.5):.5f};2024-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}")
        lines.append(line)
        total += len(line) + 1
    return ("\n".join(lines) + "\n").encode("cp1252")


def csv_read(data: bytes) -> float:
    start = time.perf_counter()
    text = data.decode("utf-8", errors="replace")
    for _ in csv.reader(io.StringIO(text, newline="")):
        pass
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=10.0)
    args = parser.parse_args()
    rng = random.Random(17)
    size = int(args.mb * 1024 * 1024)
    start = time.perf_counter()
    check_file("warm.csv", subsidies(20_000, rng))
    print(f"warm-up (imports, first check): {time.perf_counter() - start:.2f} s")
    for name, data in (("subventions.csv", subsidies(size, rng)), ("communes.csv", plain(size, rng))):
        ref = min(csv_read(data) for _ in range(3))
        start, cpu = time.perf_counter(), time.process_time()
        report = check_file(name, data)
        took, cpu = time.perf_counter() - start, time.process_time() - cpu
        print(f"{name}: {len(data) / 1e6:.1f} MB, {report.details.get('rows')} rows read, verdict {report.verdict}, "
              f"{len(report.findings)} findings; check {took:.2f} s ({cpu:.2f} s CPU), csv read {ref:.3f} s, "
              f"ratio {took / ref:.0f}x, "
              f"{'under' if took < 10 else 'OVER'} the 10 s target")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (wall-clock times grow with it)")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of the process: {rss:.0f} MB")


if __name__ == "__main__":
    main()
