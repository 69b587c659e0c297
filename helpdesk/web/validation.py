"""One validation layer for the web edge: bounded ids, bounded bodies, clean text, strict JSON bodies.

Every request passes :func:`guard` (a middleware) before authentication and the handlers:

- path ids (``/tickets/{number}``, ``/quarantine/{id}``…) beyond the database's integer range are a 404;
- query values and form fields holding NUL or a lone UTF-16 surrogate are a 400;
- request bodies are capped per route (aiohttp's ``client_max_size``), a larger body is a 413.

API bodies are read by :func:`json_body` into a pydantic model (strict types, unknown fields refused,
sizes capped, nesting limited before any recursive parse). Every refusal is a ``ValidationError`` (or
``NotFound``) with a French message, which the error middleware answers in its one shape; never a 500.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import pydantic
from aiohttp import web
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from helpdesk.domain.errors import NotFound, ValidationError
from helpdesk.domain.ids import DB_INT_MAX, parse_id

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
M = TypeVar("M", bound=BaseModel)

MAX_JSON_DEPTH = 32
API_BODY_MAX = 1024 * 1024  # bytes of one API request body
FORM_BODY_MAX = 1024 * 1024  # bytes of one HTML form post (but the portal's reply, which uploads files)
UPLOAD_BODY_MAX = 21 * 1024 * 1024  # the portal's reply form: text and attachments (app/portal/service.py)
UPLOAD_ROUTE = re.compile(r"/espace/demandes/\d{1,10}/repondre")
TEXT_MAX = 100_000  # characters of a reply or a note
TAG_MAX = 50  # characters of one tag
TAGS_MAX = 30  # tags on one ticket
QUERY_VALUE_MAX = 2000  # characters of one query-string value
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# Routes whose bodies keep the application-wide cap (channel webhooks check their own payloads).
OWN_BODY_LIMIT_PREFIXES = ("/hooks/", "/faq/ask")  # the anonymous form has its own, smaller cap (views_faq)

_SURROGATE = re.compile("[\ud800-\udfff]")
_BAD_CHARS_FR = "caractère interdit (NUL ou demi-paire UTF-16 isolée)"


# ---- text ---------------------------------------------------------------------------------------
def has_bad_chars(text: str) -> bool:
    """NUL (refused by PostgreSQL) or a lone surrogate (not encodable as UTF-8)."""
    return "\x00" in text or _SURROGATE.search(text) is not None


def _clean(text: str) -> str:
    if has_bad_chars(text):
        raise ValueError(_BAD_CHARS_FR)
    return text


CleanStr = Annotated[str, AfterValidator(_clean)]
DbId = Annotated[int, Field(ge=1, le=DB_INT_MAX)]
Text = Annotated[str, Field(min_length=1, max_length=TEXT_MAX), AfterValidator(_clean)]
Tag = Annotated[str, Field(max_length=TAG_MAX), AfterValidator(_clean)]


def check_text(value: str, label: str, *, max_length: int = TEXT_MAX) -> str:
    """A form field's text, refused (400) when it holds forbidden characters or is too long."""
    if has_bad_chars(value):
        raise ValidationError(f"« {label} » : {_BAD_CHARS_FR}")
    if len(value) > max_length:
        raise ValidationError(f"« {label} » : texte trop long (au plus {max_length} caractères)")
    return value


def tags_from_text(raw: str) -> list[str]:
    """Tags typed in the ticket form (separated by commas or semicolons), within the API's limits."""
    tags = [t.strip() for t in re.split(r"[,;]", check_text(raw, "étiquettes", max_length=TAGS_MAX * (TAG_MAX + 2)))]
    tags = [t for t in tags if t]
    if len(tags) > TAGS_MAX:
        raise ValidationError(f"trop d'étiquettes (au plus {TAGS_MAX})")
    if any(len(t) > TAG_MAX for t in tags):
        raise ValidationError(f"étiquette trop longue (au plus {TAG_MAX} caractères)")
    return tags


