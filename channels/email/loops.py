"""Is this mail written by a machine? Pure rules over the headers, the sender and the subject.

No automatic mail is ever answered. Bounces (delivery status notifications) mark the recipient
as bouncing; other automatic mail (out-of-office, bulk) is stored without changing a ticket.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum


class MailKind(StrEnum):
    HUMAN = "human"
    AUTO_REPLY = "auto_reply"
    BULK = "bulk"
    BOUNCE = "bounce"


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: MailKind
    reason: str | None = None

    @property
    def automatic(self) -> bool:
        return self.kind is not MailKind.HUMAN


HUMAN = Verdict(MailKind.HUMAN)

_DAEMON_LOCALPARTS = frozenset({"mailer-daemon", "postmaster", "mail-daemon", "maildelivery", "mailerdaemon"})
_BOUNCE_SUBJECT = re.compile(
    r"(undeliver|delivery\s+status\s+notification|delivery\s+(?:has\s+)?failed|failure\s+notice|"
    r"returned\s+mail|mail\s+delivery\s+(?:failed|failure|system)|non\s+remis|non\s+distribu|"
    r"échec\s+de\s+(?:la\s+)?(?:remise|distribution)|rapport\s+de\s+non-?remise|unzustellbar)",
    re.IGNORECASE,
)
_OOO_SUBJECT = re.compile(
    r"(réponse\s+automatique|reponse\s+automatique|absence\s+du\s+bureau|message\s+d'absence|"
    r"out\s+of\s+(?:the\s+)?office|automatic\s+reply|auto(?:matic)?[-\s]?reply|autoreply|"
    r"abwesenheitsnotiz|automatische\s+antwort|je\s+suis\s+absente?\b|en\s+congés?\b.*jusqu)",
    re.IGNORECASE,
)
_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply", "auto-reply"})


def _first(headers: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = headers.get(name.lower())
    return values[0].strip() if values else None


def classify(
    headers: Mapping[str, Sequence[str]],
    *,
    sender: str | None,
    subject: str,
    content_type: str = "text/plain",
    report_type: str | None = None,
    envelope_sender: str | None = None,
) -> Verdict:
    """Classify one message. ``headers`` maps lower-case names to every value of that header."""
    local = (sender or "").split("@", 1)[0].lower()
    if content_type.lower() == "multipart/report" and (report_type or "").lower() == "disposition-notification":
        return Verdict(MailKind.AUTO_REPLY, "read receipt (disposition-notification, RFC 8098)")
    if content_type.lower() == "multipart/report" and (report_type or "").lower() in {"delivery-status", ""}:
        return Verdict(MailKind.BOUNCE, "delivery status notification (multipart/report)")
    if _first(headers, "x-failed-recipients"):
        return Verdict(MailKind.BOUNCE, "X-Failed-Recipients header")
    if local in _DAEMON_LOCALPARTS:
        if _BOUNCE_SUBJECT.search(subject or ""):
            return Verdict(MailKind.BOUNCE, f"bounce from {local}")
        return Verdict(MailKind.AUTO_REPLY, f"sent by {local}")
    if envelope_sender == "" and _BOUNCE_SUBJECT.search(subject or ""):
        return Verdict(MailKind.BOUNCE, "null envelope sender and a bounce subject")
    auto_submitted = _first(headers, "auto-submitted")
    if auto_submitted and auto_submitted.split(";", 1)[0].strip().lower() != "no":
        return Verdict(MailKind.AUTO_REPLY, f"Auto-Submitted: {auto_submitted[:40]}")
    for name in ("x-autoreply", "x-autorespond", "x-auto-response-suppress"):
        value = _first(headers, name)
        if value is not None and value.lower() not in {"", "no", "none", "false"}:
            return Verdict(MailKind.AUTO_REPLY, f"{name} header")
    precedence = (_first(headers, "precedence") or "").lower()
    if precedence in _PRECEDENCE:
        return Verdict(MailKind.BULK, f"Precedence: {precedence}")
    if _OOO_SUBJECT.search(subject or ""):
        return Verdict(MailKind.AUTO_REPLY, "out-of-office subject")
    if envelope_sender == "":
        return Verdict(MailKind.AUTO_REPLY, "null envelope sender")
    return HUMAN


_STATUS = re.compile(r"^\s*([245])\.\d{1,3}\.\d{1,3}")


def is_permanent_failure(action: str | None, status: str | None) -> bool:
    """A DSN recipient block that says the address does not work (not a delay)."""
    if status:
        m = _STATUS.match(status)
        if m:
            return m.group(1) == "5"
    return (action or "").strip().lower() == "failed"
