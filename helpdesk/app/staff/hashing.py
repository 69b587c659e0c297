"""Password hashing (argon2), apart from the accounts' storage so that a caller can hash without loading
the database layer (the CLI hashes a new account's password while it imports the rest)."""

from __future__ import annotations

import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    return secrets.token_urlsafe(15)


@functools.cache
def dummy_hash() -> str:
    """Hashed on first use, not at import: a command that only creates an account saves one argon2 run."""
    return _hasher.hash("not-a-real-password")
