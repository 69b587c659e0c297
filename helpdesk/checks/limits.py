"""Size and time limits of one check, and the cooperative deadline the checks poll."""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    max_bytes: int = 30 * 1024 * 1024  # a file larger than this is not opened
    max_rows: int = 50_000  # rows of a table looked at
    schema_rows: int = 10_000  # rows validated against a schema (frictionless, ~0.2 ms a row, is the slow part)
    max_uncompressed: int = 200 * 1024 * 1024  # total size of an archive's members
    max_ratio: float = 100.0  # compression ratio of one member beyond which it is a zip bomb
    max_members: int = 2_000
    seconds: float = 20.0  # time for one file


class CheckTimeout(Exception):
    """The deadline of a check passed."""


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self._end:
            raise CheckTimeout(f"more than {self.seconds:g} s")
