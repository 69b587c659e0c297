"""Login throttling: an exponential slow-down per account, per client address and per known device.

Every attempt is counted *before* the password is checked, by one compare-and-set UPDATE (or an
INSERT … ON CONFLICT DO NOTHING for a first attempt) that succeeds only if the key is not slowed down
and nobody counted in between. Thirty concurrent attempts therefore cannot all pass a "below the limit"
check: exactly ``free`` of them reach the password check, the others are told to wait (429).

There is no hard lock. After ``free`` attempts each further one is allowed only after a wait that
doubles (1 s, 2 s, 4 s… up to 15 minutes) and a successful login clears the account's counter. A
browser that signed in to the account before (a known device, by cookie) is counted under its own key,
so a stranger hammering an address slows the stranger down, not the staff member at their usual desk.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col

from helpdesk.app.ratelimit import Throttled
from helpdesk.db.engine import Database
from helpdesk.db.tables_login import LoginThrottle as Row
from helpdesk.ports import Clock

FREE_PER_ACCOUNT = 5
FREE_PER_CLIENT = 30
FREE_PER_DEVICE = 10
FIRST_WAIT = timedelta(seconds=1)
MAX_WAIT = timedelta(minutes=15)
QUIET_RESET = timedelta(hours=24)  # a key unused this long starts again from zero
_CAS_TRIES = 20


def wait_after(attempts: int, free: int) -> timedelta:
    """How long the key must wait after its ``attempts``-th counted attempt (pure)."""
    if attempts < free:
        return timedelta(0)
    exponent = min(attempts - free, 20)
    wait: timedelta = min(MAX_WAIT, FIRST_WAIT * (2**exponent))
    return wait


def account_key(email: str) -> str:
    return "account:" + email.strip().lower()[:320]


def client_key(address: str) -> str:
    return "client:" + address[:64]


def device_key(token: str) -> str:
    return "device:" + hashlib.sha256(token.encode()).hexdigest()


def _throttled(until: datetime, now: datetime) -> Throttled:
    seconds = max(1, math.ceil((until - now).total_seconds()))
    return Throttled(f"trop de tentatives de connexion : réessayez dans {seconds} seconde(s)", seconds)


class LoginThrottle:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def acquire(self, key: str, free: int) -> None:
        """Count one attempt for ``key``, or raise Throttled while the key must wait."""
        for _ in range(_CAS_TRIES):
            now = self.clock.now()
            async with self.db.transaction() as s:
                current = (await s.execute(
                    select(col(Row.attempts), col(Row.last_at), col(Row.blocked_until)).where(col(Row.key) == key)
                )).first()
                if current is None:
                    insert = sqlite_insert(Row) if self.db.is_sqlite else pg_insert(Row)
                    stmt = insert.values(key=key, attempts=1, last_at=now,
                                         blocked_until=_until(now, wait_after(1, free)))
                    done = (await s.execute(stmt.on_conflict_do_nothing().returning(col(Row.key)))).first()
                    if done is not None:
                        return
                    continue  # someone inserted first: count against their row
                attempts, last_at, blocked_until = current
                if blocked_until is not None and blocked_until > now:
                    raise _throttled(blocked_until, now)
                new = 1 if now - last_at > QUIET_RESET else attempts + 1
                done = (await s.execute(
                    update(Row)
                    .where(col(Row.key) == key, col(Row.attempts) == attempts, col(Row.last_at) == last_at,
                           or_(col(Row.blocked_until).is_(None), col(Row.blocked_until) <= now))
                    .values(attempts=new, last_at=now, blocked_until=_until(now, wait_after(new, free)))
                    .returning(col(Row.key))
                )).first()
                if done is not None:
                    return
        raise _throttled(self.clock.now() + FIRST_WAIT, self.clock.now())  # heavy contention: wait a little

    async def clear(self, key: str) -> None:
        """A successful login: the key starts again from zero."""
        async with self.db.transaction() as s:
            await s.execute(delete(Row).where(col(Row.key) == key))

    async def refund(self, key: str) -> None:
        """A successful login from a shared address does not count against that address."""
        async with self.db.transaction() as s:
            await s.execute(update(Row).where(col(Row.key) == key, col(Row.attempts) > 0)
                            .values(attempts=col(Row.attempts) - 1))


def _until(now: datetime, wait: timedelta) -> datetime | None:
    return now + wait if wait else None
