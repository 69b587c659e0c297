"""`helpdesk portal …`: the requester portal's staff-side settings (organisations' sharing, revoking sessions)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from helpdesk.config import Settings

if TYPE_CHECKING:
    from helpdesk.services import Services  # imported late: the CLI starts fast


def _build(settings: Settings) -> Services:
    from helpdesk.bootstrap import build

    return build(settings)


async def cmd_portal(args: argparse.Namespace, settings: Settings) -> int:
    services = _build(settings)
    try:
        if args.portal_command == "orgs":
            for org in await services.org_sharing.organizations(args.q or ""):
                flag = "partagées" if org.shared else "privées"
                print(f"{org.id:>6}  {org.name}  ({org.contacts} contact(s), demandes {flag})")
        elif args.portal_command == "share":
            shared = args.state == "on"
            name = await services.org_sharing.set_shared(args.org, shared)
            print(f"« {name} » : demandes {'partagées entre ses agents' if shared else 'visibles de leur seul auteur'}"
                  " dans l'espace demandeur")
        else:
            n = await services.portal_auth.revoke(args.email)
            print(f"{args.email} : {n} session(s) de l'espace demandeur fermée(s), liens non utilisés annulés")
        return 0
    finally:
        await services.db.dispose()


def add_portal_commands(sub: Any) -> None:
    """Register `portal orgs`, `portal share` and `portal revoke` on the main parser's subcommands."""
    portal = sub.add_parser("portal", help="requester portal (/espace): organisations' sharing, sessions")
    cmds = portal.add_subparsers(dest="portal_command", required=True)
    orgs = cmds.add_parser("orgs", help="organisations and whether their agents see each other's requests")
    orgs.add_argument("--q", help="only names containing this text")
    share = cmds.add_parser("share", help="let an organisation's agents see each other's requests (on) or not (off)")
    share.add_argument("org", type=int, help="the organisation's id (see `portal orgs`)")
    share.add_argument("state", choices=["on", "off"])
    revoke = cmds.add_parser("revoke", help="end a requester's portal sessions and void their unused links")
    revoke.add_argument("email")
    for parser in (orgs, share, revoke):
        parser.set_defaults(handler=cmd_portal)
