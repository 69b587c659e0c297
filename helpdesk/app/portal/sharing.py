"""Which organisations let their agents see each other's tickets in the portal: a flag staff set (off by default)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlmodel import col

from helpdesk.db import store
from helpdesk.db.engine import Database
from helpdesk.db.tables import Contact, Organization
from helpdesk.domain.errors import NotFound
from helpdesk.domain.events import EventKind
from helpdesk.domain.values import ActorKind
from helpdesk.ports import Clock

LIST_LIMIT = 500


@dataclass(frozen=True, slots=True)
class OrgShareRow:
    """An organisation on the sharing admin page and in `helpdesk portal orgs`."""

    id: int
    name: str
    kind: str
    contacts: int  # how many contacts it has
    shared: bool  # its agents see each other's tickets in the portal


class OrgSharing:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def organizations(self, q: str = "") -> list[OrgShareRow]:
        """Organisations (name contains ``q``), with their number of contacts and their flag."""
        async with self.db.transaction() as s:
            stmt = (select(Organization, func.count(col(Contact.id)))
                    .join(Contact, col(Contact.organization_id) == col(Organization.id), isouter=True)
                    .group_by(col(Organization.id)).order_by(col(Organization.name)).limit(LIST_LIMIT))
            if q.strip():
                stmt = stmt.where(col(Organization.name).ilike(f"%{q.strip()[:100]}%"))
            rows = (await s.execute(stmt)).all()
        return [OrgShareRow(id=o.id or 0, name=o.name, kind=o.kind, contacts=n, shared=o.portal_shared)
                for o, n in rows]

    async def set_shared(self, org_id: int, shared: bool, *, staff_id: int | None = None) -> str:
        """Turn the flag on or off (audited); returns the organisation's name."""
        async with self.db.transaction() as s:
            org = await s.get(Organization, org_id) if 0 < org_id <= store.MAX_ID else None
            if org is None:
                raise NotFound(f"organisation n° {org_id} introuvable")
            if org.portal_shared != shared:
                org.portal_shared = shared
                await store.record_event(s, kind=EventKind.PORTAL_SHARING, now=self.clock.now(), ticket_id=None,
                                         actor_kind=ActorKind.STAFF if staff_id else ActorKind.SYSTEM,
                                         actor_id=staff_id, organization=org_id, shared=shared)
            return org.name