# ---- numbers in query strings and forms ----------------------------------------------------------
def query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter within [low, high]; anything else is a 400 naming the parameter."""
    raw = request.query.get(name, "")
    if raw == "":
        return default
    value = parse_id(raw, minimum=0)
    if value is None or not low <= value <= high:
        raise ValidationError(f"le paramètre « {name} » doit être un entier entre {low} et {high}")
    return value


def optional_id(raw: str | None, label: str) -> int | None:
    """An identifier typed in a form or a query (empty means none); anything else is a 400."""
    if raw is None or raw.strip() == "":
        return None
    value = parse_id(raw.strip().lstrip("#"))
    if value is None:
        raise ValidationError(f"« {label} » doit être un numéro entre 1 et {DB_INT_MAX}")
    return value


# ---- JSON bodies ---------------------------------------------------------------------------------
# A JSON string, escapes included; the closing quote is optional so that the pattern always matches
# where it starts and never rescans (linear even on "\"\"\"… without an end).
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_INNER_PAIR = re.compile(rb"\[\]|\{\}")


def json_depth_exceeds(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when the JSON text nests arrays/objects deeper than ``limit``, found without recursion.

    Strings are blanked in one left-to-right pass, the brackets kept, then innermost pairs are
    removed ``limit`` times (each pass linear, in C): whatever remains nests deeper than the limit
    (or is unbalanced, which the parser would refuse anyway).
    """
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    for _ in range(limit):
        if not brackets:
            return False
        brackets, n = _INNER_PAIR.subn(b"", brackets)
        if n == 0:
            break
    return bool(brackets)


def too_large(limit: int, request: web.Request) -> web.HTTPRequestEntityTooLarge:
    message = f"corps de la requête trop volumineux (au plus {limit // 1024} Kio)"
    if request.path.startswith("/api/"):
        return web.HTTPRequestEntityTooLarge(limit, request.content_length or limit + 1,
                                             text=json.dumps({"error": message}, ensure_ascii=False),
                                             content_type="application/json")
    return web.HTTPRequestEntityTooLarge(limit, request.content_length or limit + 1, text=message)


async def read_body(request: web.Request, limit: int) -> bytes:
    """The whole body, refused with a 413 past ``limit`` bytes (whatever Content-Length claims)."""
    if request.content_length is not None and request.content_length > limit:
        raise too_large(limit, request)
    data = bytearray()
    while True:
        chunk = await request.content.read(64 * 1024)
        if not chunk:
            return bytes(data)
        data += chunk
        if len(data) > limit:
            raise too_large(limit, request)


class ApiBody(BaseModel):
    """Base of every API body: strict JSON types, no unknown field."""

    model_config = ConfigDict(strict=True, extra="forbid")


async def json_body(request: web.Request, model: type[M], *, limit: int = API_BODY_MAX) -> M:
    raw = await read_body(request, limit)
    if json_depth_exceeds(raw):
        raise ValidationError(f"corps JSON trop imbriqué (au plus {MAX_JSON_DEPTH} niveaux)")
    try:
        return model.model_validate_json(raw)
    except pydantic.ValidationError as exc:
        raise ValidationError(french_errors(exc)) from None


# ---- French wording of pydantic's errors --------------------------------------------------------
_FRENCH: dict[str, str] = {
    "missing": "champ obligatoire",
    "extra_forbidden": "champ inconnu",
    "int_type": "un entier est attendu",
    "int_parsing": "un entier est attendu",
    "int_from_float": "un entier est attendu",
    "string_type": "une chaîne de caractères est attendue",
    "list_type": "une liste est attendue",
    "model_type": "un objet JSON est attendu",
    "model_attributes_type": "un objet JSON est attendu",
    "dict_type": "un objet JSON est attendu",
    "enum": "valeur non permise (valeurs possibles : {expected})",
    "literal_error": "valeur non permise (valeurs possibles : {expected})",
    "string_too_long": "texte trop long (au plus {max_length} caractères)",
    "string_too_short": "ne peut pas être vide",
    "too_long": "trop d'éléments (au plus {max_length})",
    "too_short": "pas assez d'éléments",
    "less_than_equal": "valeur trop grande (au plus {le})",
    "greater_than_equal": "valeur trop petite (au moins {ge})",
    "json_invalid": "corps JSON invalide",
    "json_type": "corps JSON invalide",
}


