"""The live hub: turns committed audit events into notices, keeps who is on which ticket, opens streams.

One per process, built by bootstrap over a ``LiveBus`` (in process on SQLite, LISTEN/NOTIFY on
PostgreSQL). ``committing`` is the database's before-commit hook (the other processes' notices, which
PostgreSQL delivers only at the commit) and ``committed`` its after-commit observer (this process's
streams): nothing is announced for a transaction that rolled back. Presence heartbeats travel as
notices too, so every instance knows who is on a ticket; each instance stamps a heartbeat with its own
clock when it hears it (no clock skew).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from helpdesk.db.engine import Database
from helpdesk.db.tables import Ticket
from helpdesk.domain import live
from helpdesk.domain.live import Beat, LiveKind, Notice, PresenceState
from helpdesk.ports import Clock, LiveBus

log = logging.getLogger(__name__)

STREAMS_PER_USER = 6  # tabs a staff member may keep live; more fall back to polling
STREAMS_PER_INSTANCE = 200
REPEAT_BEAT = timedelta(seconds=2)  # the same heartbeat again sooner is kept here, not re-published
BOARD_TICKETS = 2000  # tickets remembered with someone on them, beyond which expired ones are swept
ID_CACHE = 4096


class TooManyStreams(Exception):
    pass


class LiveHub:
    def __init__(self, bus: LiveBus, db: Database, clock: Clock) -> None:
        self.bus = bus
        self.db = db
        self.clock = clock
        self.board: dict[int, dict[int, Beat]] = {}
        self._published: dict[tuple[int, int], tuple[PresenceState, datetime]] = {}
        self._ids: OrderedDict[int, int] = OrderedDict()
        self._streams: dict[int, int] = {}
        self.closing = asyncio.Event()

    # ---- publishing ---------------------------------------------------------------------------
    async def committing(self, session: AsyncSession, audit: list[tuple[int | None, str]]) -> None:
        """The database's before-commit hook: the other processes' notices go with the transaction."""
        notices = live.notices_for_commit(audit)
        if notices:
            await self.bus.publish_within(session, notices)

    def committed(self, audit: list[tuple[int | None, str]]) -> None:
        """The database's after-commit observer: this process's subscribers, one notice per (ticket, kind)."""
        for notice in live.notices_for_commit(audit):
            self.bus.deliver_local(notice)

    @property
    def safety_poll_seconds(self) -> int:
        """How often a page with an open stream still polls: changes from other processes arrive by the
        stream on PostgreSQL (a slow safety net is enough), not on SQLite (`helpdesk ingest` and the CLI)."""
        return 120 if self.bus.cross_process else 15

    def beat(self, ticket_id: int, staff_id: int, name: str, state: PresenceState) -> None:
        """A heartbeat from a staff member's page: kept here at once, relayed to the other instances."""
        notice = Notice(LiveKind.PRESENCE, ticket_id, staff_id, state, name[: live.NAME_MAX])
        now = self.clock.now()
        self.apply(notice, now)
        last = self._published.get((ticket_id, staff_id))
        if last is not None and last[0] is state and now - last[1] < REPEAT_BEAT:
            return
        if len(self._published) > BOARD_TICKETS * 4:
            self._published.clear()
        self._published[(ticket_id, staff_id)] = (state, now)
        self.bus.publish(notice)

    # ---- presence -----------------------------------------------------------------------------
    def apply(self, notice: Notice, now: datetime) -> None:
        if notice.kind is not LiveKind.PRESENCE or notice.ticket_id is None or notice.staff_id is None \
                or notice.state is None:
            return
        here = self.board.setdefault(notice.ticket_id, {})
        if notice.state is PresenceState.LEFT:
            here.pop(notice.staff_id, None)
        else:
            here[notice.staff_id] = Beat(notice.staff_id, notice.name, notice.state, now)
        for sid in [s for s, b in here.items() if not live.is_current(b, now)]:
            del here[sid]
        if not here:
            del self.board[notice.ticket_id]
        if len(self.board) > BOARD_TICKETS:
            for tid in [t for t, who in self.board.items() if not any(live.is_current(b, now) for b in who.values())]:
                del self.board[tid]

    def others(self, ticket_id: int, me: int) -> list[tuple[str, PresenceState]]:
        return live.others(list(self.board.get(ticket_id, {}).values()), me, self.clock.now())

    async def ticket_id(self, number: int) -> int | None:
        """The ticket's row id (notices carry ids; pages know numbers); cached, a number never moves."""
        if number in self._ids:
            self._ids.move_to_end(number)
            return self._ids[number]
        if not 0 < number < 2**31:
            return None
        async with self.db.transaction() as s:
            found = await s.scalar(select(col(Ticket.id)).where(col(Ticket.number) == number))
        if found is not None:
            self._ids[number] = found
            if len(self._ids) > ID_CACHE:
                self._ids.popitem(last=False)
        return found

    # ---- streams ------------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def stream(self, staff_id: int, tick: float = 2.0) -> AsyncIterator[AsyncIterator[Notice | None]]:
        """Notices for one browser stream, and None every ``tick`` seconds (keep-alives, presence expiry).

        Bounded: STREAMS_PER_USER and STREAMS_PER_INSTANCE (TooManyStreams). Ends when the hub closes."""
        if self._streams.get(staff_id, 0) >= STREAMS_PER_USER or sum(self._streams.values()) >= STREAMS_PER_INSTANCE:
            raise TooManyStreams
        self._streams[staff_id] = self._streams.get(staff_id, 0) + 1
        try:
            async with self.bus.subscribe() as notices:
                yield self._ticking(notices, tick)
        finally:
            self._streams[staff_id] -= 1
            if not self._streams[staff_id]:
                del self._streams[staff_id]

    @property
    def open_streams(self) -> int:
        return sum(self._streams.values())

    async def _ticking(self, notices: AsyncIterator[Notice], tick: float) -> AsyncIterator[Notice | None]:
        closing: asyncio.Task[Any] = asyncio.ensure_future(self.closing.wait())
        pending: asyncio.Task[Any] | None = None
        try:
            while True:
                if pending is None:
                    pending = asyncio.ensure_future(anext(notices))
                waiting: set[asyncio.Task[Any]] = {pending, closing}
                done, _ = await asyncio.wait(waiting, timeout=tick, return_when=asyncio.FIRST_COMPLETED)
                if closing in done:
                    return
                if pending in done:
                    try:
                        notice = pending.result()
                    except StopAsyncIteration:
                        return
                    pending = None
                    assert isinstance(notice, Notice)
                    self.apply(notice, self.clock.now())  # before the stream reads the board
                    yield notice
                else:
                    yield None
        finally:
            closing.cancel()
            if pending is not None:
                pending.cancel()

    def close_streams(self) -> None:
        """Every open stream ends now (the web edge calls it when it shuts down)."""
        self.closing.set()

    # ---- the loop bootstrap starts ------------------------------------------------------------
    async def run(self) -> None:
        """Listen (PostgreSQL) and keep the presence board from every instance's heartbeats."""
        listener = asyncio.create_task(self.bus.run(), name="live notices listener")
        try:
            async with self.bus.subscribe() as notices:
                async for notice in notices:
                    self.apply(notice, self.clock.now())
        finally:
            await self.bus.close()
            try:
                await asyncio.wait_for(listener, timeout=5)  # a hung server never holds the shutdown
            except TimeoutError:
                log.warning("live notices: listener stopped by force")

    async def close(self) -> None:
        self.close_streams()
        await self.bus.close()
