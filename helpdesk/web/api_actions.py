"""The staff actions of the ticket page and beside it, for the JSON API: merge, link, split, resend,
attachments, FAQ draft, phone tickets, canned responses.

Each handler calls the same use case as the page does (so the same checks and the same audit events);
bodies are strict pydantic models, read whole before anything is written.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import quote

from aiohttp import web
from pydantic import Field

from helpdesk.domain.values import OrgKind
from helpdesk.web.api_common import api_admin, json_response, path_id, ticket_number
from helpdesk.web.auth import staff
from helpdesk.web.context import ctx
from helpdesk.web.validation import ApiBody, CleanStr, DbId, Text, json_body

TITLE_MAX = 200


# Short fields (may be empty), bounded as the page's form fields are by the use case.
Email = Annotated[CleanStr, Field(max_length=254)]
Name = Annotated[CleanStr, Field(max_length=120)]
Title = Annotated[CleanStr, Field(max_length=TITLE_MAX)]
Note = Annotated[CleanStr, Field(max_length=20_000)]


# ---- bodies -------------------------------------------------------------------------------------
class MergeBody(ApiBody):
    """Le ticket de l'adresse est fermé et fusionné dans « target », qui garde la conversation."""

    target: DbId


class LinkBody(ApiBody):
    """Lier le ticket de l'adresse au ticket « other » (tickets liés)."""

    other: DbId


class PhoneTicketBody(ApiBody):
    """Un ticket ouvert pour un appel téléphonique, comme le formulaire « Appel » du site."""

    caller_email: Email = ""
    caller_name: Name = ""
    org_name: Title = ""
    org_kind: OrgKind = OrgKind.OTHER
    pays: Name = ""
    subject: Title = ""
    request: Text
    note: Note = ""


class CannedBody(ApiBody):
    """Une réponse type : titre, texte, active ou retirée."""

    title: Annotated[CleanStr, Field(min_length=1, max_length=TITLE_MAX)]
    body: Text
    active: bool = True


# ---- ticket actions -----------------------------------------------------------------------------
async def merge_ticket(request: web.Request) -> web.Response:
    c, me, number = ctx(request), staff(request), ticket_number(request)
    body = await json_body(request, MergeBody)
    await c.merge_split.merge(number, body.target, me.id)
    return json_response(await c.tickets.get_json(body.target))


async def link_ticket(request: web.Request) -> web.Response:
    c, me, number = ctx(request), staff(request), ticket_number(request)
    body = await json_body(request, LinkBody)
    await c.merge_split.link(number, body.other, me.id)
    return json_response({"number": number, "other": body.other, "kind": "related"}, status=201)


def _message_id(request: web.Request) -> int:
    return path_id(request, "message", "message introuvable")


async def split_message(request: web.Request) -> web.Response:
    c, me, number = ctx(request), staff(request), ticket_number(request)
    new = await c.merge_split.split(number, _message_id(request), me.id)
    return json_response(await c.tickets.get_json(new), status=201)


async def resend_message(request: web.Request) -> web.Response:
    c, me, number = ctx(request), staff(request), ticket_number(request)
    message_id = _message_id(request)
    await c.outbox_status.resend(number, message_id, me.id)
    return json_response({"message_id": message_id, "delivery_status": "queued"})


async def download_attachment(request: web.Request) -> web.StreamResponse:
    """Always a download, as on the ticket page: the stored content type is never trusted for display."""
    number = ticket_number(request)
    found = await ctx(request).page.attachment(number, path_id(request, "attachment", "pièce jointe introuvable"))
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "_", found.filename)[:120] or "piece-jointe"
    return web.Response(body=found.data, headers={
        "Content-Type": "application/octet-stream",
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(found.filename)}",
        "X-Content-Type-Options": "nosniff",
    })


async def faq_draft(request: web.Request) -> web.Response:
    c, number = ctx(request), ticket_number(request)
    entry_id = await c.kb_admin.draft_from_ticket(number)
    c.faq.invalidate()
    return json_response({"entry_id": entry_id, "status": "draft"}, status=201)


async def phone_ticket(request: web.Request) -> web.Response:
    c, me = ctx(request), staff(request)
    body = await json_body(request, PhoneTicketBody)
    result = await c.requests.phone_call(
        staff_id=me.id, caller_email=body.caller_email, caller_name=body.caller_name, org_name=body.org_name,
        org_kind=body.org_kind.value, pays=body.pays, subject=body.subject, request=body.request, note=body.note)
    assert result.ticket_number is not None  # a phone call always opens a ticket (force_new)
    return json_response(await c.tickets.get_json(result.ticket_number), status=201)


# ---- canned responses ---------------------------------------------------------------------------
def _canned_id(request: web.Request) -> int:
    return path_id(request, "id", "réponse type introuvable")


async def list_canned(request: web.Request) -> web.Response:
    """The active answers, as the ticket page offers them; retired ones too for an administrator who asks."""
    retired = request.query.get("retired", "") in ("1", "true")
    if retired:
        api_admin(request)
    return json_response({"items": await ctx(request).canned.list(include_retired=retired)})


async def get_canned(request: web.Request) -> web.Response:
    found = await ctx(request).canned.get(_canned_id(request))
    if not found.active:
        api_admin(request)  # agents only see the answers offered on the ticket page
    return json_response(found)


async def create_canned(request: web.Request) -> web.Response:
    api_admin(request)
    body = await json_body(request, CannedBody)
    c = ctx(request)
    new_id = await c.canned.save(None, body.title, body.body, active=body.active)
    return json_response(await c.canned.get(new_id), status=201)


async def update_canned(request: web.Request) -> web.Response:
    api_admin(request)
    canned_id = _canned_id(request)
    body = await json_body(request, CannedBody)
    c = ctx(request)
    await c.canned.save(canned_id, body.title, body.body, active=body.active)
    return json_response(await c.canned.get(canned_id))


# ---- menus and the quarantine -------------------------------------------------------------------
async def choices(request: web.Request) -> web.Response:
    """The values of the site's menus (members, teams, organisations, pays, statuses): ids for PATCH."""
    return json_response(await ctx(request).queue.choices())


def _quarantine_id(request: web.Request) -> int:
    return path_id(request, "id", "élément de quarantaine introuvable")


async def quarantine_list(request: web.Request) -> web.Response:
    return json_response({"items": await ctx(request).quarantine.held()})


async def quarantine_reprocess(request: web.Request) -> web.Response:
    number = await ctx(request).quarantine.reprocess(_quarantine_id(request), staff(request).id)
    return json_response({"ticket": number})  # None: an automatic message, no ticket


async def quarantine_discard(request: web.Request) -> web.Response:
    me = api_admin(request)
    item_id = _quarantine_id(request)
    await ctx(request).quarantine.discard(item_id, me.id)
    return json_response({"id": item_id, "status": "discarded"})


async def quarantine_raw(request: web.Request) -> web.StreamResponse:
    api_admin(request)
    item_id = _quarantine_id(request)
    data = await ctx(request).quarantine.raw(item_id)
    return web.Response(body=data, headers={
        "Content-Type": "application/octet-stream",
        "Content-Disposition": f'attachment; filename="quarantaine-{item_id}.eml"',
    })
