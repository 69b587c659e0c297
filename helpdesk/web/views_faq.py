"""The public FAQ: search with instant results, one page per entry, and a form that opens a ticket."""

from __future__ import annotations

import asyncio

import nh3
from aiohttp import web
from aiohttp.typedefs import Handler
from markdown_it import MarkdownIt
from markupsafe import Markup

from helpdesk.app.ratelimit import Throttled
from helpdesk.domain.errors import ValidationError
from helpdesk.web.auth import client_address
from helpdesk.web.context import ctx
from helpdesk.web.faq_sources import provenance
from helpdesk.web.render import render

_md = MarkdownIt("commonmark", {"html": False, "linkify": True}).enable("linkify")  # bare URLs become links
HONEYPOT = "website"
FORM_FIELDS = ("email", "name", "org_name", "subject", "text")


def render_markdown(text: str) -> Markup:
    """FAQ Markdown to HTML: raw HTML disabled in the source, then sanitised again."""
    html = nh3.clean(_md.render(text), link_rel="noopener noreferrer")
    return Markup(html)  # noqa: S704 - sanitised by nh3 just above


async def faq_home(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    q = request.query.get("q", "").strip()[:300]
    results = await c.faq.search(q, limit=10, purpose="staff") if q else []  # a search page: always ranked
    entries = [] if q else await c.faq.entries()
    return render("faq_home.html", request, {"q": q, "results": results,
                                                                     "entries": entries})


async def faq_search_json(request: web.Request) -> web.Response:
    q = request.query.get("q", "").strip()[:300]
    found = await ctx(request).faq.search(q, limit=8, purpose="staff") if q else []
    return web.json_response({"results": [{"id": r.id, "title": r.title, "snippet": r.snippet}
                                          for r in found]})


async def faq_entry(request: web.Request) -> web.StreamResponse:
    entry_id = request.match_info["id"]
    entry = await ctx(request).faq.entry(entry_id)
    known = await asyncio.to_thread(provenance)  # read once per process, then cached
    if entry is None:
        if entry_id in known.aliases:  # merged into another entry: old links keep working
            raise web.HTTPMovedPermanently(f"/faq/{known.aliases[entry_id]}")
        raise web.HTTPNotFound(text="Cette question n'existe pas ou n'est plus publiée.")
    return render("faq_entry.html", request, {"entry": entry, "body": render_markdown(entry.body),
                                              "sources": known.sources.get(entry.id, ()),
                                              "reviewed": known.reviewed.get(entry.id)})


def _form(request: web.Request, values: dict[str, str], error: str | None, status: int = 200) -> web.Response:
    return render("faq_ask.html", request, {"values": values, "error": error,
                                                                    "honeypot": HONEYPOT}, status=status)


async def ask_form(request: web.Request) -> web.StreamResponse:
    return _form(request, {"subject": request.query.get("q", "")[:200]}, None)


ASK_MAX_BYTES = 64 * 1024  # the anonymous form's whole body: a question, not an upload


TOO_BIG = (f"Votre message dépasse {ASK_MAX_BYTES // 1024} Ko : raccourcissez-le, ou écrivez-nous directement "
           "par courriel pour joindre des fichiers.")


@web.middleware
async def ask_body_cap(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Runs before the CSRF check (which reads the form): the anonymous form's body is capped at
    ASK_MAX_BYTES instead of the app-wide limit made for mail (25 MB), also without Content-Length."""
    if request.method == "POST" and request.path == "/faq/ask":
        if (request.content_length or 0) > ASK_MAX_BYTES:
            return web.Response(status=413, text=TOO_BIG)
        request = request.clone(client_max_size=ASK_MAX_BYTES)
        try:
            return await handler(request)
        except web.HTTPRequestEntityTooLarge:
            return web.Response(status=413, text=TOO_BIG)
    return await handler(request)


async def ask_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    values = {k: str(form.get(k, "")) for k in FORM_FIELDS}
    if str(form.get(HONEYPOT, "")).strip():
        # A robot filled the hidden field: answer as if all went well, store nothing.
        return render("faq_thanks.html", request, {})
    try:
        await ctx(request).requests.public_form(client=client_address(request), **values)
    except Throttled:
        return _form(request, values, "Vous avez déjà envoyé plusieurs demandes : merci de patienter une heure "
                                      "ou d'écrire directement à notre adresse.", status=429)
    except ValidationError as exc:
        return _form(request, values, str(exc).capitalize() + ".", status=400)
    return render("faq_thanks.html", request, {})


def routes() -> list[web.RouteDef]:
    return [
        web.get("/faq", faq_home),
        web.get("/faq/search.json", faq_search_json),
        web.get("/faq/ask", ask_form),
        web.post("/faq/ask", ask_submit),
        web.get(r"/faq/{id:[a-z0-9-]+}", faq_entry),
    ]
