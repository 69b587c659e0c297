"""The schema.data.gouv.fr Table Schemas bundled for offline use: a dated snapshot (``schemas/snapshot.json``
lists each schema's catalogue name, version and file) and its refresh from the catalogue.

``update(catalogue_url, directory, get)`` reads the catalogue (``schemas.json`` of schema.data.gouv.fr:
``{"schemas": [{"name", "versions": [{"version_name", "schema_url"}]}]}``), downloads for each bundled
schema the pinned version, or else the catalogue's newest, and rewrites the manifest. ``get`` is the
I/O port (URL -> bytes), so the refresh is tested against a fake catalogue on 127.0.0.1.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

SNAPSHOT_DIR = Path(__file__).parent / "schemas"
MANIFEST = "snapshot.json"
MAX_SCHEMA_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class SchemaEntry:
    name: str  # catalogue name, e.g. scdl/subventions
    title: str
    version: str
    family: str  # "SCDL" or "schema.data.gouv.fr"
    descriptor: dict[str, Any]

    @property
    def fields(self) -> list[dict[str, Any]]:
        return list(self.descriptor["fields"])

    @property
    def required(self) -> list[str]:
        return [f["name"] for f in self.fields if f.get("constraints", {}).get("required")]

    @property
    def custom_checks(self) -> list[dict[str, Any]]:
        return list(self.descriptor.get("custom_checks") or [])

    @property
    def label(self) -> str:
        prefix = "SCDL " if self.family == "SCDL" else "schéma "
        return f"{prefix}{self.title} {self.version}"


def manifest(directory: Path = SNAPSHOT_DIR) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    return data


@cache
def bundled(directory: Path = SNAPSHOT_DIR) -> tuple[SchemaEntry, ...]:
    out = []
    for item in manifest(directory)["schemas"]:
        d = json.loads((directory / item["file"]).read_text(encoding="utf-8"))
        out.append(SchemaEntry(item["name"], item["title"], item["version"], item.get("family", "SCDL"), d))
    return tuple(out)


def _version_key(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in v.lstrip("v").split("."))


def _is_release(v: str) -> bool:
    return all(p.isdigit() for p in v.lstrip("v").split("."))


def update(catalogue_url: str, directory: Path, get: Callable[[str], bytes], *, today: date) -> list[str]:
    """Refresh the snapshot in ``directory`` from the catalogue; the list of changes, in English.

    Every schema is downloaded and checked before anything is written: a bad download changes nothing.
    Pre-releases (« 0.10.0-rc ») are never picked; a pinned version stays pinned.
    """
    current = manifest(directory)
    catalogue = json.loads(get(catalogue_url))
    by_name = {s["name"]: s for s in catalogue.get("schemas", []) if isinstance(s, dict) and "name" in s}
    changes: list[str] = []
    planned: list[tuple[dict[str, Any], str, str, dict[str, Any]]] = []
    for item in current["schemas"]:
        entry = by_name.get(item["name"])
        if entry is None:
            changes.append(f"{item['name']}: not in the catalogue, kept {item['version']}")
            continue
        versions = {v["version_name"]: v["schema_url"] for v in entry.get("versions", [])
                    if isinstance(v, dict) and "version_name" in v and "schema_url" in v}
        releases = [v for v in versions if _is_release(v)]
        wanted = item.get("pin") or max(releases, key=_version_key, default=None)
        if wanted is None or wanted not in versions:
            changes.append(f"{item['name']}: version {wanted} not published, kept {item['version']}")
            continue
        raw = get(versions[wanted])
        if len(raw) > MAX_SCHEMA_BYTES:
            raise ValueError(f"{versions[wanted]}: schema larger than {MAX_SCHEMA_BYTES} bytes")
        try:
            descriptor = json.loads(raw)
        except ValueError as exc:
            raise ValueError(f"{versions[wanted]}: not JSON ({exc})") from exc
        if not isinstance(descriptor, dict) or not isinstance(descriptor.get("fields"), list):
            raise ValueError(f"{versions[wanted]}: not a Table Schema (no fields)")
        planned.append((item, wanted, f"{item['name'].replace('/', '.')}-{wanted}.json", descriptor))
    for item, wanted, filename, descriptor in planned:
        (directory / filename).write_text(json.dumps(descriptor, ensure_ascii=False, indent=2) + "\n",
                                          encoding="utf-8")
        if item["version"] != wanted or item["file"] != filename:
            old = directory / item["file"]
            if old.name != filename and old.exists():
                old.unlink()
            changes.append(f"{item['name']}: {item['version']} -> {wanted}")
        item["version"], item["file"] = wanted, filename
    current["taken"] = today.isoformat()
    current["source"] = f"{catalogue_url} (refreshed by `helpdesk checks update-schemas`)"
    (directory / MANIFEST).write_text(json.dumps(current, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    bundled.cache_clear()
    return changes
