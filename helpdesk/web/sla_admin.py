"""Admin page for the SLA: targets per priority (and per organization kind), closures, routing rules.

Admins only (`require_admin`); every form carries the CSRF token the middleware checks.
"""

from __future__ import annotations

from datetime import date

from aiohttp import web

from helpdesk.app.sla.admin import SlaAdmin
from helpdesk.domain.errors import NotFound, ValidationError
from helpdesk.domain.ids import parse_id
from helpdesk.web.auth import redirect, require_admin
from helpdesk.web.context import ctx
from helpdesk.web.labels import ORG_KIND, PRIORITY
from helpdesk.web.render import render

PAGE = "/admin/sla"
REFUSED = "Valeurs refusées : vérifiez les champs (durées en minutes ouvrées positives, dates dans l'ordre)."
MINUTES_MAX = 10 * 365 * 24 * 60  # a target of ten years is already meaningless
UNKNOWN = "Élément introuvable (politique, équipe, fermeture ou règle)."


def _admin(request: web.Request) -> SlaAdmin:
    return ctx(request).sla_admin


def _int(value: object) -> int | None:
    text = str(value or "").strip()
    if not text:
        return None
    value = parse_id(text, minimum=0)
    if value is None or value > MINUTES_MAX:
        raise ValidationError(f"nombre de minutes invalide : {text[:20]!r} (entier de 0 à {MINUTES_MAX})")
    return value


def _list(value: object) -> list[str]:
    return [v.strip() for v in str(value or "").split(",") if v.strip()]


async def page(request: web.Request) -> web.StreamResponse:
    require_admin(request)
    admin = _admin(request)
    return render("sla_admin.html", request, {
        "policies": await admin.policies(), "closures": await admin.closures(), "teams": await admin.teams(),
        "rules": await ctx(request).routing_rules.list(),
        "priorities": PRIORITY, "kinds": ORG_KIND,
    })


async def _do(request: web.Request, action: str) -> str:
    form = await request.post()
    admin = _admin(request)
    if action == "target":
        kind = str(form.get("kind") or "") or None
        n = await admin.set_target(str(form.get("policy", "")), str(form.get("priority", "")),
                                   first_response=_int(form.get("first_response")),
                                   resolution=_int(form.get("resolution")), organization_kind=kind)
        return f"Objectifs enregistrés ; {n} ticket(s) ouvert(s) recalculé(s) depuis leur historique."
    if action == "closure":
        try:
            start, end = date.fromisoformat(str(form.get("start"))), date.fromisoformat(str(form.get("end")))
        except ValueError:
            raise ValidationError("bad date") from None
        await admin.add_closure(start, end, str(form.get("label", "")).strip())
        return "Fermeture ajoutée ; les échéances des tickets ouverts sont recalculées."
    if action == "closure-remove":
        await admin.remove_closure(int(request.match_info["id"]))
        return "Fermeture supprimée."
    if action == "rule":
        await ctx(request).routing_rules.add(
            str(form.get("name", "")).strip(), team=str(form.get("team") or "") or None,
            priority=str(form.get("priority") or "") or None, assign=str(form.get("assign") or "") or None,
            channels=_list(form.get("channels")), organizations=_list(form.get("organizations")),
            pays=_list(form.get("pays")), organization_kinds=_list(form.get("kinds")),
            faq_tags=_list(form.get("faq_tags")), tags=_list(form.get("tags")), stop=bool(form.get("stop")),
            sla_policy=str(form.get("policy") or "") or None)
        return "Règle d'orientation ajoutée (à la fin de la liste)."
    await admin.remove_rule(int(request.match_info["id"]))
    return "Règle d'orientation supprimée."


def _post(action: str) -> web.RouteDef:
    async def handler(request: web.Request) -> web.StreamResponse:
        require_admin(request)
        try:
            message = await _do(request, action)
        except ValidationError:
            raise redirect(request, PAGE, REFUSED) from None
        except NotFound:
            raise redirect(request, PAGE, UNKNOWN) from None
        raise redirect(request, PAGE, message)

    paths = {"target": "/target", "closure": "/closures", "closure-remove": r"/closures/{id:\d+}/remove",
             "rule": "/rules", "rule-remove": r"/rules/{id:\d+}/remove"}
    return web.post(PAGE + paths[action], handler)


def routes() -> list[web.RouteDef]:
    return [web.get(PAGE, page), *(_post(a) for a in ("target", "closure", "closure-remove", "rule", "rule-remove"))]
