"""`helpdesk ingest` and `helpdesk quarantine`: the email channel's commands (thin, like cli.py).

`ingest FILE... | -` runs raw messages through the same path as SMTP and prints one JSON line per
message; it exits 75 (EX_TEMPFAIL) on a temporary failure so an MTA pipe retries.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from helpdesk.config import Settings
from helpdesk.domain.errors import TemporaryError
from helpdesk.domain.messages_fr import user_message_fr

if TYPE_CHECKING:
    from helpdesk.services import Services  # imported late: the CLI starts fast

EX_OK, EX_USER, EX_TEMPFAIL = 0, 1, 75


def _build(settings: Settings) -> Services:
    from helpdesk.bootstrap import build

    return build(settings)


def _read(name: str) -> bytes:
    return sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()


async def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from helpdesk.bootstrap import mail_ingest

    if args.no_acknowledge:
        settings = settings.model_copy(update={"acknowledge": False})
    services = _build(settings)
    status = EX_OK
    try:
        ingest = mail_ingest(services, services.intake)
        for name in args.files:
            try:
                raw = _read(name)
            except OSError as exc:
                print(f"helpdesk: impossible de lire {name} : {exc.strerror}", file=sys.stderr)
                status = EX_USER
                continue
            try:
                result = await ingest.process(raw, envelope_sender=args.sender)
            except TemporaryError as exc:
                print(f"helpdesk: échec temporaire sur {name}, réessayez plus tard : {exc}", file=sys.stderr)
                return EX_TEMPFAIL
            print(json.dumps({"file": name, **result.as_json()}, ensure_ascii=False), flush=True)
        return status
    finally:
        await services.db.dispose()


async def cmd_quarantine_list(args: argparse.Namespace, settings: Settings) -> int:
    from helpdesk.app.quarantine.service import HELD

    services = _build(settings)
    try:
        items = await services.quarantine.list(None if args.all else HELD)
        if args.json:
            print(json.dumps([i.as_json() for i in items], ensure_ascii=False))
        else:
            for i in items:
                print(f"{i.id:>6} {i.status:<11} {local_time(i.received_at)} {i.channel:<8} "
                      f"{(i.sender or '-'):<30} {i.reason}")
        return EX_OK
    finally:
        await services.db.dispose()


def local_time(instant: datetime) -> str:
    """``2026-03-06 00:05 +01:00``: the machine's local time with its offset (the web shows Paris time)."""
    if instant.tzinfo is None:  # stored as UTC
        instant = instant.replace(tzinfo=UTC)
    local = instant.astimezone()
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M} {offset[:3]}:{offset[3:]}"


async def cmd_quarantine_reprocess(args: argparse.Namespace, settings: Settings) -> int:
    from helpdesk.app.quarantine.service import HELD
    from helpdesk.domain.errors import UserError
    from helpdesk.progress import Progress

    services = _build(settings)
    try:
        quarantine = services.quarantine
        ids = [i.id for i in await quarantine.list(HELD)] if args.all else list(args.ids)
        if not ids:
            raise UserError("indiquez les numéros des messages en quarantaine, ou --all")
        progress = Progress("Retraitement de la quarantaine", len(ids), unit="messages")
        done = failed = 0
        for item_id in ids:
            try:
                result = await quarantine.reprocess(item_id)
            except UserError as exc:
                if len(ids) == 1:
                    raise
                print(json.dumps({"id": item_id, "error": user_message_fr(exc)}, ensure_ascii=False), flush=True)
                failed += 1
            else:
                print(json.dumps({"id": item_id, **result.as_json()}, ensure_ascii=False), flush=True)
                done += 1
            progress.advance()
        took = progress.finish()
        if len(ids) > 1:
            print(f"{done} message(s) retraité(s), {failed} toujours en quarantaine ({took})", file=sys.stderr)
        return EX_OK if not failed else EX_USER
    finally:
        await services.db.dispose()


def add_mail_commands(sub: Any) -> None:
    ing = sub.add_parser("ingest", help="enregistre des courriels bruts (fichiers, ou - pour l'entrée standard) en "
                                        "tickets")
    ing.add_argument("files", nargs="+", metavar="FILE", help="fichiers de messages RFC 5322 bruts, ou - pour l'entrée "
                                                              "standard")
    ing.add_argument("--sender", help="expéditeur d'enveloppe (MAIL FROM), tel que le transmet un MTA")
    ing.add_argument("--no-acknowledge", action="store_true", help="sans accusé de réception (migrations)")
    ing.set_defaults(handler=cmd_ingest)

    q = sub.add_parser("quarantine", help="messages reçus qui n'ont pas pu devenir des tickets").add_subparsers(
        dest="quarantine_command", required=True
    )
    ql = q.add_parser("list", help="messages en quarantaine (tous avec --all)")
    ql.add_argument("--all", action="store_true")
    ql.add_argument("--json", action="store_true")
    ql.set_defaults(handler=cmd_quarantine_list)
    qr = q.add_parser("reprocess", help="retraite des messages en quarantaine par leur canal (une ligne JSON chacun)")
    qr.add_argument("ids", type=int, nargs="*", metavar="ID")
    qr.add_argument("--all", action="store_true", help="tous les messages en quarantaine")
    qr.set_defaults(handler=cmd_quarantine_reprocess)
