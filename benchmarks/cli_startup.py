"""CLI start-up: wall time of commands that need no FAQ index, against `python -c pass` in the same run.

    .venv/bin/python benchmarks/cli_startup.py [--rounds 15]      # SQLite in a temporary directory

Each round runs, in turn, a bare interpreter and each command as a fresh process (as an operator
does); the figures are medians over the rounds, and each command's ratio to the bare interpreter
measured in the same rounds (so a busy machine slows both). `user add` includes its argon2 hash.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "un-mot-de-passe-solide\n"


def _cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _run(argv: list[str], env: dict[str, str], stdin: str = "") -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one command in a fresh process."""
    cpu, started = _cpu(), time.perf_counter()
    done = subprocess.run(argv, env=env, input=stdin, capture_output=True, text=True, check=False, cwd=ROOT)  # noqa: S603
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv[1:])} failed: {done.stderr.strip()}")
    return took, _cpu() - cpu


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
        wall: dict[str, list[float]] = {name: [] for name in commands}
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        for i in range(args.rounds):
            for name, (argv, stdin) in commands.items():
                took, used = _run([a.replace("{n}", f"bench{i}") for a in argv], env, stdin)
                wall[name].append(took)
                cpu[name].append(used)
    bare_wall, bare_cpu = statistics.median(wall["python -c pass"]), statistics.median(cpu["python -c pass"])
    print(f"{args.rounds} rounds, medians (min–max); CPU is user + system time of the process:")
    for name in commands:
        w, c = statistics.median(wall[name]), statistics.median(cpu[name])
        print(f"  {name:<28} wall {w * 1000:6.0f} ms ({min(wall[name]) * 1000:.0f}–{max(wall[name]) * 1000:.0f}) "
              f"x{w / bare_wall:5.1f}   CPU {c * 1000:6.0f} ms x{c / bare_cpu:5.1f}   (ratios to python -c pass)")


if __name__ == "__main__":
    main()
