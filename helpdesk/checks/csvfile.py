"""CSV files: encoding (see encoding.py), separator sniffing, parsing into rows with their line numbers."""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass

from helpdesk.checks.encoding import decode
from helpdesk.checks.limits import Deadline
from helpdesk.checks.report import Report, Severity

SEPARATORS = (",", ";", "\t", "|")
SEPARATOR_FR = {",": "virgule", ";": "point-virgule", "\t": "tabulation", "|": "barre verticale"}


@dataclass(slots=True)
class Table:
    rows: list[list[str]]
    row_numbers: list[int]  # line number in the file of each row
    separator: str | None = None
    sheet: str | None = None


def _records(text: str, sep: str, limit: int | None = None) -> tuple[list[list[str]], list[int]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    rows: list[list[str]] = []
    numbers: list[int] = []
    start = 1
    try:
        for record in reader:
            if any(cell.strip() for cell in record):
                rows.append(record)
                numbers.append(start)
            start = reader.line_num + 1
            if limit is not None and len(rows) >= limit:
                break
    except csv.Error:
        pass  # a broken quote: what was read so far is what we check
    return rows, numbers


def sniff_separator(text: str) -> str | None:
    """The separator giving the most consistent column count over the first lines, or None."""
    sample = "\n".join(text.splitlines()[:60])
    best: tuple[float, int, str] | None = None
    for sep in SEPARATORS:
        rows, _ = _records(sample, sep, limit=50)
        if not rows:
            continue
        widths = Counter(len(r) for r in rows)
        width, hits = widths.most_common(1)[0]
        padding = sum(1 for r in rows if not any(c.strip() for c in r[1:]))
        if width < 2 or padding * 2 > len(rows):
            continue  # one column, or a separator that mostly pads the end of lines (« …;; »)
        score = (hits / len(rows), width, sep)
        if best is None or score[:2] > best[:2]:
            best = score
    return best[2] if best else None


def read_csv(data: bytes, report: Report, limit_rows: int, deadline: Deadline) -> Table:
    text = decode(data, report)
    deadline.check()
    sep = sniff_separator(text)
    if sep is None:
        report.add("separator", Severity.ERROR,
                   "Une seule colonne reconnue : le séparateur n'est ni la virgule, ni le point-virgule, ni la "
                   "tabulation. Vérifiez l'export (CSV avec séparateur virgule recommandé).")
        sep = ","
    else:
        report.details["separator"] = SEPARATOR_FR[sep]
        if sep != ",":
            report.add("separator", Severity.INFO,
                       f"Séparateur {SEPARATOR_FR[sep]} : accepté par data.gouv.fr ; la virgule est recommandée "
                       "(et attendue par les schémas SCDL).")
    rows, numbers = _records(text, sep, limit=limit_rows + 1)
    if len(rows) > limit_rows:
        report.details["partial"] = True
        report.add("partial-check", Severity.INFO,
                   f"Fichier long : seules les {limit_rows} premières lignes ont été vérifiées.")
        rows, numbers = rows[:limit_rows], numbers[:limit_rows]
    return Table(rows, numbers, sep)
