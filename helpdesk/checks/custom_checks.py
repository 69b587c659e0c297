"""The Validata custom checks of schema.data.gouv.fr Table Schemas, as frictionless checks.

A schema lists them under ``custom_checks`` (``{"name": "sum-columns-value", "params": {...}}``). The
``validata-table`` package is a Flask web application pinning Flask 2.1 and frformat 0.4, and
``validata-core`` pins frictionless 4, both incompatible with this project: the checks are written here
after their documented behaviour (validata_core/custom_checks/*.py docstrings), with frformat for the
French formats (SIRET, SIREN, ACTES nomenclature):

- ``sum-columns-value``: ``column`` equals the sum of ``columns``; skipped when a value is missing.
- ``compare-columns-value``: when both cells have a value, ``column op column2`` holds (numbers compared
  as numbers, dates as dates).
- ``one-of-required``: at least one of ``column1``/``column2`` has a value on each row; when both columns
  are absent from the file, one error for the file.
- ``cohesive-columns-value``: ``column`` and ``othercolumns`` are all filled or all empty.
- ``year-interval-value``: ``AAAA/AAAA`` with the first year before the second (or ``AAAA`` alone with
  ``allow-year-only``).
- ``nomenclature-actes-value``: the part before « / » is one of the ACTES nomenclature's headings.
- ``french-siret-value`` / ``french-siren-value``: a valid SIRET/SIREN (Luhn key, La Poste's exception).

Each check keeps its own hits (row, message) so the report can group them with exact counts.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import attrs
from frictionless import Check, errors

OPS: dict[str, tuple[Callable[[Any, Any], bool], str]] = {
    ">": (operator.gt, "supérieur à"), ">=": (operator.ge, "supérieur ou égal à"), "==": (operator.eq, "égal à"),
    "<=": (operator.le, "inférieur ou égal à"), "<": (operator.lt, "inférieur à"),
}
YEAR_INTERVAL_RE = re.compile(r"^(\d{4})/(\d{4})$")


class CustomCheckError(errors.RowError):
    type = "custom-check-error"
    title = "Custom check"
    description = "A Validata custom check of the schema failed."
    template = "Row {rowNumber}: {note}"


@dataclass(slots=True)
class Hits:
    """What one custom check found: a French label of the rule, rows and example messages."""

    rule: str
    columns: tuple[str, ...]
    rows: list[int] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)

    def add(self, row: int, message: str) -> None:
        self.rows.append(row)
        if len(self.examples) < 3:
            self.examples.append(message)


def _empty(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


@attrs.define(kw_only=True, repr=False)
class ValidataCheck(Check):
    """Base: rows are typed by frictionless; ``judge`` returns a French message or None."""

    type = "validata-custom-check"
    Errors = [CustomCheckError]
    hits: Hits = attrs.field(factory=lambda: Hits("", ()))

    def judge(self, row: Any) -> str | None:  # pragma: no cover - overridden
        raise NotImplementedError

    def validate_row(self, row: Any) -> Iterable[CustomCheckError]:
        present = [c for c in self.hits.columns if c in row.field_names]
        if not present:
            return
        message = self.judge(row)
        if message:
            self.hits.add(row.row_number, message)
            yield CustomCheckError.from_row(row, note=message)


def _get(row: Any, name: str) -> Any:
    return row[name] if name in row.field_names else None


@attrs.define(kw_only=True, repr=False)
class SumColumns(ValidataCheck):
    type = "sum-columns-value"
    column: str = ""
    columns: list[str] = attrs.field(factory=list)

    def judge(self, row: Any) -> str | None:
        values = [_get(row, c) for c in self.columns]
        total = _get(row, self.column)
        if _empty(total) or any(_empty(v) for v in values):
            return None
        if not all(isinstance(v, int | float) for v in [*values, total]):
            return None  # a type error, reported by the schema's own validation
        computed = sum(values)
        if computed != total:
            return f"{' + '.join(self.columns)} = {computed}, mais {self.column} vaut {total}"
        return None


@attrs.define(kw_only=True, repr=False)
class CompareColumns(ValidataCheck):
    type = "compare-columns-value"
    column: str = ""
    column2: str = ""
    op: str = ">="

    def judge(self, row: Any) -> str | None:
        a, b = _get(row, self.column), _get(row, self.column2)
        if _empty(a) or _empty(b) or self.op not in OPS:
            return None
        compare, label = OPS[self.op]
        try:
            ok = compare(a, b)
        except TypeError:
            return f"{self.column} « {a} » et {self.column2} « {b} » ne sont pas comparables"
        return None if ok else f"{self.column} ({a}) devrait être {label} {self.column2} ({b})"


@attrs.define(kw_only=True, repr=False)
class OneOfRequired(ValidataCheck):
    type = "one-of-required"
    column1: str = ""
    column2: str = ""

    def judge(self, row: Any) -> str | None:
        if _empty(_get(row, self.column1)) and _empty(_get(row, self.column2)):
            return f"ni {self.column1} ni {self.column2} n'est rempli : au moins l'un des deux est obligatoire"
        return None

    def validate_row(self, row: Any) -> Iterable[CustomCheckError]:  # absent columns count as empty here
        message = self.judge(row)
        if message:
            self.hits.add(row.row_number, message)
            yield CustomCheckError.from_row(row, note=message)


@attrs.define(kw_only=True, repr=False)
class CohesiveColumns(ValidataCheck):
    type = "cohesive-columns-value"
    column: str = ""
    othercolumns: list[str] = attrs.field(factory=list)

    def judge(self, row: Any) -> str | None:
        names = [c for c in [self.column, *self.othercolumns] if c in row.field_names]
        filled = [not _empty(row[c]) for c in names]
        if any(filled) and not all(filled):
            return f"{', '.join(names)} doivent être toutes remplies ou toutes vides"
        return None


@attrs.define(kw_only=True, repr=False)
class YearInterval(ValidataCheck):
    type = "year-interval-value"
    column: str = ""
    allow_year_only: bool = False

    def judge(self, row: Any) -> str | None:
        value = _get(row, self.column)
        if _empty(value):
            return None
        text = str(value).strip()
        m = YEAR_INTERVAL_RE.match(text)
        if m is None:
            if self.allow_year_only and re.fullmatch(r"\d{4}", text):
                return None
            return f"« {text} » : année AAAA ou période AAAA/AAAA attendue"
        if int(m.group(1)) >= int(m.group(2)):
            return f"période « {text} » : la deuxième année doit être postérieure à la première"
        return None


@attrs.define(kw_only=True, repr=False)
class NomenclatureActes(ValidataCheck):
    type = "nomenclature-actes-value"
    column: str = ""

    def judge(self, row: Any) -> str | None:
        from frformat import NomenclatureActe

        value = _get(row, self.column)
        if _empty(value):
            return None
        ok, details = NomenclatureActe().is_valid_with_details(str(value))
        if ok:
            return None
        return f"« {value} » n'est pas une matière de la nomenclature ACTES ({'; '.join(details or [])})"


@attrs.define(kw_only=True, repr=False)
class FrenchIdentifier(ValidataCheck):
    type = "french-siret-value"
    column: str = ""
    siren: bool = False

    def judge(self, row: Any) -> str | None:
        from helpdesk.checks.identifiers import siren_problem, siret_problem

        value = _get(row, self.column)
        if _empty(value):
            return None
        problem = (siren_problem if self.siren else siret_problem)(str(value).strip())
        label = "SIREN" if self.siren else "SIRET"
        return f"{label} « {value} » non valide ({problem})" if problem else None


def build(spec: dict[str, Any]) -> ValidataCheck | None:
    """The check for one ``custom_checks`` entry, or None for a check not implemented here."""
    name, p = spec.get("name"), spec.get("params", {})
    check: ValidataCheck
    if name == "sum-columns-value":
        check = SumColumns(column=p["column"], columns=list(p["columns"]))
        rule = f"{p['column']} doit être égal à {' + '.join(p['columns'])}"
        cols = (p["column"], *p["columns"])
    elif name == "compare-columns-value":
        check = CompareColumns(column=p["column"], column2=p["column2"], op=p.get("op", ">="))
        rule = f"{p['column']} doit être {OPS.get(p.get('op', '>='), ('', p.get('op')))[1]} {p['column2']}"
        cols = (p["column"], p["column2"])
    elif name == "one-of-required":
        check = OneOfRequired(column1=p["column1"], column2=p["column2"])
        rule = f"{p['column1']} ou {p['column2']} doit être rempli"
        cols = (p["column1"], p["column2"])
    elif name == "cohesive-columns-value":
        check = CohesiveColumns(column=p["column"], othercolumns=list(p["othercolumns"]))
        rule = f"{', '.join([p['column'], *p['othercolumns']])} : toutes remplies ou toutes vides"
        cols = (p["column"], *p["othercolumns"])
    elif name == "year-interval-value":
        check = YearInterval(column=p["column"], allow_year_only=p.get("allow-year-only") in ("yes", "true"))
        rule = f"{p['column']} : année ou période AAAA/AAAA"
        cols = (p["column"],)
    elif name == "nomenclature-actes-value":
        check = NomenclatureActes(column=p["column"])
        rule = f"{p['column']} : matière de la nomenclature ACTES (par exemple « Finances locales/Subventions »)"
        cols = (p["column"],)
    elif name in ("french-siret-value", "french-siren-value"):
        check = FrenchIdentifier(column=p["column"], siren=name == "french-siren-value")
        rule = f"{p['column']} : {'SIREN' if name == 'french-siren-value' else 'SIRET'} valide"
        cols = (p["column"],)
    else:
        return None
    check.hits = Hits(rule, cols)
    return check
