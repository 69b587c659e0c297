"""`helpdesk` command line: thin; one-line errors; exit 75 for a temporary failure."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from helpdesk.cli_mail import add_mail_commands
from helpdesk.cli_portal import add_portal_commands
from helpdesk.cli_sla import add_sla_commands
from helpdesk.config import Settings, env_value, load_settings
from helpdesk.domain.errors import NotFound, TemporaryError, UserError
from helpdesk.domain.values import StaffRole, TicketStatus

if TYPE_CHECKING:
    from helpdesk.services import Services  # imported late: the CLI starts fast

EX_OK, EX_USER, EX_TEMPFAIL = 0, 1, 75
ROLE_FR = {"agent": "agent", "admin": "administrateur"}
DIRECTION_FR = {"inbound": "reçu", "outbound": "réponse", "note": "note interne"}

Handler = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]


def _services(settings: Settings) -> Services:
    from helpdesk.bootstrap import build

    return build(settings)


def _ticket_reader(settings: Settings) -> Any:
    """What reading tickets needs, without the bootstrap (which imports every channel): starts faster."""
    from helpdesk.app.tickets.service import TicketService
    from helpdesk.db.engine import Database
    from helpdesk.ports import SystemClock

    return TicketService(Database(settings.database_url), SystemClock())


async def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from helpdesk.bootstrap import serve
    from helpdesk.db import migrate

    if args.migrate:
        await asyncio.get_running_loop().run_in_executor(None, migrate.upgrade, settings.database_url)
    from helpdesk.logging_setup import configure

    configure(settings.log_level, json_lines=settings.log_json)
    from helpdesk.app.config_warnings import configuration_warnings

    for warning in configuration_warnings(settings):
        logging.getLogger("helpdesk.serve").warning("%s", warning)
    services = _services(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await serve(services, settings, stop=stop)
    return EX_OK


async def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from helpdesk.db import migrate

    url = settings.database_url
    before, tables_before = await migrate.current_revisions(url), await migrate.table_names(url)
    await asyncio.get_running_loop().run_in_executor(None, migrate.upgrade, url)
    after, tables_after = await migrate.current_revisions(url), await migrate.table_names(url)
    print(upgrade_summary(before, after, tables_before, tables_after, settings.masked()["database_url"]))
    return EX_OK


def upgrade_summary(before: set[str], after: set[str], tables_before: set[str], tables_after: set[str],
                    url: str) -> str:
    """What `db upgrade` did, for the operator: created, upgraded, or nothing to do."""
    version = ", ".join(sorted(after)) or "?"
    created = sorted(tables_after - tables_before - {"alembic_version"})
    if not before:
        return (f"Base de données créée ({url}) : {len(created)} tables, schéma en version {version}. "
                "Les numéros de ticket commencent à 1000. Ensuite : `helpdesk user add ADRESSE --role admin` "
                "et `helpdesk kb import`.")
    if before == after:
        return f"La base de données est déjà à jour (schéma en version {version})."
    added = f" ; tables ajoutées : {', '.join(created)}" if created else ""
    return f"Base de données mise à jour : version {', '.join(sorted(before))} → {version}{added}."


async def cmd_db_copy(args: argparse.Namespace, settings: Settings) -> int:
    from helpdesk.config import Settings as _S
    from helpdesk.db.copy import copy_database
    from helpdesk.progress import Progress

    target = _S._check_url(args.to)
    progress = Progress("Copie des lignes", unit="lignes")
    counts = await copy_database(settings.database_url, target, on_progress=progress.advance)
    took = progress.finish()
    print(f"{sum(counts.values())} lignes copiées dans {len(counts)} tables de la base cible ({took})")
    return EX_OK


async def cmd_user_add(args: argparse.Namespace, settings: Settings) -> int:
    """Only what account creation needs (no bootstrap: it imports every channel); the password is hashed
    in a thread while the database layer loads (argon2 releases the GIL), which halves the wait."""
    from helpdesk.app.staff.hashing import generate_password, hash_password

    generated = False
    if args.password_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = ""
    if not password:
        password, generated = generate_password(), True
    hashing = asyncio.get_running_loop().run_in_executor(None, hash_password, password)
    from helpdesk.app.staff.accounts import UserService
    from helpdesk.db.engine import Database
    from helpdesk.ports import SystemClock

    db = Database(settings.database_url)
    try:
        user_id = await UserService(db, SystemClock()).add(args.email, StaffRole(args.role), password,
                                                           name=args.name or "", password_hash=await hashing)
        print(f"Compte {args.email.strip().lower()} créé (n° {user_id}, rôle {ROLE_FR[args.role]}).")
        if generated:
            print(f"Mot de passe (affiché une seule fois) : {password}")
        return EX_OK
    finally:
        await db.dispose()


async def cmd_tickets(args: argparse.Namespace, settings: Settings) -> int:
    tickets = _ticket_reader(settings)
    try:
        status = TicketStatus(args.status) if args.status else None
        rows = await tickets.list(status=status, limit=args.limit)
        if args.json:
            print(json.dumps(rows, ensure_ascii=False))
        else:
            for r in rows:
                print(f"[#{r['number']}] {r['status']:<9} {r['priority']:<7} {r['channel']:<9} "
                      f"{(r['requester'] or '-'):<30} {r['subject']}")
        return EX_OK
    finally:
        await tickets.db.dispose()


async def cmd_ticket(args: argparse.Namespace, settings: Settings) -> int:
    tickets = _ticket_reader(settings)
    try:
        try:
            data = await tickets.get_json(args.number)
        except NotFound:
            from helpdesk.db.store import FIRST_TICKET_NUMBER

            raise NotFound(f"ticket n° {args.number} introuvable : les numéros de ticket commencent à "
                           f"{FIRST_TICKET_NUMBER} (`helpdesk tickets` les liste)") from None
        if args.json:
            print(json.dumps(data, ensure_ascii=False))
            return EX_OK
        from helpdesk.cli_sla import PRIORITY_FR
        from helpdesk.domain.messages_fr import STATUS_FR

        req = data["requester"]
        print(f"[#{data['number']}] {data['subject']}")
        print(f"statut : {STATUS_FR.get(data['status'], data['status'])}  "
              f"priorité : {PRIORITY_FR.get(data['priority'], data['priority'])}  canal : {data['channel']}")
        print(f"demandeur : {req['name'] or ''} <{req['email'] or ''}> {req['organization'] or ''}")
        for m in data["messages"]:
            print(f"\n--- {DIRECTION_FR.get(m['direction'], m['direction'])} · {m['channel']} · {m['created_at']}")
            print(m["text"])
            for a in m["attachments"]:
                print(f"    📎 {a['filename']} ({a['content_type']}, {a['size']} octets)")
        return EX_OK
    finally:
        await tickets.db.dispose()


async def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0 when every file is fine (warnings allowed), 1 when a file has errors, 2 when a file could not be
    read (missing, unreadable or in a format the checks do not read)."""
    from helpdesk.checks import check_file
    from helpdesk.checks.render import full_text

    def run(name: str) -> Any:
        return check_file(Path(name).name, Path(name).read_bytes())

    reports = []
    unreadable = False
    for name in args.files:
        try:
            reports.append(await asyncio.to_thread(run, name))
        except OSError as exc:
            print(f"helpdesk: impossible de lire {name} : {exc.strerror}", file=sys.stderr)
            unreadable = True
    if args.json:
        print(json.dumps([r.as_json() for r in reports], ensure_ascii=False, indent=1))
    elif reports:
        print(full_text(reports), end="")
    verdicts = {r.verdict for r in reports}
    if unreadable or verdicts & {"unreadable", "unsupported"}:
        return 2
    return 1 if "errors" in verdicts else EX_OK


