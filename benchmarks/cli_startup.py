"""CLI start-up: wall time of commands that need no FAQ index, against `python -c pass` in the same run.

    .venv/bin/python benchmarks/cli_startup.py [--rounds 15]      # SQLite in a temporary directory

Each round runs, in turn, a bare interpreter and each command as a fresh process (as an operator
does); the figures are medians over the rounds, and each command's ratio to the bare interpreter
measured in the same rounds (so a busy machine slows both). `user add` includes its argon2 hash.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "un-mot-de-passe-solide\n"


def _run(argv: list[str], env: dict[str, str], stdin: str = "") -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, input=stdin, capture_output=True, text=True, check=False, cwd=ROOT)  # noqa: S603
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv[1:])} failed: {done.stderr.strip()}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "HELPDESK_DATABASE_URL": f"sqlite+aiosqlite:///{Path(tmp) / 'h.sqlite3'}",
               "HELPDESK_DATA_DIR": tmp, "HELPDESK_SMTP_ENABLED": "false"}
        cli = [py, "-m", "helpdesk.cli"]
        _run([*cli, "db", "upgrade"], env)
        _run([*cli, "ingest", "-"], env, "From: a@b.fr\nSubject: s\nMessage-ID: <bench@x>\n\nBonjour\n")
        commands: dict[str, tuple[list[str], str]] = {
            "python -c pass": ([py, "-c", "pass"], ""),
            "helpdesk config": ([*cli, "config"], ""),
            "helpdesk ticket 1000 --json": ([*cli, "ticket", "1000", "--json"], ""),
            "helpdesk user add": ([*cli, "user", "add", "{n}@craig.fr", "--password-stdin"], PASSWORD),
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for i in range(args.rounds):
            for name, (argv, stdin) in commands.items():
                times[name].append(_run([a.replace("{n}", f"bench{i}") for a in argv], env, stdin))
    bare = statistics.median(times["python -c pass"])
    print(f"{args.rounds} rounds, medians (min–max):")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:<30} {median * 1000:7.0f} ms ({min(values) * 1000:.0f}–{max(values) * 1000:.0f})"
              f"   ratio to python -c pass: {median / bare:5.1f}")


if __name__ == "__main__":
    main()
