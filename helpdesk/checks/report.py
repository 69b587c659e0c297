"""What a check produces: findings with stable codes, gathered in a report per file.

``code`` is stable (tools and the FAQ links key on it); ``message`` is French, for people. ``row`` is
the line number in the file as a spreadsheet shows it (the header is row 1), ``column`` the column's
name, ``element`` an XML element, an archive member or a JSON path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"  # must be fixed before publishing
    WARNING = "warning"  # should be fixed
    INFO = "info"  # worth knowing, nothing to fix


# A finding with one of these codes and no ``element`` means the file itself could not be read.
UNREADABLE = {"xml-invalid", "xml-unsafe", "archive-invalid", "check-failed", "spreadsheet-invalid", "timeout",
              "too-large", "zip-bomb", "json-invalid", "layer-unreadable"}
VERDICTS = ("ok", "warnings", "errors", "unsupported", "unreadable")

SEVERITY_FR = {Severity.ERROR: "à corriger", Severity.WARNING: "à améliorer", Severity.INFO: "remarque"}


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    severity: Severity
    message: str
    row: int | None = None
    column: str | None = None
    element: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "severity": self.severity.value, "message": self.message,
                "row": self.row, "column": self.column, "element": self.element}

    def where(self) -> str:
        parts = []
        if self.element:
            parts.append(self.element)
        if self.row is not None:
            parts.append(f"ligne {self.row}")
        if self.column:
            parts.append(f"colonne {self.column}")
        return ", ".join(parts)


@dataclass(slots=True)
class Report:
    filename: str
    kind: str = "unknown"  # table, metadata, shapefile, geojson, archive, unsupported
    findings: list[Finding] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)  # encoding, separator, schema, rows…

    def add(self, code: str, severity: Severity, message: str, *, row: int | None = None,
            column: str | None = None, element: str | None = None) -> None:
        self.findings.append(Finding(code, severity, message, row, column, element))

    @property
    def to_fix(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is not Severity.INFO]

    def codes(self) -> list[str]:
        return [f.code for f in self.findings]

    @property
    def verdict(self) -> str:
        """ok, warnings, errors, unsupported (a format not read) or unreadable (a file that could not be read)."""
        if any(f.code in UNREADABLE and f.element is None for f in self.findings):
            return "unreadable"
        if self.kind == "unsupported" or any(f.code == "unsupported-format" and f.element is None
                                             for f in self.findings):
            return "unsupported"
        if any(f.severity is Severity.ERROR for f in self.findings):
            return "errors"
        if any(f.severity is Severity.WARNING for f in self.findings):
            return "warnings"
        return "ok"

    def as_json(self) -> dict[str, Any]:
        return {"file": self.filename, "kind": self.kind, "verdict": self.verdict, "details": self.details,
                "findings": [f.as_json() for f in self.findings]}


def count_text(n: int, partial: bool, noun: str) -> str:
    """« 12 cellules », or « au moins 12 cellules (fichier partiel) » when only part of the file was read."""
    plural = f"{noun}s" if n > 1 and not noun.endswith("s") else noun
    return f"au moins {n} {plural} (fichier partiel)" if partial else f"{n} {plural}"


def shown(value: str, limit: int = 60) -> str:
    """A value as quoted in a message: on one line, cut at ``limit`` characters."""
    flat = " ".join(value.split()) if value.strip() else value.replace("\n", " ")
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"
