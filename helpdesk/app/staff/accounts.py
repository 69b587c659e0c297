"""Staff accounts: creation and password checks (argon2)."""

from __future__ import annotations

import functools
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlmodel import col

from helpdesk.app.staff import passwords
from helpdesk.db.engine import Database
from helpdesk.db.tables import StaffUser
from helpdesk.domain.errors import Conflict, ErrorCode, ValidationError
from helpdesk.domain.values import StaffRole
from helpdesk.ports import Clock

_hasher = PasswordHasher()
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = passwords.MIN_LENGTH


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    return secrets.token_urlsafe(15)


class UserService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def add(self, email: str, role: StaffRole, password: str, name: str = "") -> int:
        email = email.strip().lower()
        if not EMAIL_RE.match(email):
            raise ValidationError(f"not an email address: {email!r}", code=ErrorCode.INVALID_EMAIL, email=email)
        passwords.check(password, email=email, name=name)
        async with self.db.transaction() as s:
            if (await s.scalars(select(StaffUser).where(col(StaffUser.email) == email))).first():
                raise Conflict(f"a staff user {email} already exists", code=ErrorCode.STAFF_EXISTS, email=email)
            user = StaffUser(
                email=email, name=name or email.split("@")[0], role=role.value,
                password_hash=hash_password(password), created_at=self.clock.now(),
            )
            s.add(user)
            await s.flush()
            assert user.id is not None
            return user.id

    async def authenticate(self, email: str, password: str) -> StaffUser | None:
        async with self.db.transaction() as s:
            user = (await s.scalars(select(StaffUser).where(col(StaffUser.email) == email.strip().lower()))).first()
            if user is None or not user.is_active:
                verify_password(_dummy_hash(), password)  # same cost whether or not the user exists
                return None
            return user if verify_password(user.password_hash, password) else None


@functools.cache
def _dummy_hash() -> str:
    """Hashed on first use, not at import: a command that only creates an account saves one argon2 run."""
    return _hasher.hash("not-a-real-password")
