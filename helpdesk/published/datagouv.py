"""The data.gouv.fr (udata) API, read through our Fetcher.

Why not ``datagouv-client`` (PyPI): it is synchronous (niquests), does its own HTTP and so could not obey
the allow-list, the private-address rule, the caps and the rate limits of ``fetch.py``; the few GET calls
we need are simple. The response shapes are those of udata's serializers (``udata/core/dataset/
api_fields.py``: Dataset, Resource, HarvestDatasetMetadata, Schema; ``udata/harvest/models.py``:
HarvestSource and its ``last_job``; API v2 ``/datasets/resources/<rid>/`` answers ``{"resource",
"dataset_id"}``). Parsing is pure and tolerant: a field missing or of the wrong type becomes None.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from helpdesk.published.fetch import DEFAULT_API_URL, Fetched, Fetcher, FetchError
from helpdesk.published.model import DatasetInfo, HarvestInfo, ResourceInfo

MAX_RESOURCES_PARSED = 200
# udata licence ids → the titles data.gouv.fr shows (``/api/1/datasets/licenses/``), for the common ones.
LICENSES = {
    "lov2": "Licence Ouverte / Open Licence version 2.0",
    "fr-lo": "Licence Ouverte / Open Licence",
    "odc-odbl": "Open Database License (ODbL)",
    "odc-by": "Open Data Commons Attribution License",
    "odc-pddl": "Open Data Commons Public Domain Dedication and License (PDDL)",
    "cc-by": "Creative Commons Attribution",
    "cc-by-sa": "Creative Commons Attribution Share-Alike",
    "cc-zero": "Creative Commons CCZero",
    "notspecified": "Licence non spécifiée",
    "other-at": "Autre (Attribution)",
    "other-open": "Autre (Ouverte)",
    "other-pd": "Autre (Domaine public)",
    "other-closed": "Autre (Fermée)",
}


class ApiError(FetchError):
    """The API answered, but not with what we can read (5xx, not JSON)."""


def api2_url(api_url: str) -> str:
    base = api_url.rstrip("/")
    return base[: -len("/api/1")] + "/api/2" if base.endswith("/api/1") else base.replace("/api/1", "/api/2")


class DatagouvClient:
    def __init__(self, fetcher: Fetcher, api_url: str = DEFAULT_API_URL) -> None:
        self.fetcher = fetcher
        self.api_url = api_url.rstrip("/")

    async def dataset(self, ident: str, *, ticket: str | None = None) -> DatasetInfo | None:
        """The dataset by slug or id; None when data.gouv.fr says it does not exist."""
        data = await self._json(f"{self.api_url}/datasets/{quote(ident, safe='')}/", ticket)
        return None if data is None else parse_dataset(data)

    async def resource_dataset(self, rid: str, *, ticket: str | None = None) -> str | None:
        """The id of the dataset a resource belongs to; None when the resource is unknown."""
        data = await self._json(f"{api2_url(self.api_url)}/datasets/resources/{quote(rid, safe='')}/", ticket)
        if data is None:
            return None
        dataset_id = data.get("dataset_id")
        return str(dataset_id) if dataset_id else None

    async def harvest_source(self, source_id: str, *, ticket: str | None = None) -> dict[str, Any] | None:
        return await self._json(f"{self.api_url}/harvest/source/{quote(source_id, safe='')}/", ticket)

    async def _json(self, url: str, ticket: str | None) -> dict[str, Any] | None:
        answer = await self.fetcher.get(url, ticket=ticket, accept="application/json", max_bytes=8 * 1024 * 1024)
        if answer.status in (404, 410):
            return None
        return _decode(answer)


def _decode(answer: Fetched) -> dict[str, Any]:
    if answer.status >= 400:
        raise ApiError("api-error", f"data.gouv.fr a répondu {answer.status}")
    try:
        data = json.loads(answer.body)
    except (ValueError, RecursionError) as exc:
        raise ApiError("api-error", "réponse de data.gouv.fr illisible (pas du JSON)") from exc
    if not isinstance(data, dict):
        raise ApiError("api-error", "réponse de data.gouv.fr inattendue")
    return data


def parse_dataset(d: dict[str, Any]) -> DatasetInfo:
    org = _dict(d.get("organization"))
    owner = _dict(d.get("owner"))
    quality = _dict(d.get("quality"))
    license_id = _str(d.get("license"))
    schema = _dict(d.get("schema"))
    resources = d.get("resources")
    return DatasetInfo(
        id=_str(d.get("id")) or "",
        slug=_str(d.get("slug")) or "",
        title=_str(d.get("title")) or "(sans titre)",
        page=_str(d.get("page")),
        organization=_str(org.get("name")),
        owner=" ".join(p for p in (_str(owner.get("first_name")), _str(owner.get("last_name"))) if p) or None,
        license_id=license_id,
        license=LICENSES.get(license_id or "", license_id),
        last_update=_date(d.get("last_update")) or _date(d.get("last_modified")),
        frequency=_str(d.get("frequency")),
        schema=_str(schema.get("name")),
        archived=bool(d.get("archived")),
        deleted=bool(d.get("deleted")),
        private=bool(d.get("private")),
        quality={k: v for k, v in quality.items() if isinstance(v, bool)},
        quality_score=float(quality["score"]) if isinstance(quality.get("score"), int | float) else None,
        harvest=parse_harvest(d.get("harvest")),
        resources=tuple(parse_resource(r) for r in resources[:MAX_RESOURCES_PARSED] if isinstance(r, dict))
        if isinstance(resources, list) else (),
    )


def parse_resource(r: dict[str, Any]) -> ResourceInfo:
    extras = _dict(r.get("extras"))
    schema = _dict(r.get("schema"))
    valid = extras.get("validation-report:valid_resource")
    nb_errors = extras.get("validation-report:nb_errors")
    status = extras.get("check:status")
    available = extras.get("check:available")
    filesize = r.get("filesize")
    return ResourceInfo(
        id=_str(r.get("id")) or "",
        title=_str(r.get("title")) or "(ressource sans titre)",
        url=_str(r.get("url")) or _str(r.get("latest")) or "",
        format=(_str(r.get("format")) or "").lower() or None,
        filetype=_str(r.get("filetype")),
        type=_str(r.get("type")),
        filesize=filesize if isinstance(filesize, int) and not isinstance(filesize, bool) else None,
        last_modified=_date(r.get("last_modified")),
        schema=_str(schema.get("name")) or _str(extras.get("validation-report:schema_name")),
        schema_version=_str(schema.get("version")),
        available=available if isinstance(available, bool) else None,
        http_status=status if isinstance(status, int) and not isinstance(status, bool) else None,
        validation_valid=valid if isinstance(valid, bool) else None,
        validation_errors=nb_errors if isinstance(nb_errors, int) and not isinstance(nb_errors, bool) else None,
    )


def parse_harvest(h: Any, source: dict[str, Any] | None = None) -> HarvestInfo | None:
    if not isinstance(h, dict) or not any(h.get(k) for k in ("source_id", "remote_id", "domain", "backend")):
        return None
    source = source or {}
    job = _dict(source.get("last_job"))
    errors = job.get("errors")
    failed = _dict(_dict(_dict(job.get("items")).get("by_status"))).get("failed")
    problems = (len(errors) if isinstance(errors, list) else 0) + (failed if isinstance(failed, int) else 0)
    return HarvestInfo(
        backend=_str(h.get("backend")),
        domain=_str(h.get("domain")),
        remote_id=_str(h.get("remote_id")),
        remote_url=_str(h.get("remote_url")),
        source_id=_str(h.get("source_id")),
        last_update=_date(h.get("last_update")),
        archived=_str(h.get("archived")),
        source_name=_str(source.get("name")),
        last_job_status=_str(job.get("status")),
        last_job_ended=_date(job.get("ended")),
        last_job_errors=problems,
        source_active=source["active"] if isinstance(source.get("active"), bool) else None,
    )


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()[:1000]
    return None


def _date(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
