"""`helpdesk sla …` and `helpdesk routing …`: thin handlers over helpdesk.app.sla.service, sla_admin and routing."""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from helpdesk.config import Settings
from helpdesk.domain.errors import ValidationError

if TYPE_CHECKING:
    from helpdesk.services import Services  # imported late: the CLI starts fast

PRIORITY_FR = {"urgent": "urgente", "high": "haute", "normal": "normale", "low": "basse"}


def _parse_start(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"--start {text!r} : date et heure ISO attendues, par exemple 2026-03-06T17:25") from None


async def cmd_sla_recompute(args: argparse.Namespace, settings: Settings) -> int:
    from helpdesk.bootstrap import build

    services = build(settings)
    try:
        from helpdesk.progress import Progress

        progress = Progress("Recalcul des délais", unit="tickets")
        n = await services.sla.recompute(only_open=args.open_only, on_progress=progress.advance)
        took = progress.finish()
        print(f"Délais recalculés depuis le journal des événements : {n} ticket(s) ({took})")
        return 0
    finally:
        await services.db.dispose()


async def cmd_sla_explain(args: argparse.Namespace, settings: Settings) -> int:
    from helpdesk.app.french_dates import fr_datetime
    from helpdesk.bootstrap import build

    start = _parse_start(args.start)
    services = build(settings)
    try:
        out = await services.sla.explain(args.policy, start)
    finally:
        await services.db.dispose()
    if args.json:
        print(json.dumps(out, ensure_ascii=False, default=_json_default))
        return 0

    def fr(value: datetime | None) -> str:
        return fr_datetime(value) if value else "—"

    print(f"Politique « {out.policy} », début le {fr(out.start)} ({out.timezone})")
    for priority, due in out.targets.items():
        print(f"  {PRIORITY_FR.get(priority, priority):<8} première réponse : {fr(due.first_response_due)}"
              f" ; résolution : {fr(due.resolution_due)}")
    return 0


