"""The staff password policy: long enough, not common, not trivial (pure rules, a bundled list, no network).

Refused, with the reason in French:
- fewer than MIN_LENGTH (12) characters, or more than MAX_LENGTH (the hash input stays bounded);
- one of the 10,000 most common passwords (common_passwords.txt), also once decorated: case, digits,
  years and punctuation around a common word ("Password2024!", "dragon123456");
- trivial: few distinct characters, a keyboard or alphabet run, one short block repeated;
- the account's own address or name in it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

from helpdesk.domain.errors import ValidationError

MIN_LENGTH = 12
MAX_LENGTH = 256
MIN_DISTINCT = 5
_RUNS = ("abcdefghijklmnopqrstuvwxyz", "0123456789", "azertyuiopqsdfghjklmwxcvbn", "qwertyuiopasdfghjklzxcvbnm",
         "1234567890")
_DECORATION = re.compile(r"^[\W\d_]*(.*?)[\W\d_]*$")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    text = resources.files("helpdesk.app.staff").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def _is_run(text: str) -> bool:
    """Every character follows the previous one along the alphabet, the digits or a keyboard row (either way)."""
    for run in _RUNS:
        if len(text) < 2 or any(c not in run for c in text):
            continue
        steps = {(run.index(b) - run.index(a)) % len(run) for a, b in zip(text, text[1:], strict=False)}
        if steps in ({1}, {len(run) - 1}):
            return True
    return False


def _repeated_block(text: str) -> bool:
    return re.fullmatch(r"(.{1,6}?)\1+", text) is not None


def problem(password: str, *, email: str = "", name: str = "") -> str | None:
    """Why this password is refused (French), or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"le mot de passe doit compter au moins {MIN_LENGTH} caractères"
    if len(password) > MAX_LENGTH:
        return f"le mot de passe doit compter au plus {MAX_LENGTH} caractères"
    lowered = password.lower()
    core = _DECORATION.sub(r"\1", lowered)
    common = common_passwords()
    if lowered in common or core in common or lowered.replace(" ", "") in common:
        return "ce mot de passe fait partie des plus courants : choisissez-en un autre"
    trivial_core = len(core) >= 6 and _is_run(core)
    if len(set(lowered)) < MIN_DISTINCT or _repeated_block(lowered) or _is_run(lowered) or trivial_core:
        return "ce mot de passe est trop simple (répétitions ou suite de touches) : choisissez-en un autre"
    for personal in (email.lower(), email.lower().split("@")[0], name.lower()):
        if len(personal) >= 4 and personal in lowered:
            return "le mot de passe ne doit pas contenir votre adresse ni votre nom"
    return None


def check(password: str, *, email: str = "", name: str = "") -> None:
    """Raise ValidationError (French) for a password the policy refuses."""
    reason = problem(password, email=email, name=name)
    if reason is not None:
        raise ValidationError(reason)