async def cmd_checks_update_schemas(args: argparse.Namespace, settings: Settings) -> int:
    """Refresh the bundled schema.data.gouv.fr snapshot from the catalogue (needs the network)."""
    import urllib.request
    from datetime import UTC, datetime

    from helpdesk.checks import catalog

    def get(url: str) -> bytes:
        if not url.startswith(("https://", "http://")):
            raise UserError(f"adresse refusée : {url!r} (seules les adresses http(s) sont lues)")
        with urllib.request.urlopen(url, timeout=30) as resp:  # noqa: S310 - scheme checked above
            data: bytes = resp.read(catalog.MAX_SCHEMA_BYTES + 1)
            return data

    directory = Path(args.dir) if args.dir else catalog.SNAPSHOT_DIR
    try:
        changes = await asyncio.to_thread(catalog.update, args.catalogue, directory, get,
                                          today=datetime.now(UTC).date())
    except OSError as exc:
        raise TemporaryError(f"catalogue des schémas injoignable : {exc}") from exc
    except ValueError as exc:
        raise UserError(f"catalogue des schémas refusé : {exc}") from exc
    for line in changes or ["Les schémas sont déjà à jour."]:
        print(line)
    return EX_OK


async def cmd_config(args: argparse.Namespace, settings: Settings) -> int:
    from helpdesk.app.config_warnings import configuration_warnings

    for key, value in settings.masked().items():
        print(f"HELPDESK_{key.upper()}={env_value(value)}")
    for warning in configuration_warnings(settings):
        print(f"attention : {warning}", file=sys.stderr)
    return EX_OK


