"""Recognise references to published data in the text of a message. Pure: text in, references out.

What is recognised:

- data.gouv.fr dataset pages and API URLs (``/fr/datasets/<slug>/``, ``/api/1/datasets/<id>/``), resource
  permalinks (``/fr/datasets/r/<uuid>``), resources named in a dataset page's fragment
  (``#/resources/<uuid>``, ``#resource-<uuid>``) or in an API URL (``/resources/<uuid>/``);
- a bare slug or 24-hex dataset id only when a phrase introduces it (« jeu de données : mon-slug »);
- regional catalogue (GeoNetwork) record links: ``catalog.search#/metadata/<uuid>``, ``api/records/<uuid>``,
  ``metadata.show?uuid=<uuid>``, a CSW ``GetRecordById`` URL, and bare UUIDs;
- any http(s) link to a CSV, XLSX, ZIP, XML or JSON file.

Bounded work on hostile text: only the first ``MAX_TEXT`` characters are read, every pattern is linear
(bounded character classes, no nested quantifiers), a URL is at most ``MAX_URL`` characters, and at most
``MAX_REFERENCES`` references come out of one message.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qs, unquote, urlsplit

MAX_TEXT = 100_000
MAX_URL = 2_000
MAX_REFERENCES = 8
DATAGOUV_HOSTS = frozenset({"www.data.gouv.fr", "data.gouv.fr"})
FILE_SUFFIXES = (".csv", ".xlsx", ".zip", ".xml", ".json", ".geojson")

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_URL_RE = re.compile(r"https?://[^\s<>\"'`\[\]{}|\\^]{1," + str(MAX_URL) + "}", re.IGNORECASE)
_UUID_RE = re.compile(r"(?<![0-9A-Za-z-])(" + _UUID + r")(?![0-9A-Za-z-])")
_UUID_FULL = re.compile(_UUID + r"\Z")
_OBJECT_ID = re.compile(r"[0-9a-f]{24}\Z")
_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,198}[a-z0-9])?\Z")
# « jeu de données : mon-slug », « dataset mon-slug », « slug "mon-slug" »: the introducing phrase, at most a
# few separator characters, then a candidate that must look like a slug (checked afterwards).
_INTRODUCED_RE = re.compile(
    r"\b(?:jeu\s{1,3}de\s{1,3}donn[ée]es|jdd|dataset|slug)(\s{0,3}[:«\"'(]\s{0,3}|\s{1,3})([a-z0-9][a-z0-9-]{2,199})",
    re.IGNORECASE,
)
_DATASET_PATH = re.compile(r"/(?:[a-z]{2}/)?datasets/([^/?#]{1,200})/?\Z")
_RESOURCE_PERMALINK = re.compile(r"/(?:[a-z]{2}/)?datasets/r/(" + _UUID + r")/?\Z")
_API_DATASET = re.compile(r"/api/[12]/datasets/([^/?#]{1,200})(?:/resources/(" + _UUID + r"))?/?")
_API_RESOURCE = re.compile(r"/api/2/datasets/resources/(" + _UUID + r")/?")
_FRAGMENT_RESOURCE = re.compile(r"resources?[/-](" + _UUID + r")")
_RECORD_FRAGMENT = re.compile(r"/metadata/([^/?#&]{1,200})")
_RECORD_PATH = re.compile(r"/api/(?:[0-9.]+/)?records/([^/?#]{1,200})")
_TRAILING = ".,;:!?)»>'\""
_RESERVED_SLUGS = frozenset({"r", "search", "new", "suggest", "licenses", "frequencies", "badges", "schemas",
                             "community_resources", "resources", "recent.atom"})


class RefKind(StrEnum):
    DATASET = "dataset"  # value: a data.gouv.fr slug or id
    RESOURCE = "resource"  # value: a data.gouv.fr resource uuid; dataset: its dataset when the URL names it
    RECORD = "record"  # value: a catalogue record identifier (usually a UUID)
    UUID = "uuid"  # a bare UUID: a catalogue record or a data.gouv.fr resource, the service tries both
    FILE = "file"  # value: the URL of a CSV, XLSX, ZIP, XML or JSON file


@dataclass(frozen=True, slots=True)
class Reference:
    kind: RefKind
    value: str
    url: str | None = None  # the link as written, when there was one
    dataset: str | None = None  # for a resource: the dataset slug or id the link names

    def key(self) -> tuple[str, str]:
        return (self.kind.value, self.value.lower())

    def as_json(self) -> dict[str, str | None]:
        return {"kind": self.kind.value, "value": self.value, "url": self.url, "dataset": self.dataset}


def find_references(text: str, *, limit: int = MAX_REFERENCES) -> list[Reference]:
    """The references of a message, in the order they appear, each once, at most ``limit``."""
    text = text[:MAX_TEXT]
    found: list[Reference] = []
    seen: set[tuple[str, str]] = set()
    url_spans: list[tuple[int, int]] = []

    def add(ref: Reference | None) -> bool:
        if ref is None or ref.key() in seen:
            return len(found) < limit
        seen.add(ref.key())
        found.append(ref)
        return len(found) < limit

    positioned: list[tuple[int, Reference]] = []
    for match in _URL_RE.finditer(text):
        url = match.group(0).rstrip(_TRAILING)
        url_spans.append((match.start(), match.end()))
        if len(positioned) >= limit * 4:  # enough candidates: later links only mask what they contain
            continue
        ref = reference_of_url(url)
        if ref is not None:
            positioned.append((match.start(), ref))
    for match in _INTRODUCED_RE.finditer(text):
        if _inside(match.start(2), url_spans):
            continue
        slug = match.group(2).rstrip("-").lower()
        if _introduced_slug(slug, explicit=bool(match.group(1).strip())):
            positioned.append((match.start(2), Reference(RefKind.DATASET, slug)))
        if len(positioned) >= limit * 8:
            break
    for match in _UUID_RE.finditer(text):
        if _inside(match.start(1), url_spans):
            continue
        positioned.append((match.start(1), Reference(RefKind.UUID, match.group(1).lower())))
        if len(positioned) >= limit * 12:
            break
    positioned.sort(key=lambda p: p[0])
    for _, ref in positioned:
        if not add(ref):
            break
    return _without_bare_duplicates(found)


def reference_of_url(url: str) -> Reference | None:
    """What one link refers to, or None when it is not published data we know how to look at."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:  # a malformed port or IPv6 literal
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    path = unquote(parts.path)
    if host in DATAGOUV_HOSTS:
        return _datagouv_reference(url, path, parts.fragment)
    record = _record_reference(url, path, parts.query, parts.fragment)
    if record is not None:
        return record
    if path.lower().endswith(FILE_SUFFIXES):
        return Reference(RefKind.FILE, url, url)
    return None