def _french_one(err: Any) -> str:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind == "value_error" and "error" in ctx:
        text = str(ctx["error"])
    elif kind in _FRENCH:
        try:
            text = _FRENCH[kind].format(**{k: str(v) for k, v in ctx.items()})
        except (KeyError, IndexError):
            text = _FRENCH[kind].split(" (")[0]
    else:
        text = "valeur invalide"
    where = ".".join(str(p) for p in err.get("loc", ()))
    return f"« {where} » : {text}" if where else text


def french_errors(exc: pydantic.ValidationError) -> str:
    """pydantic's errors in French, naming each field: « tags.3 » : texte trop long (au plus 50 caractères)."""
    errors = exc.errors(include_url=False, include_input=False)
    parts = [_french_one(e) for e in errors[:5]]
    more = f" (et {len(errors) - 5} autre(s))" if len(errors) > 5 else ""
    return "requête invalide : " + "; ".join(parts) + more


# ---- the middleware ------------------------------------------------------------------------------
def _check_path(request: web.Request) -> None:
    for value in request.match_info.values():
        if value.isascii() and value.isdigit() and parse_id(value, minimum=0) is None:
            raise NotFound("page introuvable : numéro hors limites")


def _check_query(request: web.Request) -> None:
    for name, value in request.query.items():
        if has_bad_chars(name) or has_bad_chars(value):
            raise ValidationError(f"paramètre « {name[:40]} » : {_BAD_CHARS_FR}")
        if len(value) > QUERY_VALUE_MAX:
            raise ValidationError(f"paramètre « {name[:40]} » trop long (au plus {QUERY_VALUE_MAX} caractères)")


async def _check_form(request: web.Request) -> None:
    try:
        form = await request.post()
    except (ValueError, UnicodeDecodeError):  # not UTF-8, or a malformed multipart body
        raise ValidationError("formulaire illisible") from None
    for name, value in form.items():
        if isinstance(value, str) and (has_bad_chars(name) or has_bad_chars(value)):
            raise ValidationError(f"champ « {name[:40]} » : {_BAD_CHARS_FR}")


_DEFAULT_FRENCH = {
    404: "page introuvable", 405: "méthode non permise sur cette adresse",
    413: "corps de la requête trop volumineux", 400: "requête invalide",
}


def _french_default(exc: web.HTTPException, request: web.Request) -> web.HTTPException:
    """aiohttp's own English bodies ("404: Not Found") in French, as JSON on the API."""
    if exc.status not in _DEFAULT_FRENCH or not (exc.text or "").startswith(f"{exc.status}:"):
        return exc
    message = _DEFAULT_FRENCH[exc.status]
    exc.content_type = "application/json" if request.path.startswith("/api/") else "text/plain"
    exc.text = json.dumps({"error": message}, ensure_ascii=False) if request.path.startswith("/api/") \
        else message[0].upper() + message[1:] + "."
    return exc


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await _guarded(request, handler)
    except web.HTTPException as exc:
        raise _french_default(exc, request) from None


async def _guarded(request: web.Request, handler: Handler) -> web.StreamResponse:
    _check_path(request)
    _check_query(request)
    if request.method not in SAFE_METHODS and not request.path.startswith(OWN_BODY_LIMIT_PREFIXES):
        limit = API_BODY_MAX if request.path.startswith("/api/") else \
            UPLOAD_BODY_MAX if UPLOAD_ROUTE.fullmatch(request.path) else FORM_BODY_MAX
        if request.content_length is not None and request.content_length > limit:
            raise too_large(limit, request)
        request = request.clone(client_max_size=limit)
        if request.content_type in FORM_TYPES:
            await _check_form(request)
    return await handler(request)
