"""The progress helper: a line every few seconds on a pipe, a bar redrawn in place on a terminal."""

from __future__ import annotations

import io

from helpdesk.progress import Progress, count, duration


class Ticks:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_pipe_gets_one_plain_line_every_interval_with_counts_and_time_left() -> None:
    out, clock = io.StringIO(), Ticks()
    p = Progress("Recalcul des délais", 1000, stream=out, tty=False, clock=clock, interval=5, unit="tickets")
    for _ in range(8):  # 80 done in 4 s: no line yet
        clock.now += 0.5
        p.advance(10)
    assert out.getvalue() == ""
    clock.now += 1.0  # 5 s since the start: one line; 90 done in 5 s, 910 left at that pace (50.6 s)
    p.advance(10)
    assert out.getvalue() == "Recalcul des délais : 90/1\u202f000 tickets (9 %), reste ~51 s\n"
    for _ in range(71):
        clock.now += 0.0625
        p.advance(10)
    assert out.getvalue().count("\n") == 1  # 4.4 s later: still one line
    clock.now += 1
    assert p.finish() == "10 s"
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()  # no terminal codes in a log


def test_an_unknown_total_shows_the_count_alone() -> None:
    out, clock = io.StringIO(), Ticks()
    p = Progress("Import", stream=out, tty=False, clock=clock, interval=2)
    clock.now += 3
    p.advance(7)
    assert out.getvalue() == "Import : 7\n"
    clock.now += 3
    p.advance(3, total=20)  # the work learnt its total
    assert out.getvalue().endswith("Import : 10/20 (50 %), reste ~6 s\n")


def test_a_terminal_gets_a_bar_redrawn_in_place_and_cleared_at_the_end() -> None:
    out, clock = io.StringIO(), Ticks()
    p = Progress("Copie", 200, stream=out, tty=True, clock=clock)
    clock.now += 1
    p.advance(50)
    assert out.getvalue() == "\r\x1b[2KCopie  [######------------------]  50/200  25 %  reste ~3 s"
    p.advance(50)  # same instant: not redrawn
    assert out.getvalue().count("\r") == 1
    clock.now += 2
    p.advance(100)
    assert out.getvalue().endswith("[########################]  200/200  100 %")
    assert p.finish() == "3 s" and out.getvalue().endswith("\r\x1b[2K")


def test_french_figures() -> None:
    assert count(1234567) == "1\u202f234\u202f567" and count(12) == "12"
    assert (duration(0.4), duration(59.6), duration(185), duration(3720)) == ("0 s", "1 min 00 s", "3 min 05 s",
                                                                              "1 h 02 min")