def _datagouv_reference(url: str, path: str, fragment: str) -> Reference | None:
    if m := _RESOURCE_PERMALINK.search(path):
        return Reference(RefKind.RESOURCE, m.group(1).lower(), url)
    if m := _API_RESOURCE.search(path):
        return Reference(RefKind.RESOURCE, m.group(1).lower(), url)
    if m := _API_DATASET.search(path):
        ident = m.group(1)
        if m.group(2):
            return Reference(RefKind.RESOURCE, m.group(2).lower(), url, dataset=ident)
        return Reference(RefKind.DATASET, ident, url) if _looks_like_dataset_id(ident) else None
    if m := _DATASET_PATH.search(path):
        ident = m.group(1)
        if not _looks_like_dataset_id(ident):
            return None
        if f := _FRAGMENT_RESOURCE.search(fragment):
            return Reference(RefKind.RESOURCE, f.group(1).lower(), url, dataset=ident)
        return Reference(RefKind.DATASET, ident, url)
    if path.lower().endswith(FILE_SUFFIXES):
        return Reference(RefKind.FILE, url, url)
    return None


def _record_reference(url: str, path: str, query: str, fragment: str) -> Reference | None:
    if "catalog.search" in path and (m := _RECORD_FRAGMENT.search(unquote(fragment))):
        return Reference(RefKind.RECORD, m.group(1), url)
    if m := _RECORD_PATH.search(path):
        return Reference(RefKind.RECORD, m.group(1), url)
    lowered = path.lower()
    if "metadata.show" in lowered or "/csw" in lowered:
        params = {k.lower(): v for k, v in parse_qs(query[:MAX_URL]).items()}
        ident = (params.get("uuid") or params.get("id") or [""])[0]
        if ident and len(ident) <= 200 and ("metadata.show" in lowered
                                            or (params.get("request") or [""])[0].lower() == "getrecordbyid"):
            return Reference(RefKind.RECORD, ident, url)
    return None


def _looks_like_dataset_id(ident: str) -> bool:
    if ident.lower() in _RESERVED_SLUGS:
        return False
    return bool(_OBJECT_ID.match(ident) or ("-" in ident and _SLUG.match(ident)))


def _introduced_slug(slug: str, *, explicit: bool) -> bool:
    """« jeu de données : mon-jeu » (explicit) or « le jeu de données budget-primitif-2025 »; never « le jeu de
    données est-il … » (a bare word after the phrase needs two hyphens to read as a slug)."""
    if _UUID_FULL.match(slug) or not _looks_like_dataset_id(slug):
        return False
    if _OBJECT_ID.match(slug):
        return explicit
    return slug.count("-") >= (1 if explicit else 2)


def _inside(pos: int, spans: list[tuple[int, int]]) -> bool:
    # spans are sorted and disjoint (finditer order): one binary search, so hostile text stays O(n log n).
    i = bisect_right(spans, (pos, MAX_TEXT + 1)) - 1
    return i >= 0 and spans[i][0] <= pos < spans[i][1]


def _without_bare_duplicates(refs: list[Reference]) -> list[Reference]:
    """A bare UUID that a link already names (as a resource or a record) adds nothing."""
    named = {r.value.lower() for r in refs if r.kind in (RefKind.RESOURCE, RefKind.RECORD)}
    return [r for r in refs if not (r.kind is RefKind.UUID and r.value in named)]
