"""SCDL schemas bundled with the package (never fetched): pick the one a table's columns match,
then validate the table against it with frictionless, errors by row and column.

Bundled: budget 0.8.1, délibérations 2.1.x, subventions 2.1.1 (field names as published on
schema.data.gouv.fr). A table matches a schema when half of the schema's required fields are among
its column names (compared without case).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from helpdesk.checks.report import Report, Severity

SCHEMA_DIR = Path(__file__).parent / "schemas"
SHOWN = 5
CONSTRAINT_FR = {
    "required": "valeur obligatoire manquante",
    "enum": "valeur non autorisée",
    "pattern": "valeur qui ne respecte pas le format attendu",
    "minLength": "valeur trop courte",
    "maxLength": "valeur trop longue",
    "minimum": "valeur trop petite",
    "maximum": "valeur trop grande",
}
TYPE_FR = {"number": "un nombre (point décimal)", "integer": "un nombre entier", "date": "une date AAAA-MM-JJ",
           "year": "une année AAAA", "boolean": "oui ou non", "string": "un texte"}


@dataclass(frozen=True, slots=True)
class ScdlSchema:
    name: str
    title: str
    version: str
    descriptor: dict[str, Any]

    @property
    def fields(self) -> list[dict[str, Any]]:
        return list(self.descriptor["fields"])

    @property
    def required(self) -> list[str]:
        return [f["name"] for f in self.fields if f.get("constraints", {}).get("required")]


@cache
def bundled() -> tuple[ScdlSchema, ...]:
    out = []
    for path in sorted(SCHEMA_DIR.glob("scdl-*.json")):
        d = json.loads(path.read_text(encoding="utf-8"))
        table_schema = {"fields": d["fields"], "fieldsMatch": d.get("fieldsMatch", "partial")}
        out.append(ScdlSchema(d["name"], d["title"], d["version"], table_schema))
    return tuple(out)


def match(columns: list[str]) -> ScdlSchema | None:
    have = {c.strip().casefold() for c in columns}
    best: tuple[float, ScdlSchema] | None = None
    for schema in bundled():
        required = [n.casefold() for n in schema.required]
        share = sum(n in have for n in required) / len(required)
        if share >= 0.5 and (best is None or share > best[0]):
            best = (share, schema)
    return best[1] if best else None


def check_schema(schema: ScdlSchema, header: list[str], rows: list[list[str]], numbers: list[int],
                 report: Report, skip_columns: set[str]) -> None:
    """Missing fields, then frictionless on the rows (re-encoded as UTF-8 CSV with a comma)."""
    report.details["schema"] = f"SCDL {schema.title} {schema.version}"
    exact = {h.strip() for h in header}
    folded = {h.strip().casefold(): h.strip() for h in header}
    for name in schema.required:
        if name in exact:
            continue
        other = folded.get(name.casefold())
        hint = (f" (une colonne « {other} » existe : respectez exactement la casse du schéma)" if other
                else "")
        report.add("schema-field-missing", Severity.ERROR,
                   f"Colonne obligatoire « {name} » absente du fichier (schéma SCDL {schema.title}){hint}.",
                   column=name)
    _frictionless(schema, header, rows, numbers, report, skip_columns)


def _frictionless(schema: ScdlSchema, header: list[str], rows: list[list[str]], numbers: list[int],
                  report: Report, skip_columns: set[str]) -> None:
    from frictionless import Resource, Schema

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([h.strip() for h in header])
    writer.writerows(rows)
    resource = Resource(data=buf.getvalue().encode("utf-8"), format="csv", encoding="utf-8",
                        schema=Schema.from_descriptor(schema.descriptor))
    result = resource.validate(limit_errors=5000)
    fields = {f["name"]: f for f in schema.fields}
    grouped: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for task in result.tasks:
        for err in task.errors:
            field_name = getattr(err, "field_name", None)
            row_number = getattr(err, "row_number", None)
            if err.type not in ("type-error", "constraint-error") or not field_name or row_number is None:
                continue
            constraint = err.note.split('"')[1] if err.type == "constraint-error" and '"' in err.note else ""
            if field_name in skip_columns and (err.type == "type-error" or constraint == "pattern"):
                continue  # already reported with its cause (date, decimal or identifier format)
            # row_number counts the rewritten header as row 1: map back to the file's line numbers.
            line = numbers[row_number - 2] if 0 <= row_number - 2 < len(numbers) else row_number
            grouped.setdefault((field_name, constraint or "type"), []).append((line, str(getattr(err, "cell", ""))))
    for (field_name, what), hits in grouped.items():
        spec = fields.get(field_name, {})
        if what == "type":
            label = f"valeur qui n'est pas {TYPE_FR.get(spec.get('type', 'string'), spec.get('type', ''))}"
        else:
            label = CONSTRAINT_FR.get(what, f"contrainte « {what} » non respectée")
            allowed = spec.get("constraints", {}).get("enum")
            if what == "enum" and allowed:
                label += " (valeurs permises : " + ", ".join(f"« {v} »" for v in allowed) + ")"
            if what == "pattern":
                label += f" (motif {spec['constraints']['pattern']})"
        lines = ", ".join(str(r) for r, _ in hits[:SHOWN]) + ("…" if len(hits) > SHOWN else "")
        values = ", ".join(f"« {v} »" for _, v in hits[:3] if v)
        report.add("schema-error", Severity.ERROR,
                   f"{field_name} : {label} — {len(hits)} cellule(s), ligne(s) {lines}"
                   + (f" ; valeurs {values}" if values else "") + ".",
                   row=hits[0][0], column=field_name)
