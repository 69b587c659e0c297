"""One ticket: the thread, FAQ suggestions, reply, note, assignment and the other staff actions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict
from enum import StrEnum
from typing import Any, TypeVar
from urllib.parse import quote

import nh3
from aiohttp import web

from helpdesk.app.faq.index import insert_text
from helpdesk.app.faq.proposals import asked_text
from helpdesk.app.tickets.page import Activity
from helpdesk.app.tickets.service import KEEP, TicketChanges
from helpdesk.domain.errors import ValidationError
from helpdesk.domain.ids import parse_id
from helpdesk.domain.values import Priority, TicketStatus
from helpdesk.web import views_live, views_outbox
from helpdesk.web.auth import redirect, staff
from helpdesk.web.context import ctx
from helpdesk.web.render import render
from helpdesk.web.security import EMAIL_CSP
from helpdesk.web.validation import check_text, tags_from_text

_SLUG = re.compile(r"[a-z0-9-]{1,120}")

E = TypeVar("E", bound=StrEnum)


def _number(request: web.Request) -> int:
    return int(request.match_info["number"])


def _choice(form: Any, name: str, kind: type[E], refusal: str) -> E | None:
    if name not in form:
        return None
    try:
        return kind(str(form[name]))
    except ValueError:
        raise ValidationError(refusal) from None


def _optional_id(form: Any, name: str) -> int | None:
    """An identifier from a select: empty (or « none ») clears the field; anything but digits is refused."""
    raw = str(form[name]).strip()
    if raw in ("", "none"):
        return None
    value = parse_id(raw)
    if value is None:  # not ASCII digits, or out of the database's range
        raise ValidationError(f"identifiant invalide pour {name} : {raw[:20]!r}")
    return value


def _int_field(form: Any, name: str) -> int | None:
    return parse_id(str(form.get(name, "")).strip().lstrip("#"))


async def ticket_page(request: web.Request, *, draft: str = "", warning: Sequence[Activity] | None = None,
                      status: int = 200) -> web.StreamResponse:
    c, me, number = ctx(request), staff(request), _number(request)
    data = await c.page.page(number, viewer_id=me.id)
    # The whole inbound conversation (its latest 20 messages: bounded work on a very long thread).
    asked = [asked_text(text) for text in data.inbound_texts[-20:]]
    found = await c.faq.search_conversation(asked, limit=3, purpose="staff")
    suggestions = [(sug, insert_text(sug.body, data.channel)) for sug in found]  # a hit, the text it inserts
    return render("ticket.html", request, {
        "t": data,
        "suggestions": suggestions,
        "canned": await c.canned.list(),
        "staff_list": await c.auth.staff(),
        "teams": await c.page.teams(),
        "viewers": await views_live.viewers_text(request, number),
        "draft": draft, "warning": warning or [], "deliveries": await views_outbox.deliveries(request, number),
        "statuses": [s.value for s in TicketStatus], "priorities": [p.value for p in Priority],
    }, status=status)


async def show(request: web.Request) -> web.StreamResponse:
    return await ticket_page(request)


async def reply(request: web.Request) -> web.StreamResponse:
    """Queue a reply; if someone else wrote since the page loaded, show it first and ask to confirm."""
    c, me, number = ctx(request), staff(request), _number(request)
    form = await request.post()
    text = check_text(str(form.get("text", "")), "texte")
    kind = str(form.get("kind", "reply"))
    seen = _int_field(form, "seen_message_id") or 0
    if not form.get("confirm"):
        newer = await c.page.activity_since(number, seen, me.id)
        if newer:
            return await ticket_page(request, draft=text, warning=newer, status=409)
    if kind == "note":
        await c.tickets.add_note(number, me.id, text)
        raise redirect(request, f"/tickets/{number}", "Note interne ajoutée.")
    message_id = await c.tickets.reply(number, me.id, text)
    inserted = await _still_inserted(request, form.getall("faq_inserted", []), text)
    await c.proposals.record_reply(number, me.id, message_id, inserted)
    raise redirect(request, f"/tickets/{number}", "Réponse mise en file d'envoi.")


async def _still_inserted(request: web.Request, marked: list[Any], text: str) -> list[str]:
    """The FAQ entries inserted with the button (marked by the page's script) whose answer is still, at
    least in part, in the reply sent: a line of 30 characters or more kept as inserted."""
    reply_text = " ".join(text.split())
    out: list[str] = []
    for raw in marked[:10]:
        entry_id = str(raw)
        if not _SLUG.fullmatch(entry_id) or entry_id in out:
            continue
        entry = await ctx(request).faq.entry(entry_id)
        if entry is None:
            continue
        lines = [" ".join(line.split()) for line in insert_text(entry.body, "email").splitlines()]
        if any(len(line) >= 30 and line in reply_text for line in lines):
            out.append(entry_id)
    return out[:3]


async def update(request: web.Request) -> web.StreamResponse:
    """Status, priority, assignee, team and tags from the sidebar form (only what changed is recorded)."""
    c, me, number = ctx(request), staff(request), _number(request)
    form = await request.post()
    changes = TicketChanges(  # every field parsed before anything is written: a bad one changes nothing
        priority=_choice(form, "priority", Priority, "priorité inconnue"),
        status=_choice(form, "status", TicketStatus, "statut inconnu"),
        assignee_id=_optional_id(form, "assignee") if "assignee" in form else KEEP,
        team_id=_optional_id(form, "team") if "team" in form else KEEP,
        tags=tags_from_text(str(form["tags"])) if "tags" in form else None,
    )
    await c.tickets.update(number, changes, me.id)
    raise redirect(request, f"/tickets/{number}", "Ticket mis à jour.")


async def merge(request: web.Request) -> web.StreamResponse:
    me, number = staff(request), _number(request)
    target = _int_field(await request.post(), "target")
    if target is None:
        raise ValidationError("indiquez le numéro du ticket qui garde la conversation")
    await ctx(request).merge_split.merge(number, target, me.id)
    raise redirect(request, f"/tickets/{target}", f"Ticket n° {number} fusionné ici.")


async def split(request: web.Request) -> web.StreamResponse:
    me, number = staff(request), _number(request)
    new = await ctx(request).merge_split.split(number, int(request.match_info["message"]), me.id)
    raise redirect(request, f"/tickets/{new}", f"Message séparé du ticket n° {number} : voici le nouveau ticket.")


async def link(request: web.Request) -> web.StreamResponse:
    me, number = staff(request), _number(request)
    other = _int_field(await request.post(), "other")
    if other is None:
        raise ValidationError("indiquez le numéro du ticket à lier")
    await ctx(request).merge_split.link(number, other, me.id)
    raise redirect(request, f"/tickets/{number}", f"Ticket lié au n° {other}.")


async def faq_draft(request: web.Request) -> web.StreamResponse:
    number = _number(request)
    entry_id = await ctx(request).kb_admin.draft_from_ticket(number)
    ctx(request).faq.invalidate()
    raise redirect(request, f"/tickets/{number}",
                   f"Brouillon d'entrée de FAQ « {entry_id} » proposé : un administrateur le relira avant publication.")


async def attachment(request: web.Request) -> web.StreamResponse:
    """Always a download: the stored content type is never trusted for display in the browser."""
    number, att_id = _number(request), int(request.match_info["att"])
    found = await ctx(request).page.attachment(number, att_id)
    ascii_name = re.sub(r'[^A-Za-z0-9._-]+', "_", found.filename)[:120] or "piece-jointe"
    return web.Response(body=found.data, headers={
        "Content-Type": "application/octet-stream",
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(found.filename)}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    })


async def message_html(request: web.Request) -> web.StreamResponse:
    """The sanitised HTML of an e-mail, cleaned again here, under a CSP that forbids scripts and loads."""
    number, msg_id = _number(request), int(request.match_info["msg"])
    html = await ctx(request).page.message_html(number, msg_id)
    clean = nh3.clean(html, url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow")
    page = (
        "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>Courriel (version HTML nettoyée)"
        "</title></head><body>" + clean + "</body></html>"
    )
    return web.Response(text=page, content_type="text/html", headers={"Content-Security-Policy": EMAIL_CSP})


async def activity(request: web.Request) -> web.Response:
    c, me, number = ctx(request), staff(request), _number(request)
    raw = request.query.get("after", "0")
    after = parse_id(raw, minimum=0) or 0
    return web.json_response({
        "messages": [asdict(a) for a in await c.page.activity_since(number, after, me.id)],
        "viewers": await views_live.viewers_text(request, number),  # polling: the heartbeat's fallback
    })


def routes() -> list[web.RouteDef]:
    return [
        web.get(r"/tickets/{number:\d+}", show),
        web.post(r"/tickets/{number:\d+}/reply", reply),
        web.post(r"/tickets/{number:\d+}/update", update),
        web.post(r"/tickets/{number:\d+}/merge", merge),
        web.post(r"/tickets/{number:\d+}/link", link),
        web.post(r"/tickets/{number:\d+}/messages/{message:\d+}/split", split),
        web.post(r"/tickets/{number:\d+}/faq-draft", faq_draft),
        web.get(r"/tickets/{number:\d+}/attachments/{att:\d+}", attachment),
        web.get(r"/tickets/{number:\d+}/messages/{msg:\d+}/html", message_html),
        web.get(r"/tickets/{number:\d+}/activity", activity),
    ]
