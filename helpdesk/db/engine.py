"""The async engine and the one transaction helper every use case goes through."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, make_url, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.pool import NullPool

from helpdesk.db import sqlite_driver
from helpdesk.domain.errors import StorageUnavailable

log = logging.getLogger(__name__)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _ensure_sqlite_dir(url: str) -> None:
    path = url.split(":///", 1)[1] if ":///" in url else ""
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def make_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    if is_sqlite(url):
        _ensure_sqlite_dir(url)
        path = make_url(url).database
        if path and path != ":memory:" and not path.startswith("file:"):  # a file: one thread hop a statement
            engine = create_async_engine(url, echo=echo, async_creator=lambda: sqlite_driver.connect(
                path, timeout=30, check_same_thread=False))
        else:
            engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})
        _configure_sqlite(engine)
        return engine
    return create_async_engine(
        url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10, pool_timeout=10
    )


def make_migration_engine(url: str) -> AsyncEngine:
    if is_sqlite(url):
        _ensure_sqlite_dir(url)
        engine = create_async_engine(url, poolclass=NullPool)
        _configure_sqlite(engine)
        return engine
    return create_async_engine(url, poolclass=NullPool)


READ_ONLY = "helpdesk_read_only"  # execution option of Database.read()'s connections


def _configure_sqlite(engine: AsyncEngine) -> None:
    """WAL, foreign keys, durable commits, and BEGIN IMMEDIATE so writers queue instead of failing."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Reads (Database.read) take no write lock: WAL lets them run beside each other and a writer.
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")


TEMPORARY_DB_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    PoolTimeout,
    ConnectionError,
    OSError,
    TimeoutError,
)


def is_temporary(exc: BaseException) -> bool:
    """A storage error the sender should retry (server down, locked, connection lost)."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, TEMPORARY_DB_ERRORS):
        return True
    # asyncpg raises its own classes through SQLAlchemy's DBAPIError wrapper.
    name = type(getattr(exc, "orig", exc)).__name__
    return name in {
        "CannotConnectNowError",
        "ConnectionDoesNotExistError",
        "InterfaceError",
        "AdminShutdownError",
        "TooManyConnectionsError",
        "DeadlockDetectedError",
        "SerializationError",
    }


AUDIT_KEY = "helpdesk.audit"  # session.info: (ticket id, event kind) of the audit events written so far
_SAVEPOINTS = "helpdesk.audit_savepoints"  # session.info: savepoint -> how many audit events came before it
Audit = list[tuple[int | None, str]]


def note_audit(s: AsyncSession, events: Audit) -> None:
    """Remember audit events written in this session, for the after-commit observers."""
    s.info.setdefault(AUDIT_KEY, []).extend(events)


class AuditedSession(Session):
    """A session that forgets the audit events of a savepoint rolled back (intake's per-message savepoints)."""


@event.listens_for(AuditedSession, "after_transaction_create")
def _savepoint_started(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        session.info.setdefault(_SAVEPOINTS, {})[transaction] = len(session.info.get(AUDIT_KEY, ()))


@event.listens_for(AuditedSession, "after_soft_rollback")
def _savepoint_rolled_back(session: Session, previous: SessionTransaction) -> None:
    mark = session.info.get(_SAVEPOINTS, {}).pop(previous, None) if previous.nested else None
    if mark is not None:
        del session.info.get(AUDIT_KEY, [])[mark:]


def _raise_if_temporary(exc: Exception) -> None:
    """A temporary storage failure surfaces as StorageUnavailable (the sender retries); others unchanged."""
    if not isinstance(exc, StorageUnavailable) and is_temporary(exc):
        log.warning("storage unavailable: %s", type(exc).__name__)
        raise StorageUnavailable(f"storage unavailable: {type(exc).__name__}") from exc


class Database:
    """Owns the engine; hands out transactions that commit on success and roll back otherwise.

    ``before_commit``: awaited with the session and the audit events a transaction wrote, just before its
    commit (the live queue's PostgreSQL NOTIFY, delivered by the server only if the commit succeeds).
    ``after_commit``: callables given the audit events of each committed transaction (never of one
    rolled back); the live queue's local delivery. They must not block or raise.
    """

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = make_engine(url, echo=echo)
        self._sessions = async_sessionmaker(self.engine, class_=AsyncSession, sync_session_class=AuditedSession,
                                            expire_on_commit=False)
        self._read_sessions = async_sessionmaker(self.engine.execution_options(**{READ_ONLY: True}),
                                                 class_=AsyncSession, sync_session_class=AuditedSession,
                                                 expire_on_commit=False)
        self.before_commit: list[Callable[[AsyncSession, Audit], Awaitable[None]]] = []
        self.after_commit: list[Callable[[Audit], None]] = []

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits when the block ends normally, rolls back otherwise.

        Storage failures surface as StorageUnavailable (temporary: the sender retries).
        """
        try:
            async with self._sessions() as session:
                async with session.begin():
                    yield session
                    audit = session.info.pop(AUDIT_KEY, None)
                    session.info.pop(_SAVEPOINTS, None)
                    if audit:
                        for hook in self.before_commit:
                            await hook(session, audit)
        except Exception as exc:
            _raise_if_temporary(exc)
            raise
        if audit:
            for observer in self.after_commit:
                try:
                    observer(audit)
                except Exception:  # an observer's bug never fails a committed change
                    log.exception("after-commit observer failed")

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A transaction that only reads: on SQLite a deferred BEGIN, so readers do not queue behind each
        other for the write lock as ``transaction()`` (BEGIN IMMEDIATE) makes them. Never write in it."""
        try:
            async with self._read_sessions() as session:
                async with session.begin():
                    yield session
        except Exception as exc:
            _raise_if_temporary(exc)
            raise

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def dispose(self) -> None:
        await self.engine.dispose()