async def cmd_kb_import(args: argparse.Namespace, settings: Settings) -> int:
    from helpdesk.app.faq.sync import bundled_kb_dir
    from helpdesk.progress import Progress

    services = _services(settings)
    try:
        directory = Path(args.kb) if args.kb else (settings.kb_dir or bundled_kb_dir())
        progress = Progress("Import de la FAQ", unit="fiches")
        report = await services.kb_store.import_dir(directory, force=args.force, on_progress=progress.advance)
        took = progress.finish()
        print(f"FAQ imported from {directory}: {report.created} created, {report.updated} updated, "
              f"{report.unchanged} unchanged, {report.kept_staff_edits} kept (edited by staff) ({took})")
        return EX_OK
    finally:
        await services.db.dispose()


async def cmd_kb_export(args: argparse.Namespace, settings: Settings) -> int:
    services = _services(settings)
    try:
        texts = await services.kb_store.export_texts()
        out = Path(args.dir)
        _write_files(out, texts)
        print(f"{len(texts)} entries written to {out}")
        return EX_OK
    finally:
        await services.db.dispose()


async def cmd_gdpr(args: argparse.Namespace, settings: Settings) -> int:
    services = _services(settings)
    try:
        gdpr = services.gdpr
        if args.gdpr_command == "export":
            print(json.dumps(await gdpr.export(args.email), ensure_ascii=False, indent=2))
        elif args.gdpr_command == "erase":
            done = await gdpr.erase(args.email)
            print(f"Données personnelles de {args.email} effacées ({done['tickets']} ticket(s) nettoyé(s))")
        else:
            from helpdesk.progress import Progress

            progress = Progress("Effacement des anciens tickets", unit="tickets")
            n = await gdpr.apply_retention(args.months, dry_run=args.dry_run, on_progress=progress.advance)
            took = progress.finish()
            verb = "seraient nettoyés" if args.dry_run else "nettoyés"
            print(f"{n} ticket(s) fermé(s) depuis plus de {args.months} mois {verb} ({took})")
        return EX_OK
    finally:
        await services.db.dispose()