def _json_default(value: Any) -> Any:
    """The use cases' read models (dataclasses) and their dates, in the printed JSON."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, date):  # a datetime too
        return value.isoformat()
    raise TypeError(type(value).__name__)


async def _with_services(settings: Settings, action: Callable[[Services], Awaitable[Any]]) -> Any:
    from helpdesk.bootstrap import build

    services = build(settings)
    try:
        return await action(services)
    finally:
        await services.db.dispose()


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"{text!r} : date attendue, par exemple 2026-12-24") from None


async def cmd_sla_admin(args: argparse.Namespace, settings: Settings) -> int:

    async def run(services: Any) -> Any:
        admin = services.sla_admin
        if args.sla_command == "policies":
            return await admin.policies()
        if args.sla_command == "target":
            n = await admin.set_target(args.policy, args.priority, first_response=args.first_response,
                                       resolution=args.resolution, organization_kind=args.kind)
            return (f"Objectifs de la politique « {args.policy} » ({PRIORITY_FR.get(args.priority, args.priority)}) "
                    f"enregistrés ; {n} ticket(s) ouvert(s) recalculé(s)")
        if args.closure_command == "add":
            cid = await admin.add_closure(_day(args.start), _day(args.end), args.label or "", args.calendar)
            return f"Fermeture n° {cid} ajoutée"
        if args.closure_command == "remove":
            await admin.remove_closure(args.id)
            return f"Fermeture n° {args.id} supprimée"
        return await admin.closures()

    out = await _with_services(settings, run)
    print(out if isinstance(out, str) else json.dumps(out, ensure_ascii=False, indent=None if args.json else 2,
                                                      default=_json_default))
    return 0


async def cmd_routing(args: argparse.Namespace, settings: Settings) -> int:

    async def run(services: Any) -> Any:
        if args.routing_command == "add":
            rid = await services.routing_rules.add(
                args.name, position=args.position, team=args.team, sla_policy=args.policy,
                channels=args.channel, organizations=args.organization, pays=args.pays,
                organization_kinds=args.kind, faq_tags=args.faq_tag, priority=args.priority, tags=args.tag,
                assign=args.assign, stop=args.stop)
            return f"Règle d'aiguillage n° {rid} ajoutée"
        if args.routing_command == "remove":
            await services.sla_admin.remove_rule(args.id)
            return f"Règle d'aiguillage n° {args.id} supprimée"
        return [dataclasses.asdict(r) for r in await services.routing_rules.list()]

    out = await _with_services(settings, run)
    print(out if isinstance(out, str) else json.dumps(out, ensure_ascii=False, indent=None if args.json else 2))
    return 0


def add_sla_commands(sub: Any) -> None:
    """Register `sla recompute` and `sla explain` on the main parser's subcommands."""
    sla = sub.add_parser("sla", help="délais : recalcul depuis le journal, explication d'une politique").add_subparsers(
        dest="sla_command", required=True
    )
    rc = sla.add_parser("recompute", help="recalcule les délais de chaque ticket depuis ses événements")
    rc.add_argument("--open-only", action="store_true", help="seulement les tickets encore ouverts")
    rc.set_defaults(handler=cmd_sla_recompute)
    ex = sla.add_parser("explain", help="échéances de chaque objectif pour un ticket créé à START")
    ex.add_argument("--policy", required=True)
    ex.add_argument("--start", required=True, help="date et heure ISO ; sans décalage, l'heure locale de la politique")
    ex.add_argument("--json", action="store_true")
    ex.set_defaults(handler=cmd_sla_explain)
    po = sla.add_parser("policies", help="les politiques, leurs objectifs (minutes ouvrées) et leurs exceptions")
    po.add_argument("--json", action="store_true", help="sur une ligne")
    po.set_defaults(handler=cmd_sla_admin)
    tg = sla.add_parser("target", help="fixe les objectifs d'une priorité, en minutes ouvrées ; les tickets ouverts "
                                       "sont recalculés")
    tg.add_argument("--policy", required=True)
    tg.add_argument("--priority", required=True, choices=[p for p in PRIORITY_FR])
    tg.add_argument("--kind", help="seulement pour ce type de collectivité (une exception)")
    tg.add_argument("--first-response", type=int)
    tg.add_argument("--resolution", type=int)
    tg.set_defaults(handler=cmd_sla_admin, json=False)
    cl = sla.add_parser("closure", help="jours de fermeture du centre").add_subparsers(dest="closure_command",
                                                                                    required=True)
    ca = cl.add_parser("add", help="fermé de START à END inclus (dates locales)")
    ca.add_argument("start")
    ca.add_argument("end")
    ca.add_argument("--label")
    ca.add_argument("--calendar")
    cr = cl.add_parser("remove")
    cr.add_argument("id", type=int)
    cls = cl.add_parser("list")
    cls.add_argument("--json", action="store_true")
    for p in (ca, cr, cls):
        p.set_defaults(handler=cmd_sla_admin)
    ca.set_defaults(json=False)
    cr.set_defaults(json=False)

    routing = sub.add_parser("routing", help="règles d'aiguillage, évaluées dans l'ordre").add_subparsers(
        dest="routing_command", required=True)
    rl = routing.add_parser("list")
    rl.add_argument("--json", action="store_true")
    ra = routing.add_parser("add", help="une condition peut se répéter (l'une d'elles suffit) ; une condition absente "
                                        "accepte tout")
    ra.add_argument("name")
    ra.add_argument("--position", type=int)
    for flag in ("channel", "organization", "pays", "kind", "faq-tag", "tag"):
        ra.add_argument(f"--{flag}", action="append", default=[])
    ra.add_argument("--team")
    ra.add_argument("--priority", choices=[p for p in PRIORITY_FR])
    ra.add_argument("--assign", choices=["round_robin", "manual"])
    ra.add_argument("--policy", help="politique de délais des tickets que la règle retient")
    ra.add_argument("--stop", action="store_true", help="arrête l'évaluation après cette règle")
    rr = routing.add_parser("remove")
    rr.add_argument("id", type=int)
    for p in (rl, ra, rr):
        p.set_defaults(handler=cmd_routing)
    ra.set_defaults(json=False)
    rr.set_defaults(json=False)
