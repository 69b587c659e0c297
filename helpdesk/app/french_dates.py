"""French wording of instants for what staff and requesters read (Europe/Paris wall clock)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre")


def fr_datetime(value: datetime, tz: ZoneInfo = PARIS) -> str:
    """``vendredi 6 mars 2026 à 17 h 30`` (local time of the centre)."""
    local = value.astimezone(tz)
    day = "1er" if local.day == 1 else str(local.day)
    return f"{DAYS[local.weekday()]} {day} {MONTHS[local.month - 1]} {local.year} à {local.hour} h {local.minute:02d}"
