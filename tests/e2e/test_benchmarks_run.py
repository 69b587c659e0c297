"""The benchmarks still run against today's code: each one at a tiny size, as a fresh process.

Benchmarks are not run by `make test` at full size (they measure, they do not assert), so a change of a
use case's return type once broke two of them unnoticed. This runs the ones that drive the use cases
directly, small enough to take seconds, and checks they finish and print their figures; it asserts nothing
about the figures.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

TINY = {
    "queue_load.py": ["--tickets", "300", "--clients", "2", "--searches", "2"],
    "portal_load.py": ["--tickets", "300"],
    "sla_load.py": ["--tickets", "50"],
    "kb_search.py": ["--entries", "200", "--queries", "20"],
}


@pytest.mark.timeout(300)
@pytest.mark.parametrize("script", sorted(TINY))
def test_benchmark_runs_at_a_tiny_size(script: str, tmp_path: Path) -> None:
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(ROOT / "benchmarks" / script), *TINY[script]],
        capture_output=True, text=True, timeout=280, cwd=tmp_path, check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert done.stdout.strip() or done.stderr.strip(), "the benchmark printed nothing"
