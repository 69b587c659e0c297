"""Staff pages beside the queue: phone tickets, the quarantine, the account (password, API tokens)."""

from __future__ import annotations

from aiohttp import web

from helpdesk.domain.errors import ValidationError
from helpdesk.domain.messages_fr import user_message_fr
from helpdesk.web.auth import redirect, require_admin, session_cookie, staff
from helpdesk.web.context import ctx
from helpdesk.web.labels import ORG_KIND
from helpdesk.web.render import render


async def phone_form(request: web.Request) -> web.StreamResponse:
    choices = await ctx(request).queue.choices()
    return render("phone.html", request, {"choices": choices, "kinds": ORG_KIND, "values": {}, "error": None})


async def phone_submit(request: web.Request) -> web.StreamResponse:
    c, me = ctx(request), staff(request)
    form = await request.post()
    values = {k: str(form.get(k, "")) for k in ("caller_email", "caller_name", "org_name", "org_kind", "pays",
                                                  "subject", "request", "note")}
    try:
        result = await c.requests.phone_call(staff_id=me.id, **values)
    except ValidationError as exc:
        return render("phone.html", request, {
            "choices": await c.queue.choices(), "kinds": ORG_KIND, "values": values, "error": str(exc)}, status=400)
    raise redirect(request, f"/tickets/{result.ticket_number}", "Ticket ouvert pour l'appel téléphonique.")


async def quarantine_list(request: web.Request) -> web.StreamResponse:
    return render("quarantine.html", request, {"items": await ctx(request).quarantine.held()})


async def quarantine_discard(request: web.Request) -> web.StreamResponse:
    me = require_admin(request)
    await ctx(request).quarantine.discard(int(request.match_info["id"]), me.id)
    raise redirect(request, "/quarantine", "Message écarté (l'action est consignée dans le journal).")


async def quarantine_reprocess(request: web.Request) -> web.StreamResponse:
    me = staff(request)
    try:
        number = await ctx(request).quarantine.reprocess(int(request.match_info["id"]), me.id)
    except ValidationError as exc:
        text = user_message_fr(exc)
        raise redirect(request, "/quarantine", text[:1].upper() + text[1:] + ".") from None
    if number is None:
        raise redirect(request, "/quarantine", "Message retraité (message automatique, sans ticket).")
    raise redirect(request, f"/tickets/{number}", f"Message retraité : ticket [#{number}].")


async def quarantine_raw(request: web.Request) -> web.StreamResponse:
    require_admin(request)
    qid = int(request.match_info["id"])
    data = await ctx(request).quarantine.raw(qid)
    return web.Response(body=data, headers={
        "Content-Type": "application/octet-stream",
        "Content-Disposition": f'attachment; filename="quarantaine-{qid}.eml"',
    })


async def account_page(request: web.Request, *, new_token: str | None = None, error: str | None = None,
                       status: int = 200) -> web.StreamResponse:
    me = staff(request)
    return render("account.html", request, {
        "tokens": await ctx(request).auth.api_tokens(me.id), "new_token": new_token, "error": error,
    }, status=status)


async def account(request: web.Request) -> web.StreamResponse:
    return await account_page(request)


async def change_password(request: web.Request) -> web.StreamResponse:
    me = staff(request)
    form = await request.post()
    new, again = str(form.get("new", "")), str(form.get("again", ""))
    if new != again:
        return await account_page(request, error="Les deux saisies du nouveau mot de passe diffèrent.", status=400)
    try:
        await ctx(request).auth.change_password(me.id, str(form.get("old", "")), new,
                                                request.cookies.get(session_cookie(request), ""))
    except ValidationError as exc:
        return await account_page(request, error=str(exc).capitalize() + ".", status=400)
    raise redirect(request, "/account",
                   "Mot de passe modifié ; vos autres sessions sont fermées et vos jetons d'API révoqués.")


async def create_token(request: web.Request) -> web.StreamResponse:
    me = staff(request)
    form = await request.post()
    token = await ctx(request).auth.create_api_token(me.id, str(form.get("name", "")))
    return await account_page(request, new_token=token)


async def revoke_token(request: web.Request) -> web.StreamResponse:
    await ctx(request).auth.revoke_api_token(staff(request).id, int(request.match_info["id"]))
    raise redirect(request, "/account", "Jeton révoqué.")


def routes() -> list[web.RouteDef]:
    return [
        web.get("/phone", phone_form),
        web.post("/phone", phone_submit),
        web.get("/quarantine", quarantine_list),
        web.post(r"/quarantine/{id:\d+}/discard", quarantine_discard),
        web.post(r"/quarantine/{id:\d+}/reprocess", quarantine_reprocess),
        web.get(r"/quarantine/{id:\d+}/raw", quarantine_raw),
        web.get("/account", account),
        web.post("/account/password", change_password),
        web.post("/account/tokens", create_token),
        web.post(r"/account/tokens/{id:\d+}/revoke", revoke_token),
    ]
