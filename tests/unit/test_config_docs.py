"""Every setting is documented in the README's configuration table, and `helpdesk config` prints env values."""

from __future__ import annotations

import re
from pathlib import Path

from helpdesk.config import Settings, env_value

README = Path(__file__).resolve().parents[2] / "README.md"


def documented() -> set[str]:
    """Variables named in the README table; `HELPDESK_SMTP_RELAY_HOST` / `_PORT` stands for HELPDESK_SMTP_RELAY_PORT
    (or HELPDESK_SMTP_PORT: both readings are counted, the check is that none is missing)."""
    names: set[str] = set()
    for line in README.read_text(encoding="utf-8").splitlines():
        if not line.startswith("| `HELPDESK_"):
            continue
        first_cell = line.split("|")[1]
        bases: list[str] = []
        for token in re.findall(r"`([A-Z_]+)`", first_cell):
            if token.startswith("HELPDESK_"):
                names.add(token)
                bases = ["_".join(token.split("_")[:2]), token.rsplit("_", 1)[0]]  # HELPDESK_SMTP, HELPDESK_SMTP_RELAY
            elif token.startswith("_"):
                names.update(base + token for base in bases)
    return names


def test_every_setting_is_in_the_readme() -> None:
    expected = {f"HELPDESK_{name.upper()}" for name in Settings.model_fields}
    assert sorted(expected - documented()) == []


def test_values_are_written_as_in_the_environment() -> None:
    assert [env_value(v) for v in (None, True, False, ["a@x.fr", "b@x.fr"], [], 60.0, 0.5, 8080, "Assistance CRAIG")] \
        == ["", "true", "false", "a@x.fr,b@x.fr", "", "60", "0.5", "8080", "Assistance CRAIG"]
