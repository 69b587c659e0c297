"""Signs of life for long command-line work: a bar on a terminal, a line every few seconds otherwise.

On a terminal (stderr is a TTY) the bar is redrawn in place, at most ten times a second:
``Copie des tables  [#########-----------]  4 512/10 000  45 %  reste ~0:42``. When stderr is a pipe or a
log file, one plain line every ``interval`` seconds: ``Copie des tables : 4 512/10 000 (45 %), reste ~42 s``.
``finish()`` clears the bar and gives the elapsed time for the command's one-line summary, which the
command prints on stdout with its result. Progress goes to stderr so that stdout stays for the result
(JSON lines, for instance). The clock is injected so the tests need no sleeping.

Services take a plain ``Callable[[int], None]`` (« this many more done ») and know nothing of this module.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

BAR_WIDTH = 24
REDRAW_SECONDS = 0.1
PIPE_INTERVAL_SECONDS = 5.0


def count(n: int) -> str:
    """``12 345``: thousands separated by a (narrow no-break) space, as in French."""
    return f"{n:,}".replace(",", "\u202f")


def duration(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``1 h 02 min``."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


class Progress:
    def __init__(self, label: str, total: int | None = None, *, stream: TextIO | None = None,
                 tty: bool | None = None, clock: Callable[[], float] = time.monotonic,
                 interval: float = PIPE_INTERVAL_SECONDS, unit: str = "") -> None:
        self.label = label
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.clock = clock
        self.interval = interval
        self.unit = unit
        self.done = 0
        self.started = clock()
        self._last_draw = self.started
        self._drawn = False

    def advance(self, n: int = 1, total: int | None = None) -> None:
        """``n`` more done; ``total`` when the work learnt it (the services report it with each step)."""
        if total is not None:
            self.total = total
        self.done += n
        now = self.clock()
        if now - self._last_draw >= (REDRAW_SECONDS if self.tty else self.interval):
            self._last_draw = now
            self._draw(now)

    def set_total(self, total: int | None) -> None:
        self.total = total

    def _left(self, now: float) -> float | None:
        if not self.total or not self.done or self.done >= self.total:
            return None
        return (now - self.started) / self.done * (self.total - self.done)

    def _figures(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        if self.total:
            return f"{count(self.done)}/{count(self.total)}{unit}"
        return f"{count(self.done)}{unit}"

    def status_line(self, now: float) -> str:
        """The plain line written to a pipe or a log."""
        text = f"{self.label} : {self._figures()}"
        if self.total:
            text += f" ({min(100, self.done * 100 // self.total)} %)"
        left = self._left(now)
        if left is not None:
            text += f", reste ~{duration(left)}"
        return text

    def bar_line(self, now: float) -> str:
        """The line redrawn in place on a terminal."""
        if self.total:
            filled = min(BAR_WIDTH, self.done * BAR_WIDTH // self.total)
            bar = f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}]  {self._figures()}  " \
                  f"{min(100, self.done * 100 // self.total)} %"
        else:
            bar = self._figures()
        left = self._left(now)
        return f"{self.label}  {bar}" + (f"  reste ~{duration(left)}" if left is not None else "")

    def _draw(self, now: float) -> None:
        if self.tty:
            self.stream.write("\r\x1b[2K" + self.bar_line(now))
        else:
            self.stream.write(self.status_line(now) + "\n")
        self.stream.flush()
        self._drawn = True

    def finish(self) -> str:
        """Clear the bar; the time spent, for the summary (``12 s``)."""
        if self.tty and self._drawn:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
        return duration(self.clock() - self.started)
