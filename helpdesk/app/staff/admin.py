"""Staff accounts and teams as an administrator manages them: list, activate, roles, teams, availability.

Accounts are created by ``UserService.add`` (the same use case as ``helpdesk user add``). Every change
writes an audit event (no ticket) in the same transaction, naming the administrator who made it. Two
guards keep the service manageable: an administrator cannot deactivate or demote themselves, and the
last active administrator stays one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from helpdesk.db import store
from helpdesk.db.engine import Database
from helpdesk.db.tables import StaffUser, Team, TeamMember
from helpdesk.domain.errors import Conflict, ErrorCode, NotFound, ValidationError
from helpdesk.domain.events import EventKind
from helpdesk.domain.values import ActorKind, StaffRole
from helpdesk.ports import Clock

STAFF_CHANGED = EventKind.STAFF_CHANGED
TEAM_CREATED = EventKind.TEAM_CREATED
TEAM_RENAMED = EventKind.TEAM_RENAMED
TEAM_MEMBERS = EventKind.TEAM_MEMBERS_CHANGED
MAX_TEAM_NAME = 80


@dataclass(frozen=True, slots=True)
class StaffRow:
    id: int
    email: str
    name: str
    role: str
    is_active: bool
    available: bool
    teams: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TeamRow:
    id: int
    name: str
    members: tuple[int, ...]


class StaffAdmin:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def staff(self) -> list[StaffRow]:
        async with self.db.transaction() as s:
            users = (await s.scalars(select(StaffUser).order_by(col(StaffUser.is_active).desc(),
                                                                col(StaffUser.name)))).all()
            pairs = (await s.execute(select(col(TeamMember.staff_id), col(Team.name)).join(
                Team, col(Team.id) == col(TeamMember.team_id)).order_by(col(Team.name)))).all()
        teams: dict[int, list[str]] = {}
        for staff_id, name in pairs:
            teams.setdefault(staff_id, []).append(name)
        return [StaffRow(u.id or 0, u.email, u.name, u.role, u.is_active, u.available, tuple(teams.get(u.id or 0, [])))
                for u in users]

    async def teams(self) -> list[TeamRow]:
        async with self.db.transaction() as s:
            teams = (await s.scalars(select(Team).order_by(col(Team.name)))).all()
            members = (await s.execute(select(col(TeamMember.team_id), col(TeamMember.staff_id)))).all()
        by_team: dict[int, list[int]] = {}
        for team_id, staff_id in members:
            by_team.setdefault(team_id, []).append(staff_id)
        return [TeamRow(t.id or 0, t.name, tuple(sorted(by_team.get(t.id or 0, [])))) for t in teams]

    async def update(self, staff_id: int, actor: int, *, role: StaffRole | None = None, active: bool | None = None,
                     available: bool | None = None, name: str | None = None) -> dict[str, Any]:
        """Change what is given; returns the changes ({field: [old, new]}), also written to the audit log."""
        async with self.db.transaction() as s:
            user = await s.get(StaffUser, staff_id)
            if user is None:
                raise NotFound(f"staff user {staff_id} not found", code=ErrorCode.STAFF_NOT_FOUND, id=staff_id)
            changes: dict[str, Any] = {}
            if name is not None and name.strip() and name.strip() != user.name:
                changes["name"] = [user.name, name.strip()[:120]]
                user.name = name.strip()[:120]
            if role is not None and role.value != user.role:
                if staff_id == actor:
                    raise ValidationError("you cannot change your own role", code=ErrorCode.OWN_ROLE)
                if user.role == StaffRole.ADMIN.value:
                    await self._keep_an_admin(s, staff_id)
                changes["role"] = [user.role, role.value]
                user.role = role.value
            if active is not None and active != user.is_active:
                if staff_id == actor and not active:
                    raise ValidationError("you cannot deactivate your own account", code=ErrorCode.OWN_DEACTIVATION)
                if not active and user.role == StaffRole.ADMIN.value:
                    await self._keep_an_admin(s, staff_id)
                changes["is_active"] = [user.is_active, active]
                user.is_active = active
            if available is not None and available != user.available:
                changes["available"] = [user.available, available]
                user.available = available
            if changes:
                await store.record_event(s, kind=STAFF_CHANGED, now=self.clock.now(), ticket_id=None,
                                         actor_kind=ActorKind.STAFF, actor_id=actor, staff_id=staff_id,
                                         changes=changes)
            return changes

    async def create_team(self, name: str, actor: int) -> int:
        name = _team_name(name)
        async with self.db.transaction() as s:
            await self._name_free(s, name)
            team = Team(name=name)
            s.add(team)
            await s.flush()
            assert team.id is not None
            await store.record_event(s, kind=TEAM_CREATED, now=self.clock.now(), ticket_id=None,
                                     actor_kind=ActorKind.STAFF, actor_id=actor, team_id=team.id, name=name)
            return team.id

    async def rename_team(self, team_id: int, name: str, actor: int) -> None:
        name = _team_name(name)
        async with self.db.transaction() as s:
            team = await s.get(Team, team_id)
            if team is None:
                raise NotFound(f"team {team_id} not found", code=ErrorCode.TEAM_NOT_FOUND, id=team_id)
            if team.name == name:
                return
            await self._name_free(s, name)
            old, team.name = team.name, name
            await store.record_event(s, kind=TEAM_RENAMED, now=self.clock.now(), ticket_id=None,
                                     actor_kind=ActorKind.STAFF, actor_id=actor, team_id=team_id, old=old, new=name)

    async def set_members(self, team_id: int, staff_ids: set[int], actor: int) -> None:
        """The team's members become exactly ``staff_ids`` (leads stay leads while they stay members)."""
        async with self.db.transaction() as s:
            if await s.get(Team, team_id) is None:
                raise NotFound(f"team {team_id} not found", code=ErrorCode.TEAM_NOT_FOUND, id=team_id)
            known = {i for i in (await s.scalars(select(col(StaffUser.id)).where(
                col(StaffUser.id).in_(sorted(staff_ids))))).all() if i is not None}
            if known != staff_ids:
                raise NotFound(f"staff user {min(staff_ids - known)} not found", code=ErrorCode.STAFF_NOT_FOUND,
                               id=min(staff_ids - known))
            current = set((await s.scalars(select(col(TeamMember.staff_id)).where(
                col(TeamMember.team_id) == team_id))).all())
            added, removed = staff_ids - current, current - staff_ids
            if not added and not removed:
                return
            if removed:
                await s.execute(delete(TeamMember).where(col(TeamMember.team_id) == team_id,
                                                         col(TeamMember.staff_id).in_(sorted(removed))))
            for staff_id in sorted(added):
                s.add(TeamMember(team_id=team_id, staff_id=staff_id))
            await store.record_event(s, kind=TEAM_MEMBERS, now=self.clock.now(), ticket_id=None,
                                     actor_kind=ActorKind.STAFF, actor_id=actor, team_id=team_id,
                                     added=sorted(added), removed=sorted(removed))

    @staticmethod
    async def _keep_an_admin(s: AsyncSession, leaving: int) -> None:
        others = await s.scalar(select(func.count()).select_from(StaffUser).where(
            col(StaffUser.role) == StaffRole.ADMIN.value, col(StaffUser.is_active).is_(True),
            col(StaffUser.id) != leaving))
        if not others:
            raise ValidationError("the last active administrator must stay one", code=ErrorCode.LAST_ADMIN)

    @staticmethod
    async def _name_free(s: AsyncSession, name: str) -> None:
        # SQLite's lower() only folds ASCII: the exact name is checked too, or « DÙ » twice would reach the
        # unique index (an integrity error instead of a clear refusal).
        same = select(col(Team.id)).where(or_(func.lower(col(Team.name)) == name.lower(), col(Team.name) == name))
        if (await s.scalars(same)).first() is not None:
            raise Conflict(f"a team named {name} already exists", code=ErrorCode.TEAM_EXISTS, name=name)


def _team_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise ValidationError("a team needs a name", code=ErrorCode.TEAM_NAME_EMPTY)
    if len(name) > MAX_TEAM_NAME:
        raise ValidationError(f"a team name has at most {MAX_TEAM_NAME} characters", code=ErrorCode.TEAM_NAME_TOO_LONG,
                              max=MAX_TEAM_NAME)
    return name
