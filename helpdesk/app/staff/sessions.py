"""Staff sign-in: server-side sessions, login throttling, password change and per-user API tokens.

Cookie values and API tokens are random; only their SHA-256 is stored, so a copy of the database
does not let anyone sign in.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlmodel import col

from helpdesk.app.ratelimit import RateLimiter, Throttled
from helpdesk.app.staff import passwords, throttle
from helpdesk.app.staff.accounts import UserService, hash_password, verify_password
from helpdesk.db.engine import Database
from helpdesk.db.tables import StaffUser
from helpdesk.db.tables_login import KnownDevice
from helpdesk.db.tables_web import ApiToken, WebSession
from helpdesk.domain.errors import NotFound, ValidationError
from helpdesk.domain.values import StaffRole
from helpdesk.ports import Clock

SESSION_IDLE = timedelta(hours=12)
SESSION_MAX = timedelta(days=7)
TOKEN_PREFIX = "hdk_"  # noqa: S105 - a public marker, not a secret


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class StaffIdentity:
    id: int
    email: str
    name: str
    role: str
    csrf_token: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == StaffRole.ADMIN.value


def _identity(user: StaffUser, csrf: str | None = None) -> StaffIdentity:
    assert user.id is not None
    return StaffIdentity(user.id, user.email, user.name or user.email, user.role, csrf)


@dataclass(frozen=True, slots=True)
class TokenView:
    """An API token as its owner sees it (never the secret)."""

    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True)
class StaffChoice:
    """An active staff member in an assignment menu."""

    id: int
    name: str
    email: str
    role: str


class AuthService:
    def __init__(self, db: Database, clock: Clock, users: UserService, *, trusted_proxies: Sequence[str] = ()) -> None:
        self.trusted_proxies = list(trusted_proxies)  # the proxies whose X-Forwarded-For names the client
        self.db = db
        self.clock = clock
        self.users = users
        self.limits = RateLimiter(db, clock)
        self.throttle = throttle.LoginThrottle(db, clock)

    # ---- sessions ------------------------------------------------------------------------
    async def login(self, email: str, password: str, client: str,
                    device: str | None = None) -> tuple[str, StaffIdentity] | None:
        """A new session token for good credentials, None for bad ones; Throttled while slowed down.

        ``device`` is the known-device cookie: a browser that signed in to this account before is
        counted under its own key, not the account's or the address's (helpdesk/app/staff/throttle.py).
        """
        account = email.strip().lower()
        known = device is not None and await self.known_device(device, account)
        keys = [throttle.device_key(device)] if known and device else [throttle.account_key(account),
                                                                        throttle.client_key(client)]
        frees = [throttle.FREE_PER_DEVICE] if known else [throttle.FREE_PER_ACCOUNT, throttle.FREE_PER_CLIENT]
        for key, free in zip(keys, frees, strict=True):
            await self.throttle.acquire(key, free)
        user = await self.users.authenticate(account, password)
        if user is None:
            return None
        await self.throttle.clear(keys[0])
        if not known:
            await self.throttle.refund(keys[1])
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(24)
        now = self.clock.now()
        async with self.db.transaction() as s:
            await s.execute(delete(WebSession).where(col(WebSession.expires_at) < now))
            assert user.id is not None
            s.add(WebSession(id=_digest(token), staff_id=user.id, csrf_token=csrf, created_at=now,
                             last_seen_at=now, expires_at=now + SESSION_IDLE))
        return token, _identity(user, csrf)

    async def session(self, token: str) -> StaffIdentity | None:
        """The signed-in staff member for a cookie value, sliding the idle expiry forward."""
        if not token:
            return None
        now = self.clock.now()
        async with self.db.transaction() as s:
            row = await s.get(WebSession, _digest(token))
            if row is None or row.expires_at <= now or row.created_at + SESSION_MAX <= now:
                return None
            user = await s.get(StaffUser, row.staff_id)
            if user is None or not user.is_active:
                return None
            if now - row.last_seen_at > timedelta(minutes=1):
                row.last_seen_at = now
                row.expires_at = min(now + SESSION_IDLE, row.created_at + SESSION_MAX)
            return _identity(user, row.csrf_token)

    async def remember_device(self, staff_id: int) -> str:
        """A new known-device cookie value for a browser that just signed in."""
        token = secrets.token_urlsafe(32)
        now = self.clock.now()
        async with self.db.transaction() as s:
            s.add(KnownDevice(token_hash=_digest(token), staff_id=staff_id, created_at=now, last_used_at=now))
        return token

    async def known_device(self, token: str, email: str) -> bool:
        """True when this cookie belongs to a browser that signed in to ``email`` before."""
        if not token or len(token) > 100:
            return False
        async with self.db.transaction() as s:
            row = await s.get(KnownDevice, _digest(token))
            user = await s.get(StaffUser, row.staff_id) if row is not None else None
            if row is None or user is None or user.email.lower() != email:
                return False
            row.last_used_at = self.clock.now()
            return True

    async def logout(self, token: str) -> None:
        async with self.db.transaction() as s:
            await s.execute(delete(WebSession).where(col(WebSession.id) == _digest(token)))

    async def change_password(self, staff_id: int, old: str, new: str, keep_token: str) -> None:
        """Check the old password, store the new one, end every other session and revoke every API token.

        A token made with the old password must not outlive it: whoever changes a password because it
        leaked expects every door it opened to close.
        """
        async with self.db.transaction() as s:
            user = await s.get(StaffUser, staff_id)
            if user is None:
                raise NotFound("compte introuvable")
            if not verify_password(user.password_hash, old):
                raise ValidationError("le mot de passe actuel est incorrect")
            passwords.check(new, email=user.email, name=user.name or "")
            user.password_hash = hash_password(new)
            await s.execute(
                delete(WebSession).where(col(WebSession.staff_id) == staff_id,
                    col(WebSession.id) != _digest(keep_token))
            )
            await s.execute(update(ApiToken)
                            .where(col(ApiToken.staff_id) == staff_id, col(ApiToken.revoked_at).is_(None))
                            .values(revoked_at=self.clock.now()))

    # ---- API tokens ----------------------------------------------------------------------
    async def create_api_token(self, staff_id: int, name: str) -> str:
        """A new token, shown once to its owner."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        async with self.db.transaction() as s:
            s.add(ApiToken(staff_id=staff_id, name=name.strip()[:80] or "jeton", prefix=token[:12],
                           token_hash=_digest(token), created_at=self.clock.now()))
        return token

    async def api_tokens(self, staff_id: int) -> list[TokenView]:
        async with self.db.transaction() as s:
            rows = (await s.scalars(
                select(ApiToken).where(col(ApiToken.staff_id) == staff_id, col(ApiToken.revoked_at).is_(None))
                .order_by(col(ApiToken.id))
            )).all()
        out = []
        for r in rows:
            assert r.id is not None  # stored rows
            out.append(TokenView(id=r.id, name=r.name, prefix=r.prefix, created_at=r.created_at,
                                 last_used_at=r.last_used_at))
        return out

    async def revoke_api_token(self, staff_id: int, token_id: int) -> None:
        async with self.db.transaction() as s:
            row = await s.get(ApiToken, token_id)
            if row is None or row.staff_id != staff_id:
                raise NotFound("jeton introuvable")
            row.revoked_at = self.clock.now()

    async def authenticate_token(self, token: str) -> StaffIdentity | None:
        if not token.startswith(TOKEN_PREFIX):
            return None
        now = self.clock.now()
        async with self.db.transaction() as s:
            row = (await s.scalars(select(ApiToken).where(col(ApiToken.token_hash) == _digest(token)))).first()
            if row is None or row.revoked_at is not None:
                return None
            user = await s.get(StaffUser, row.staff_id)
            if user is None or not user.is_active:
                return None
            if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
                row.last_used_at = now
            return _identity(user)

    async def staff(self) -> list[StaffChoice]:
        """Active staff members, for assignment menus."""
        async with self.db.transaction() as s:
            rows = (await s.scalars(
                select(StaffUser).where(col(StaffUser.is_active).is_(True)).order_by(col(StaffUser.name))
            )).all()
        out = []
        for u in rows:
            assert u.id is not None  # stored rows
            out.append(StaffChoice(id=u.id, name=u.name or u.email, email=u.email, role=u.role))
        return out


__all__ = ["AuthService", "StaffIdentity", "Throttled"]
