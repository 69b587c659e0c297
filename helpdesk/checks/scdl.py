"""Tables checked against the official schema.data.gouv.fr Table Schemas (bundled snapshot, see catalog.py):
pick the schema a table's columns match, by field names or by the human labels agents write instead
(« Nom de l'attribuant » for nomAttribuant), then validate with frictionless and the schema's Validata
custom checks, errors grouped by column and rule with exact counts.

A table matches a schema when half of the schema's required fields are among its column names
(compared without case), or among its labels (compared with the fields' titles, accents and case aside).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from helpdesk.checks import custom_checks
from helpdesk.checks.catalog import SchemaEntry, bundled
from helpdesk.checks.report import Report, Severity, count_text, shown

ScdlSchema = SchemaEntry  # the name earlier code used
SHOWN = 5
MAX_ERRORS = 1_000  # frictionless builds each error at ~1 ms: beyond this, counts read « au moins N »
CONSTRAINT_FR = {
    "required": "valeur obligatoire manquante",
    "enum": "valeur non autorisée",
    "pattern": "valeur qui ne respecte pas le format attendu",
    "minLength": "valeur trop courte",
    "maxLength": "valeur trop longue",
    "minimum": "valeur trop petite",
    "maximum": "valeur trop grande",
    "unique": "valeur en double",
}
TYPE_FR = {"number": "un nombre (avec un point décimal, sans espace : 1250.50)", "integer": "un nombre entier",
           "date": "une date AAAA-MM-JJ", "datetime": "une date et heure AAAA-MM-JJTHH:MM:SS",
           "year": "une année AAAA", "boolean": "true ou false", "string": "un texte",
           "geopoint": "des coordonnées « [longitude, latitude] »"}
FORMAT_FR = {"uri": "une adresse web complète (commençant par http:// ou https://)",
             "email": "une adresse électronique valide"}
LIMIT_FR = {"minimum": "au moins {}", "maximum": "au plus {}", "minLength": "au moins {} caractères",
            "maxLength": "au plus {} caractères"}
LABEL_SCORE = 88
# The regulation's own words for the subsidy fields (décret 2017-779, arrêté du 17 novembre 2017), written by
# agents instead of the schema's titles: compared after this rewriting.
SYNONYMS = ((r"\bautorite administrative\b", "attribuant"), (r"\battributaire\b", "beneficiaire"),
            (r"\b(?:n|no|numero|num) (?=siret)", ""), (r"\bsiret\b", "id"), (r"\bidentification\b", "id"),
            (r"\bdecide\b", ""), (r"\bligne\b", ""))
STOPWORDS = {"de", "du", "des", "la", "le", "les", "l", "d", "a", "au", "aux", "en", "et"}


def _plain(text: str) -> str:
    s = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    s = re.sub(r"[^a-z0-9]+", " ", s).strip()
    for pattern, replacement in SYNONYMS:
        s = re.sub(pattern, replacement, s)
    return " ".join(w for w in s.split() if w not in STOPWORDS)


@dataclass(slots=True)
class Match:
    schema: SchemaEntry
    rename: dict[int, str] = field(default_factory=dict)  # column index -> field name, when matched by label

    @property
    def by_label(self) -> bool:
        return bool(self.rename)


def _label_map(schema: SchemaEntry, header: list[str]) -> dict[int, str]:
    """Columns named with human labels matched to fields (name, camelCase split, or title), best pairs first."""
    from rapidfuzz import fuzz

    candidates = {f["name"]: {c for c in (_plain(f["name"]), _plain(f.get("title", "")),
                                          _plain(re.sub(r"(?<!^)([A-Z])", r" \1", f["name"]))) if c}
                  for f in schema.fields}
    pairs: list[tuple[float, int, str]] = []
    for i, cell in enumerate(header):
        plain = _plain(cell)
        if not plain:
            continue
        for name, options in candidates.items():
            score = max((fuzz.token_set_ratio(plain, c) + fuzz.token_sort_ratio(plain, c)) / 2 for c in options)
            if score >= LABEL_SCORE:
                pairs.append((score, i, name))
    out: dict[int, str] = {}
    for _score, i, name in sorted(pairs, key=lambda p: (-p[0], p[1])):
        if i not in out and name not in out.values():
            out[i] = name
    return out


# Field names many tables share whatever their subject: they do not tell which schema a table follows.
GENERIC_FIELDS = {"id", "nom", "name", "libelle", "latitude", "longitude", "lat", "lon", "long", "x", "y", "insee",
                  "code_insee", "code_commune_insee", "commune", "adresse", "date", "date_maj", "siret", "siren",
                  "type", "objet", "montant", "observations", "commentaire", "url", "email", "telephone"}


def _distinctive(schema: SchemaEntry) -> list[str]:
    """The required fields that identify the schema (generic ones aside), or all fields if none is required."""
    required = schema.required or [f["name"] for f in schema.fields]
    return [n for n in required if n.casefold() not in GENERIC_FIELDS] or required


def match(columns: list[str]) -> SchemaEntry | None:
    found = match_table(columns)
    return found.schema if found else None


def match_table(columns: list[str]) -> Match | None:
    have = {c.strip().casefold() for c in columns}
    best: tuple[float, SchemaEntry] | None = None
    for schema in bundled():
        required = [n.casefold() for n in _distinctive(schema)]
        share = sum(n in have for n in required) / len(required)
        if share >= 0.5 and (best is None or share > best[0]):
            best = (share, schema)
    if best:
        return Match(best[1])
    best_label: tuple[float, SchemaEntry, dict[int, str]] | None = None
    for schema in bundled():
        mapping = _label_map(schema, columns)
        required = _distinctive(schema)
        share = sum(n in mapping.values() for n in required) / len(required)
        if share >= 0.5 and len(mapping) >= 3 and (best_label is None or share > best_label[0]):
            best_label = (share, schema, mapping)
    if best_label:
        return Match(best_label[1], best_label[2])
    return None


def check_schema(schema: SchemaEntry | Match, header: list[str], rows: list[list[str]], numbers: list[int],
                 report: Report, skip_columns: set[str]) -> None:
    """Missing fields, then frictionless on the rows (re-encoded as UTF-8 CSV with a comma)."""
    found = schema if isinstance(schema, Match) else Match(schema)
    entry = found.schema
    report.details["schema"] = entry.label
    names = [h.strip() for h in header]
    if found.by_label:
        names = [found.rename.get(i, n) for i, n in enumerate(names)]
        pairs = ", ".join(f"« {header[i].strip()} » en {name}" for i, name in sorted(found.rename.items())
                          if header[i].strip() != name)
        if pairs:
            report.add("schema-field-missing", Severity.ERROR,
                       f"Le tableau ressemble au {entry.label}, mais ses colonnes portent des libellés et non les noms "
                       f"exacts du schéma : renommez {pairs}.", column=None)
    exact = set(names)
    folded = {n.casefold(): n for n in names}
    for name in entry.required:
        if name in exact:
            continue
        other = folded.get(name.casefold())
        hint = (f" (une colonne « {other} » existe : respectez exactement la casse du schéma)" if other else "")
        report.add("schema-field-missing", Severity.ERROR,
                   f"Colonne obligatoire « {name} » absente du fichier ({entry.label}){hint}.", column=name)
    _one_of_required_columns(entry, exact, report)
    _frictionless(entry, names, rows, numbers, report, skip_columns)


def _one_of_required_columns(entry: SchemaEntry, names: set[str], report: Report) -> None:
    for spec in entry.custom_checks:
        if spec.get("name") != "one-of-required":
            continue
        a, b = spec["params"]["column1"], spec["params"]["column2"]
        if a not in names and b not in names:
            report.add("custom-check-error", Severity.ERROR,
                       f"Les colonnes {a} et {b} sont toutes deux absentes : l'une des deux au moins est obligatoire "
                       f"({entry.label}).", column=f"{a}, {b}")


def _frictionless(entry: SchemaEntry, names: list[str], rows: list[list[str]], numbers: list[int],
                  report: Report, skip_columns: set[str]) -> None:
    from frictionless import Check, Checklist, Resource, Schema

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(names)
    writer.writerows(rows)
    # A column whose format problem is already reported (dates, decimals, identifiers) is read as text, so
    # frictionless does not build one error per cell for it.
    fields_for_check = [_frictionless_field(f) if f["name"] not in skip_columns else
                        {"name": f["name"], "type": "string",
                         "constraints": {k: v for k, v in f.get("constraints", {}).items() if k == "required"}}
                        for f in entry.fields]
    descriptor = {"fields": fields_for_check, "fieldsMatch": "partial",
                  "missingValues": entry.descriptor.get("missingValues", [""])}
    # A SIRET already reported by the table checks (siret-invalid, with its cause) is not reported twice.
    specs = [s for s in entry.custom_checks if not (s.get("name", "").startswith("french-sir")
                                                     and s.get("params", {}).get("column") in skip_columns)]
    checks: list[custom_checks.ValidataCheck] = [c for c in (custom_checks.build(s) for s in specs) if c is not None]
    resource = Resource(data=buf.getvalue().encode("utf-8"), format="csv", encoding="utf-8",
                        schema=Schema.from_descriptor(descriptor))
    result = resource.validate(checklist=Checklist(checks=list[Check](checks)), limit_errors=MAX_ERRORS)
    capped = any(len(t.errors) >= MAX_ERRORS for t in result.tasks)
    partial = bool(report.details.get("partial")) or capped

    def line_of(row_number: int) -> int:
        # row_number counts the rewritten header as row 1: map back to the file's line numbers.
        return numbers[row_number - 2] if 0 <= row_number - 2 < len(numbers) else row_number

    fields = {f["name"]: f for f in entry.fields}
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
            grouped.setdefault((field_name, constraint or "type"), []).append(
                (line_of(row_number), str(getattr(err, "cell", ""))))
    for (field_name, what), hits in grouped.items():
        spec = fields.get(field_name, {})
        if what == "type":
            kind = spec.get("type", "string")
            expected = FORMAT_FR.get(spec.get("format", "")) or TYPE_FR.get(kind, kind)
            if kind == "boolean" and spec.get("trueValues"):
                expected = " ou ".join(f"« {v} »" for v in [*spec["trueValues"], *spec.get("falseValues", [])])
            label = f"valeur qui n'est pas {expected}"
        else:
            label = CONSTRAINT_FR.get(what, f"contrainte « {what} » non respectée")
            constraints = spec.get("constraints", {})
            if what == "enum" and constraints.get("enum"):
                label += " (valeurs permises : " + ", ".join(f"« {v} »" for v in constraints["enum"]) + ")"
            elif what == "pattern":
                example = spec.get("example")
                label += (f" (exemple de valeur correcte : « {example} »)" if example
                          else f" (motif {constraints['pattern']})")
            elif what in LIMIT_FR:
                label += f" ({LIMIT_FR[what].format(constraints.get(what))})"
        count, exact = len(hits), not partial
        if capped and not report.details.get("partial"):
            recounted = _recount(spec, what, names, rows)  # frictionless stopped: count the simple rules here
            if recounted is not None:
                count, exact = recounted, True
        report.add("type-error" if what == "type" else "constraint-error", Severity.ERROR,
                   f"{field_name} : {label} — {count_text(count, not exact, 'cellule')}, {_lines(hits)}"
                   + _values(hits) + ".", row=hits[0][0], column=field_name)
    for check in checks:
        h = check.hits
        if not h.rows:
            continue
        mapped = [(line_of(r), m) for r, m in zip(h.rows, h.rows, strict=True)]
        examples = " ; ".join(h.examples)
        report.add("custom-check-error", Severity.ERROR,
                   f"Règle du {entry.label} non respectée : {h.rule} — {count_text(len(h.rows), partial, 'ligne')}, "
                   f"{_lines([(line, '') for line, _ in mapped])} (par exemple : {examples}).",
                   row=mapped[0][0], column=", ".join(h.columns))


def _frictionless_field(spec: dict[str, Any]) -> dict[str, Any]:
    """A field as frictionless 5 accepts it: a field-level « required » (older schemas) moved to constraints."""
    if "required" not in spec:
        return spec
    out = {k: v for k, v in spec.items() if k != "required"}
    out["constraints"] = {**spec.get("constraints", {}), "required": bool(spec["required"])}
    return out


def _recount(spec: dict[str, Any], what: str, names: list[str], rows: list[list[str]]) -> int | None:
    """Exact count of the cells breaking a simple constraint (required, enum, pattern, length), or None."""
    name = spec.get("name")
    if name not in names:
        return None
    i = names.index(name)
    cells = [r[i] if i < len(r) else "" for r in rows]
    constraints = spec.get("constraints", {})
    if what == "required":
        return sum(1 for c in cells if c == "")
    present = [c for c in cells if c != ""]
    if what == "enum":
        allowed = {str(v) for v in constraints.get("enum", [])}
        return sum(1 for c in present if c not in allowed)
    if what == "pattern":
        pattern = re.compile(constraints["pattern"])
        return sum(1 for c in present if not pattern.fullmatch(c))
    if what == "maxLength":
        return sum(1 for c in present if len(c) > int(constraints["maxLength"]))
    if what == "minLength":
        return sum(1 for c in present if len(c) < int(constraints["minLength"]))
    return None


def _lines(hits: list[tuple[int, Any]]) -> str:
    lines = ", ".join(str(r) for r, _ in hits[:SHOWN]) + ("…" if len(hits) > SHOWN else "")
    return f"ligne{'s' if len(hits) > 1 else ''} {lines}"


def _values(hits: list[tuple[int, str]]) -> str:
    values = ", ".join(f"« {shown(v)} »" for _, v in hits[:3] if v)
    return f" ; valeurs {values}" if values else ""
