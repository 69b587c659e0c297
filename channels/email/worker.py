"""Parse, sanitise and convert raw mail in worker processes, under a time and a memory budget.

The event loop never parses a message: a hostile one (thousands of parts, nested forwards, deep
HTML) could otherwise freeze every SMTP session and the web. Each worker is a process of its own
with an address-space limit (RLIMIT_AS); a message that runs past the time budget gets its
worker killed and replaced. Over budget → ``OverBudget`` (an ``UnparseableMail``: the message
goes to the quarantine with the reason, in French for staff), never a stall, a silent drop or a
451 for ever.

The pool is shared by the process (``ParserPool.shared()``), started on first use; the round
trip to a worker (send the bytes, wait for the answer) runs on a small thread pool of its own, so
the loop only sees a future.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import pickle
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from channels.email.parse import ParsedMail, UnparseableMail, parse_message

log = logging.getLogger(__name__)

PARSE_SECONDS = 20.0
WORKER_NICENESS = 10
PARSE_MEMORY = 1024 * 1024 * 1024  # address space of one worker (its own imports take about 250 MB)


class OverBudget(UnparseableMail):
    """The message needed more time or memory than a worker may spend on one message."""


@dataclass(frozen=True, slots=True)
class Budget:
    seconds: float = PARSE_SECONDS
    memory_bytes: int = PARSE_MEMORY


def _limit_memory(memory_bytes: int) -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    except (ImportError, ValueError, OSError):  # pragma: no cover - not on this platform
        pass


def _serve(inbox: Connection, outbox: Connection, memory_bytes: int) -> None:
    """A worker's life: one message in, one answer out, until the pipe closes."""
    _limit_memory(memory_bytes)
    while True:
        try:
            raw, sender = pickle.loads(inbox.recv_bytes())  # noqa: S301 - our parent, over a private pipe
        except (EOFError, OSError):
            return
        try:
            answer: tuple[str, Any] = ("ok", parse_message(raw, envelope_sender=sender))
        except UnparseableMail as exc:
            answer = ("unparseable", str(exc))
        except MemoryError:
            answer = ("memory", "")
        except RecursionError:
            answer = ("depth", "")
        except Exception as exc:  # noqa: BLE001 - a parser bug: told to the parent, which quarantines
            answer = ("error", f"{type(exc).__name__}: {exc}"[:300])
        try:
            data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        except MemoryError:
            data = pickle.dumps(("memory", ""))
        try:
            outbox.send_bytes(data)
        except (EOFError, OSError):
            return
        if answer[0] == "memory":
            return  # a fresh worker replaces this one: its heap may be fragmented or half-freed


class _Worker:
    """One parser process (``python -m channels.email.worker``), spoken to over its stdin and stdout."""

    def __init__(self, memory_bytes: int) -> None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "channels.email.worker", str(memory_bytes)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, close_fds=True,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.to_child = Connection(os.dup(self.process.stdin.fileno()), readable=False)
        self.from_child = Connection(os.dup(self.process.stdout.fileno()), writable=False)
        self.process.stdin.close()
        self.process.stdout.close()

    def roundtrip(self, payload: bytes) -> tuple[str, Any]:
        self.to_child.send_bytes(payload)
        answer: tuple[str, Any] = pickle.loads(self.from_child.recv_bytes())  # noqa: S301 - our own worker
        return answer

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        try:
            self.process.kill()
            self.process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):  # pragma: no cover - already gone
            pass
        for conn in (self.to_child, self.from_child):
            try:
                conn.close()
            except OSError:  # pragma: no cover
                pass


def _swallow(fut: asyncio.Future[Any]) -> None:
    """Read a finished job's outcome so that an abandoned one (killed worker) logs no warning."""
    if not fut.cancelled():
        fut.exception()