def _write_files(directory: Path, texts: dict[str, str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        (directory / name).write_text(text, encoding="utf-8")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="helpdesk", description="Assistance open data du CRAIG")
    sub = p.add_subparsers(dest="command", required=True)

    sp = sub.add_parser("serve", help="démarre le site, SMTP, Telegram et les tâches de fond")
    sp.add_argument("--migrate", action="store_true", help="applique d'abord les migrations")
    sp.set_defaults(handler=cmd_serve)

    db = sub.add_parser("db", help="base de données").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="applique les migrations").set_defaults(handler=cmd_db_upgrade)
    dc = db.add_parser("copy", help="copie toutes les lignes dans une autre base (vide), par exemple de SQLite vers "
                                    "PostgreSQL")
    dc.add_argument("--to", required=True, help="adresse de la base cible, par exemple "
                                                "postgresql+asyncpg://user@host/db")
    dc.set_defaults(handler=cmd_db_copy)

    user = sub.add_parser("user", help="comptes de l'équipe").add_subparsers(dest="user_command", required=True)
    ua = user.add_parser("add", help="crée un compte (mot de passe lu sur l'entrée standard, ou généré)")
    ua.add_argument("email")
    ua.add_argument("--role", choices=[r.value for r in StaffRole], default="agent")
    ua.add_argument("--name")
    ua.add_argument("--password-stdin", action="store_true")
    ua.set_defaults(handler=cmd_user_add)

    tl = sub.add_parser("tickets", help="liste les tickets")
    tl.add_argument("--status", choices=[s.value for s in TicketStatus])
    tl.add_argument("--limit", type=int)
    tl.add_argument("--json", action="store_true")
    tl.set_defaults(handler=cmd_tickets)

    tk = sub.add_parser("ticket", help="affiche un ticket")
    tk.add_argument("number", type=int)
    tk.add_argument("--json", action="store_true")
    tk.set_defaults(handler=cmd_ticket)

    sub.add_parser("config", help="réglages en vigueur, secrets masqués").set_defaults(handler=cmd_config)

    ck = sub.add_parser("check", help="vérifie des fichiers de données et des fiches de métadonnées (CSV, XLSX, ODS, "
                                      "XML, zip, GeoJSON)")
    ck.add_argument("files", nargs="+", metavar="FILE")
    ck.add_argument("--json", action="store_true", help="un objet par fichier, avec ses constats")
    ck.set_defaults(handler=cmd_check)

    cks = sub.add_parser("checks", help="vérification des fichiers : maintenance").add_subparsers(dest="checks_command",
                                                                                  required=True)
    up = cks.add_parser("update-schemas",
                        help="met à jour les schémas Table Schema fournis depuis le catalogue schema.data.gouv.fr")
    up.add_argument("--catalogue", default="https://schema.data.gouv.fr/schemas/schemas.json")
    up.add_argument("--dir", help="répertoire des schémas (par défaut : celui fourni avec le paquet)")
    up.set_defaults(handler=cmd_checks_update_schemas)

    gd = sub.add_parser("gdpr", help="données personnelles : export, effacement, conservation").add_subparsers(
        dest="gdpr_command", required=True
    )
    for name, helptext in (("export", "tout ce qui concerne une personne, en JSON"),
                           ("erase", "efface les données d'une personne")):
        g = gd.add_parser(name, help=helptext)
        g.add_argument("email")
        g.set_defaults(handler=cmd_gdpr)
    gr = gd.add_parser("retention", help="nettoie les tickets fermés depuis plus de N mois")
    gr.add_argument("--months", type=int, required=True)
    gr.add_argument("--dry-run", action="store_true")
    gr.set_defaults(handler=cmd_gdpr)

    add_sla_commands(sub)
    add_mail_commands(sub)
    add_portal_commands(sub)

    kb = sub.add_parser("kb", help="FAQ: check, search, eval, import, export")
    kb.add_argument("kb_args", nargs=argparse.REMAINDER)
    kb.set_defaults(handler=None)
    return p


KB_DB_COMMANDS = {"import", "export"}


def _kb_db_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="helpdesk kb")
    sub = p.add_subparsers(dest="kb_command", required=True)
    imp = sub.add_parser("import", help="load Markdown entries into the database (idempotent)")
    imp.add_argument("--kb", help="directory of entries (default: the bundled FAQ)")
    imp.add_argument("--force", action="store_true", help="overwrite entries edited by staff")
    imp.set_defaults(handler=cmd_kb_import)
    exp = sub.add_parser("export", help="write the published entries as Markdown files")
    exp.add_argument("dir")
    exp.set_defaults(handler=cmd_kb_export)
    return p


def _with_index_cache(kb_args: list[str]) -> list[str]:
    """`kb search` keeps the built FAQ index in the data directory's cache/ (rebuilt when the FAQ or the
    engine changes): a search then takes a fraction of a second instead of building the index each time."""
    if kb_args[:1] != ["search"] or any(a == "--cache-dir" or a.startswith("--cache-dir=") for a in kb_args):
        return kb_args
    try:
        data_dir = load_settings().data_dir
    except UserError:
        return kb_args  # a configuration problem is reported by the commands that need the settings
    return ["search", "--cache-dir", str(data_dir / "cache"), *kb_args[1:]]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    from helpdesk.logging_setup import configure

    configure("INFO" if args.command == "serve" else "WARNING")
    if args.command == "kb":
        kb_args = list(args.kb_args)
        if not kb_args or kb_args[0] not in KB_DB_COMMANDS:
            from knowledge_base.cli import main as kb_main

            return kb_main(_with_index_cache(kb_args))
        args = _kb_db_parser().parse_args(kb_args)
    try:
        settings = load_settings()
        handler: Handler = args.handler
        return asyncio.run(handler(args, settings))
    except UserError as exc:
        from helpdesk.domain.messages_fr import user_message_fr

        print(f"helpdesk: {user_message_fr(exc)}", file=sys.stderr)
        return EX_USER
    except TemporaryError as exc:
        print(f"helpdesk: échec temporaire, réessayez plus tard : {exc}", file=sys.stderr)
        return EX_TEMPFAIL
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
