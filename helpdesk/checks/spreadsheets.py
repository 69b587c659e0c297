"""XLSX (openpyxl) and ODS (content.xml read with defusedxml) sheets turned into a Table of strings."""

from __future__ import annotations

import io
import warnings
from datetime import date, datetime, time
from typing import Any

from defusedxml import ElementTree

from helpdesk.checks.archive import open_zip, read_member
from helpdesk.checks.csvfile import Table
from helpdesk.checks.limits import Deadline, Limits
from helpdesk.checks.report import Report, Severity

MAX_WIDTH = 1000
READ_ONLY_ABOVE = 5 * 1024 * 1024  # merged cells are only seen below this size (openpyxl's full mode)
ODS_NS = {
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
}


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _trim(rows: list[list[str]]) -> tuple[list[list[str]], list[int]]:
    kept, numbers = [], []
    for i, row in enumerate(rows, start=1):
        while row and row[-1] == "":
            row = row[:-1]
        if row:
            kept.append(row)
            numbers.append(i)
    return kept, numbers


def _note_sheets(names_with_data: list[str], report: Report) -> None:
    if len(names_with_data) > 1:
        report.add("multiple-sheets", Severity.WARNING,
                   f"Le classeur contient {len(names_with_data)} feuilles remplies ({', '.join(names_with_data)}) : "
                   f"seule « {names_with_data[0]} » a été vérifiée. Publiez un tableau par fichier.")


def read_xlsx(data: bytes, report: Report, limits: Limits, deadline: Deadline) -> Table | None:
    open_zip(data, report, limits).close()  # refuses zip bombs before openpyxl inflates anything
    from openpyxl import load_workbook

    read_only = len(data) > READ_ONLY_ABOVE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about styles and extensions it ignores
        try:
            wb = load_workbook(io.BytesIO(data), read_only=read_only, data_only=True)
        except Exception as exc:  # noqa: BLE001 - any unreadable workbook is the sender's problem
            report.add("spreadsheet-invalid", Severity.ERROR, f"Classeur illisible ({type(exc).__name__}).")
            return None
        sheets: list[tuple[str, list[list[str]], Any]] = []
        for ws in wb.worksheets:
            rows: list[list[str]] = []
            for n, values in enumerate(ws.iter_rows(values_only=True)):
                if n >= limits.max_rows:
                    break
                if n % 2000 == 0:
                    deadline.check()
                rows.append([cell_text(v) for v in values[:MAX_WIDTH]])
            if any(any(c.strip() for c in r) for r in rows):
                sheets.append((ws.title, rows, None if read_only else ws.merged_cells.ranges))
        wb.close()
    if not sheets:
        report.add("header-missing", Severity.ERROR, "Le classeur ne contient aucune donnée.")
        return None
    _note_sheets([s[0] for s in sheets], report)
    title, rows, merged = sheets[0]
    for rng in merged or []:
        report.add("merged-header" if rng.min_row <= 2 else "merged-cells", Severity.ERROR,
                   f"Cellules fusionnées {rng.coord} (feuille « {title} ») : défusionnez-les et répétez la valeur "
                   "dans chaque cellule.", row=rng.min_row, element=str(rng.coord))
    kept, numbers = _trim(rows)
    return Table(kept, numbers, sheet=title)


def _ods_rows(table: Any, limits: Limits, deadline: Deadline, merged: list[str] | None = None) -> list[list[str]]:
    t = "{{{}}}".format(ODS_NS["table"])
    o = "{{{}}}".format(ODS_NS["office"])
    rows: list[list[str]] = []
    for row in table.iter(f"{t}table-row"):
        deadline.check()
        repeat_rows = min(int(row.get(f"{t}number-rows-repeated", "1")), 50)
        cells: list[str] = []
        for cell in row:
            if cell.tag not in (f"{t}table-cell", f"{t}covered-table-cell"):
                continue
            repeat = min(int(cell.get(f"{t}number-columns-repeated", "1")), MAX_WIDTH)
            across = int(cell.get(f"{t}number-columns-spanned", "1"))
            down = int(cell.get(f"{t}number-rows-spanned", "1"))
            if merged is not None and (across > 1 or down > 1):
                from openpyxl.utils import get_column_letter

                first, row_no = len(cells) + 1, len(rows) + 1
                merged.append(f"{get_column_letter(first)}{row_no}:{get_column_letter(first + across - 1)}"
                              f"{row_no + down - 1}")
            kind = cell.get(f"{o}value-type")
            if kind in ("float", "percentage", "currency"):
                value = cell_text(float(cell.get(f"{o}value", "0")))
            elif kind == "date":
                value = cell.get(f"{o}date-value", "").removesuffix("T00:00:00")
            else:
                value = "\n".join("".join(p.itertext()) for p in cell.findall("text:p", ODS_NS))
            cells.extend([value] * repeat)
            if len(cells) >= MAX_WIDTH:
                break
        rows.extend([list(cells[:MAX_WIDTH]) for _ in range(repeat_rows)])
        if len(rows) >= limits.max_rows:
            break
    return rows


def read_ods(data: bytes, report: Report, limits: Limits, deadline: Deadline) -> Table | None:
    archive = open_zip(data, report, limits)
    try:
        root = ElementTree.fromstring(read_member(archive, "content.xml"), forbid_dtd=True)
    except KeyError:
        report.add("spreadsheet-invalid", Severity.ERROR, "Fichier ODS sans contenu (content.xml absent).")
        return None
    sheets = []
    merges: list[list[str]] = []
    for table in root.iter("{{{}}}table".format(ODS_NS["table"])):
        merged: list[str] = []
        rows = _ods_rows(table, limits, deadline, merged)
        if any(any(c.strip() for c in r) for r in rows):
            merges.append(merged)
            sheets.append((table.get("{{{}}}name".format(ODS_NS["table"]), "?"), rows))
    if not sheets:
        report.add("header-missing", Severity.ERROR, "Le classeur ne contient aucune donnée.")
        return None
    _note_sheets([s[0] for s in sheets], report)
    for coord in merges[0]:
        row = int("".join(ch for ch in coord.split(":")[0] if ch.isdigit()))
        report.add("merged-header" if row <= 2 else "merged-cells", Severity.ERROR,
                   f"Cellules fusionnées {coord} (feuille « {sheets[0][0]} ») : défusionnez-les et répétez la valeur "
                   "dans chaque cellule.", row=row, element=coord)
    kept, numbers = _trim(sheets[0][1])
    return Table(kept, numbers, sheet=sheets[0][0])