class ParserPool:
    """A few parser processes; ``parse`` answers a ParsedMail or raises UnparseableMail / OverBudget."""

    _shared: ParserPool | None = None
    _shared_lock = threading.Lock()

    def __init__(self, workers: int | None = None, budget: Budget | None = None) -> None:
        self.size = max(1, workers or min(4, os.cpu_count() or 1))
        self.budget = budget or Budget()
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._threads = ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="mail-parse")
        self._closed = False

    @classmethod
    def shared(cls) -> ParserPool:
        with cls._shared_lock:
            if cls._shared is None or cls._shared._closed:
                cls._shared = ParserPool()
                atexit.register(cls._shared.close)
            return cls._shared

    def warm(self) -> None:
        """Start the workers now (blocking: run it in a thread), so the first messages wait for no import."""
        started = [_Worker(self.budget.memory_bytes) for _ in range(self.size)]
        with self._lock:
            self._idle.extend(started)

    def _take(self) -> _Worker:
        """An idle worker, or a new one (runs on the pool's threads: at most ``size`` at once)."""
        with self._lock:
            while self._idle:
                w = self._idle.pop()
                if w.alive():
                    return w
                w.kill()
        return _Worker(self.budget.memory_bytes)

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            if self._closed:
                worker.kill()
            else:
                self._idle.append(worker)

    async def parse(self, raw: bytes, *, envelope_sender: str | None = None) -> ParsedMail:
        if self._closed:
            raise RuntimeError("parser pool closed")
        loop = asyncio.get_running_loop()
        payload = pickle.dumps((raw, envelope_sender), protocol=pickle.HIGHEST_PROTOCOL)
        started: asyncio.Future[_Worker] = loop.create_future()

        def tell(worker: _Worker) -> None:
            if not started.done():
                started.set_result(worker)

        def job() -> tuple[str, Any]:
            worker = self._take()
            loop.call_soon_threadsafe(tell, worker)
            return worker.roundtrip(payload)

        # The waiting for a free worker is not counted: the budget starts when a worker has the message.
        done = loop.run_in_executor(self._threads, job)
        done.add_done_callback(_swallow)
        try:
            pending: set[asyncio.Future[Any]] = {started, done}
            await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            done.cancel()
            if started.done():
                started.result().kill()
            raise
        if not started.done():  # the worker could not be started
            started.cancel()
            raise UnparseableMail(f"échec de l'analyseur : {done.exception()!r}"[:300])
        worker = started.result()
        try:
            kind, value = await asyncio.wait_for(asyncio.shield(done), timeout=self.budget.seconds)
        except TimeoutError:
            worker.kill()  # the thread blocked in recv() gets EOFError and ends
            raise OverBudget(f"analyse interrompue : plus de {self.budget.seconds:g} s de calcul pour ce message"
                             ) from None
        except asyncio.CancelledError:
            worker.kill()  # the session went away mid-parse: never hand a busy worker to someone else
            raise
        except (EOFError, OSError, pickle.UnpicklingError) as exc:
            worker.kill()
            raise OverBudget(f"analyse interrompue : le processus d'analyse s'est arrêté ({type(exc).__name__}), "
                             "probablement faute de mémoire") from None
        if kind == "memory":
            worker.kill()
            raise OverBudget(f"analyse interrompue : plus de {self.budget.memory_bytes // 2**20} Mo de mémoire "
                             "pour ce message")
        self._give_back(worker)
        if kind == "ok":
            assert isinstance(value, ParsedMail)
            return value
        if kind == "unparseable":
            raise UnparseableMail(str(value))
        if kind == "depth":
            raise OverBudget("analyse interrompue : structure du message trop profondément imbriquée")
        raise UnparseableMail(f"échec de l'analyseur : {value}")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for w in idle:
            w.kill()
        self._threads.shutdown(wait=False, cancel_futures=True)


def main() -> None:
    """Entry point of a worker process: the channel is a copy of stdout; stdout itself goes to stderr."""
    inbox = Connection(os.dup(0), writable=False)
    outbox = Connection(os.dup(1), readable=False)
    os.dup2(2, 1)  # a stray print must not corrupt the channel
    try:  # parsing is batch work: the event loop (SMTP sessions, the web) wins the CPU when both want it
        os.nice(WORKER_NICENESS)
    except OSError:  # pragma: no cover - not allowed here
        pass
    _serve(inbox, outbox, int(sys.argv[1]) if len(sys.argv) > 1 else PARSE_MEMORY)


if __name__ == "__main__":
    main()
