"""Small queries and writes shared by the use cases (inside a caller's transaction)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from pydantic_core import PydanticUndefined
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped
from sqlmodel import SQLModel, col

from helpdesk.db.engine import note_audit
from helpdesk.db.tables import Blob, Counter, Event, Message, Organization, Ticket
from helpdesk.domain.errors import ErrorCode, NotFound
from helpdesk.domain.events import EventKind
from helpdesk.domain.values import ActorKind

FIRST_TICKET_NUMBER = 1000
M = TypeVar("M", bound=SQLModel)


def id_col(column: int | None) -> Mapped[int]:
    """A primary key in a query, typed as the stored rows have it: never NULL.

    SQLModel types every ``id`` ``int | None`` because an unsaved object has none; a selected key always
    has one, so ``select(id_col(Ticket.id))`` yields ``int`` rows without a check at each use.
    """
    return cast("Mapped[int]", col(column))


async def reserve_ticket_numbers(s: AsyncSession, count: int) -> list[int]:
    """Atomically take the next ``count`` human ticket numbers (one UPDATE … RETURNING on both backends)."""
    if count <= 0:
        return []
    result = await s.execute(
        update(Counter).where(col(Counter.name) == "ticket").values(value=col(Counter.value) + count)
        .returning(col(Counter.value))
    )
    last = result.scalar_one_or_none()
    if last is None:
        # First ticket ever: start above any number already used (imports, merges).
        top = await s.scalar(select(func.max(Ticket.number)))
        first = max(FIRST_TICKET_NUMBER, (top or 0) + 1)
        last = first + count - 1
        s.add(Counter(name="ticket", value=last))
        await s.flush()
    return list(range(int(last) - count + 1, int(last) + 1))


def new_public_ref() -> str:
    return secrets.token_urlsafe(18)


def blob_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def put_blob(s: AsyncSession, data: bytes, now: datetime) -> str:
    """Store bytes once, keyed by their sha256: one INSERT … ON CONFLICT DO NOTHING, no read first."""
    return (await put_blobs(s, [data], now))[0]


async def put_blobs(s: AsyncSession, items: Iterable[bytes], now: datetime) -> list[str]:
    """Store many contents in one statement (ON CONFLICT DO NOTHING); their digests, in order."""
    datas = list(items)
    digests = [blob_digest(d) for d in datas]
    rows = list({dg: {"sha256": dg, "size": len(d), "data": d, "created_at": now}
                 for dg, d in zip(digests, datas, strict=True)}.values())
    if rows:
        # The dialect's INSERT is imported here, not at the top: the PostgreSQL dialect is a large import that
        # a short command on SQLite does not need (once loaded, the import is a dictionary look-up).
        if s.get_bind().dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            await s.execute(pg_insert(Blob).on_conflict_do_nothing(index_elements=["sha256"]), rows)
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            await s.execute(sqlite_insert(Blob).on_conflict_do_nothing(index_elements=["sha256"]), rows)
    return digests


async def get_blob(s: AsyncSession, digest: str) -> bytes:
    blob = await s.get(Blob, digest)
    if blob is None:
        raise NotFound(f"no stored content {digest[:12]}")
    return blob.data


MAX_ID = 2**31 - 1  # ids and numbers are 32-bit integer columns on PostgreSQL


async def ticket_by_number(s: AsyncSession, number: int, *, lock: bool = False) -> Ticket:
    if not 0 < number <= MAX_ID:
        raise NotFound(f"ticket #{number} not found", code=ErrorCode.TICKET_NOT_FOUND, number=number)
    stmt = select(Ticket).where(col(Ticket.number) == number)
    if lock:
        stmt = stmt.with_for_update()
    ticket = (await s.scalars(stmt)).first()
    if ticket is None:
        raise NotFound(f"ticket #{number} not found", code=ErrorCode.TICKET_NOT_FOUND, number=number)
    return ticket


async def record_event(
    s: AsyncSession,
    *,
    kind: EventKind | str,
    now: datetime,
    ticket_id: int | None,
    actor_kind: ActorKind = ActorKind.SYSTEM,
    actor_id: int | None = None,
    **data: Any,
) -> Event:
    ev = Event(
        ticket_id=ticket_id,
        kind=str(kind),
        actor_kind=actor_kind.value,
        actor_id=actor_id,
        data=data,
        created_at=now,
    )
    s.add(ev)
    note_audit(s, [(ticket_id, ev.kind)])  # the live queue hears of it once the transaction commits
    return ev


_DEFAULTS: dict[type[SQLModel], list[tuple[str, Any, Callable[[], Any] | None]]] = {}


def with_defaults(model: type[M], values: dict[str, Any]) -> dict[str, Any]:
    """A full row for a bulk INSERT: the model's defaults (as its constructor would set them) and ``values``."""
    fields = _DEFAULTS.get(model)
    if fields is None:  # read once per model: pydantic's get_default inspects the factory at every call
        # The tables' default factories take no argument (none reads the other fields: pydantic allows both).
        fields = [(name, info.default, cast("Callable[[], Any] | None", info.default_factory))
                  for name, info in model.model_fields.items() if name != "id"]
        _DEFAULTS[model] = fields
    return {name: values[name] if name in values else (factory() if factory is not None else default)
            for name, default, factory in fields if name in values or factory is not None
            or default is not PydanticUndefined}


