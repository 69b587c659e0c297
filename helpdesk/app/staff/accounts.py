"""Staff accounts: creation and password checks (argon2)."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlmodel import col

from helpdesk.app.staff import passwords
from helpdesk.app.staff.hashing import dummy_hash, generate_password, hash_password, verify_password
from helpdesk.db.engine import Database
from helpdesk.db.tables import StaffUser
from helpdesk.domain.errors import Conflict, ErrorCode, ValidationError
from helpdesk.domain.values import StaffRole
from helpdesk.ports import Clock

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = passwords.MIN_LENGTH


class UserService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def add(self, email: str, role: StaffRole, password: str, name: str = "", *,
                  password_hash: str | None = None) -> int:
        """A new account; ``password_hash`` is the password's hash when the caller computed it already
        (``hash_password(password)``: the CLI hashes while it loads the database layer)."""
        email = email.strip().lower()
        if not EMAIL_RE.match(email):
            raise ValidationError(f"not an email address: {email!r}", code=ErrorCode.INVALID_EMAIL, email=email)
        passwords.check(password, email=email, name=name)
        async with self.db.transaction() as s:
            if (await s.scalars(select(StaffUser).where(col(StaffUser.email) == email))).first():
                raise Conflict(f"a staff user {email} already exists", code=ErrorCode.STAFF_EXISTS, email=email)
            user = StaffUser(
                email=email, name=name or email.split("@")[0], role=role.value,
                password_hash=password_hash or hash_password(password), created_at=self.clock.now(),
            )
            s.add(user)
            await s.flush()
            assert user.id is not None
            return user.id

    async def authenticate(self, email: str, password: str) -> StaffUser | None:
        async with self.db.transaction() as s:
            user = (await s.scalars(select(StaffUser).where(col(StaffUser.email) == email.strip().lower()))).first()
            if user is None or not user.is_active:
                verify_password(dummy_hash(), password)  # same cost whether or not the user exists
                return None
            return user if verify_password(user.password_hash, password) else None


__all__ = ["EMAIL_RE", "MIN_PASSWORD", "UserService", "generate_password", "hash_password", "verify_password"]
