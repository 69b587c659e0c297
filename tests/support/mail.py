"""The email pipeline over the real use cases, built the way bootstrap.mail_ingest builds it, for tests
that hand it their own intake (a plain IntakeService, hooks of their choosing)."""

from __future__ import annotations

from channels.email.ingest import MailIngest, Parse, Receiver, Suggest
from helpdesk.app.mail.bounces import AutomaticMailService
from helpdesk.app.quarantine.service import QuarantineService
from helpdesk.db.engine import Database
from helpdesk.ports import Clock


def build_ingest(db: Database, clock: Clock, receiver: Receiver, *, suggest: Suggest | None = None,
                 parse: Parse | None = None) -> MailIngest:
    return MailIngest(receiver, AutomaticMailService(db, clock, receiver), QuarantineService(db, clock),
                      suggest=suggest, parse=parse)