async def insert_returning(s: AsyncSession, model: type[M], rows: Sequence[dict[str, Any]]) -> list[M]:
    """Insert many rows in one statement and return them as ORM objects of the session, in the order given.

    PostgreSQL pairs the ids its sequence hands out with the rows (SQLAlchemy's insertmanyvalues).
    SQLite cannot (SQLAlchemy would then send one INSERT a row), so there the ids are given here:
    max(id) + 1, + 2, … — exactly what SQLite would pick, and safe because every transaction starts
    with BEGIN IMMEDIATE (one writer at a time); the returned rows are put back in order by id.
    """
    if not rows:
        return []
    full = [with_defaults(model, r) for r in rows]
    if s.get_bind().dialect.name != "sqlite":
        result = await s.scalars(insert(model).returning(model, sort_by_parameter_order=True), full)
        return list(result.all())
    table_id = model.__table__.c.id  # type: ignore[attr-defined]
    top = int(await s.scalar(select(func.coalesce(func.max(table_id), 0))) or 0)
    for i, row in enumerate(full, start=top + 1):
        row["id"] = i
    objects = list((await s.scalars(insert(model).returning(model), full)).all())  # in any order: sort by id
    return sorted(objects, key=lambda o: o.id)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class EventRow:
    """An audit event not yet written: intake writes those of a whole batch in one statement."""

    ticket_id: int | None
    kind: str
    actor_kind: str
    actor_id: int | None
    data: dict[str, Any]
    created_at: datetime


def event_row(
    *, kind: EventKind | str, now: datetime, ticket_id: int | None, actor_kind: ActorKind = ActorKind.SYSTEM,
    actor_id: int | None = None, **data: Any,
) -> EventRow:
    return EventRow(ticket_id, str(kind), actor_kind.value, actor_id, data, now)


async def insert_events(s: AsyncSession, rows: Sequence[EventRow]) -> None:
    """Write events in order (their ids follow the list) in one executemany, without reading ids back."""
    if rows:
        note_audit(s, [(r.ticket_id, r.kind) for r in rows])
        await s.execute(insert(Event), [
            {"ticket_id": r.ticket_id, "kind": r.kind, "actor_kind": r.actor_kind, "actor_id": r.actor_id,
             "data": r.data, "created_at": r.created_at} for r in rows
        ])


async def find_or_create_organization(
    s: AsyncSession, *, name: str, kind: str, insee_code: str | None, siren: str | None,
    departement: str | None, pays: str | None, now: datetime,
) -> Organization:
    org: Organization | None = None
    if siren:
        org = (await s.scalars(select(Organization).where(col(Organization.siren) == siren))).first()
    if org is None and insee_code:
        org = (await s.scalars(select(Organization).where(col(Organization.insee_code) == insee_code))).first()
    if org is None:
        org = (await s.scalars(select(Organization).where(func.lower(Organization.name) == name.lower()))).first()
    if org is None:
        org = Organization(
            name=name, kind=kind, insee_code=insee_code, siren=siren,
            departement=departement, pays=pays, created_at=now,
        )
        s.add(org)
        await s.flush()
    return org


async def tickets_for_message_ids(s: AsyncSession, ids: Iterable[str]) -> dict[str, int]:
    """Map each known message id (inbound or outbound, any channel) to its ticket id."""
    wanted = [i for i in ids if i]
    if not wanted:
        return {}
    rows = await s.execute(select(col(Message.external_id), col(Message.ticket_id))
                           .where(col(Message.external_id).in_(wanted)))
    return {str(ext): int(tid) for ext, tid in rows.all()}


async def is_participant(s: AsyncSession, ticket: Ticket, contact_id: int) -> bool:
    if ticket.requester_id == contact_id:
        return True
    found = await s.scalar(
        select(col(Message.id)).where(col(Message.ticket_id) == ticket.id,
            col(Message.author_contact_id) == contact_id).limit(1)
    )
    return found is not None


ACCESS_AUDIT_WINDOW = timedelta(minutes=30)


async def record_staff_access(s: AsyncSession, ticket: Ticket, staff_id: int, now: datetime, via: str) -> None:
    """Audit a staff member reading a ticket (RGPD), at most once per ticket and person per half hour."""
    recent = await s.scalar(
        select(col(Event.id))
        .where(col(Event.ticket_id) == ticket.id, col(Event.kind) == EventKind.VIEWED.value,
               col(Event.actor_id) == staff_id)
        .where(col(Event.created_at) >= now - ACCESS_AUDIT_WINDOW)
        .limit(1)
    )
    if recent is None:
        await record_event(s, kind=EventKind.VIEWED, now=now, ticket_id=ticket.id, actor_kind=ActorKind.STAFF,
                           actor_id=staff_id, via=via)
