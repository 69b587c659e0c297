"""XLS, XLSX and ODS sheets (python-calamine) turned into a Table of strings; merged cells grouped by zone.

ODS merged cells come from content.xml (read with defusedxml), which calamine does not expose.
"""

from __future__ import annotations

import io
from datetime import date, datetime, time
from typing import Any

from defusedxml import ElementTree

from helpdesk.checks.archive import open_zip, read_member
from helpdesk.checks.csvfile import Table
from helpdesk.checks.limits import Deadline, Limits
from helpdesk.checks.report import Report, Severity

MAX_WIDTH = 1000
READ_ONLY_ABOVE = 5 * 1024 * 1024  # ODS merged cells are only looked for below this size
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
    # A sheet has no separator: trailing empty cells are not missing values, every row gets the full width.
    width = max((len(r) for r in kept), default=0)
    return [r + [""] * (width - len(r)) for r in kept], numbers


def _note_sheets(names_with_data: list[str], report: Report) -> None:
    if len(names_with_data) > 1:
        report.add("multiple-sheets", Severity.WARNING,
                   f"Le classeur contient {len(names_with_data)} feuilles remplies ({', '.join(names_with_data)}) : "
                   f"seule « {names_with_data[0]} » a été vérifiée. Publiez un tableau par fichier.")


def _a1(row: int, col: int) -> str:
    from openpyxl.utils import get_column_letter

    return f"{get_column_letter(col + 1)}{row + 1}"


def report_merged(ranges: list[tuple[int, int, int, int]], sheet: str, report: Report) -> None:
    """Merged cells as at most two findings (header rows, body), with exact counts of zones and cells.

    ``ranges`` are (first row, first column, last row, last column), 1-based rows, 0-based columns.
    """
    header = [r for r in ranges if r[0] <= 2]
    body = [r for r in ranges if r[0] > 2]
    for code, group, where in (("merged-header", header, "dans l'en-tête"), ("merged-cells", body, "dans le tableau")):
        if not group:
            continue
        cells = sum((r2 - r1 + 1) * (c2 - c1 + 1) for r1, c1, r2, c2 in group)
        shown = ", ".join(f"{_a1(r1 - 1, c1)}:{_a1(r2 - 1, c2)}" for r1, c1, r2, c2 in group[:5])
        more = "…" if len(group) > 5 else ""
        report.add(code, Severity.ERROR,
                   f"{cells} cellules fusionnées {where} en {len(group)} zone{'s' if len(group) > 1 else ''} "
                   f"(feuille « {sheet} » : {shown}{more}) : défusionnez-les et répétez la valeur dans chaque "
                   "cellule, un tableau ouvert ne doit avoir qu'une ligne d'en-tête et une valeur par cellule.",
                   row=group[0][0])


def read_workbook(data: bytes, report: Report, limits: Limits, deadline: Deadline, kind: str) -> Table | None:
    """XLS, XLSX or ODS through python-calamine; the first sheet with data becomes the Table."""
    if kind in ("xlsx", "ods"):
        open_zip(data, report, limits).close()  # refuses zip bombs before calamine inflates anything
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except (CalamineError, ValueError, OSError) as exc:
        report.add("spreadsheet-invalid", Severity.ERROR,
                   f"Classeur illisible ({type(exc).__name__}) : le fichier est abîmé ou protégé par un mot de "
                   "passe. Enregistrez-le à nouveau depuis votre tableur, sans mot de passe.")
        return None
    sheets: list[tuple[str, list[list[str]], Any]] = []
    with wb:
        for name in wb.sheet_names:
            deadline.check()
            try:
                sheet = wb.get_sheet_by_name(name)
                values = sheet.to_python(skip_empty_area=False, nrows=limits.max_rows + 1)
            except (CalamineError, ValueError) as exc:
                report.add("spreadsheet-invalid", Severity.ERROR,
                           f"Feuille « {name} » illisible ({type(exc).__name__}).", element=name)
                continue
            if len(values) > limits.max_rows:
                report.details["partial"] = True
                report.add("partial-check", Severity.INFO,
                           f"Feuille longue : seules les {limits.max_rows} premières lignes ont été vérifiées.")
                values = values[: limits.max_rows]
            rows = [[cell_text(v) for v in r[:MAX_WIDTH]] for r in values]
            if any(any(c.strip() for c in r) for r in rows):
                merged = None
                if kind != "ods":
                    try:
                        merged = sheet.merged_cell_ranges
                    except (CalamineError, ValueError):
                        merged = None
                sheets.append((name, rows, merged))
    if not sheets:
        report.add("header-missing", Severity.ERROR, "Le classeur ne contient aucune donnée.")
        return None
    _note_sheets([s[0] for s in sheets], report)
    title, rows, merged = sheets[0]
    ranges = [(r1 + 1, c1, r2 + 1, c2) for (r1, c1), (r2, c2) in (merged or [])]
    if kind == "ods" and len(data) <= READ_ONLY_ABOVE:
        ranges = _ods_merges(data, report, limits, deadline)
    report_merged(ranges, title, report)
    kept, numbers = _trim(rows)
    return Table(kept, numbers, sheet=title)


def read_xlsx(data: bytes, report: Report, limits: Limits, deadline: Deadline) -> Table | None:
    return read_workbook(data, report, limits, deadline, "xlsx")


def read_xls(data: bytes, report: Report, limits: Limits, deadline: Deadline) -> Table | None:
    return read_workbook(data, report, limits, deadline, "xls")


def read_ods(data: bytes, report: Report, limits: Limits, deadline: Deadline) -> Table | None:
    return read_workbook(data, report, limits, deadline, "ods")


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


def _ods_merges(data: bytes, report: Report, limits: Limits, deadline: Deadline
                ) -> list[tuple[int, int, int, int]]:
    """Merged ranges of the first sheet with data of an ODS file (calamine does not give them for ODS)."""
    archive = open_zip(data, report, limits)
    try:
        root = ElementTree.fromstring(read_member(archive, "content.xml"), forbid_dtd=True)
    except KeyError:
        return []
    for table in root.iter("{{{}}}table".format(ODS_NS["table"])):
        merged: list[str] = []
        rows = _ods_rows(table, limits, deadline, merged)
        if any(any(c.strip() for c in r) for r in rows):
            out = []
            for coord in merged:
                from openpyxl.utils.cell import range_boundaries

                c1, r1, c2, r2 = range_boundaries(coord)
                out.append((int(r1 or 1), int(c1 or 1) - 1, int(r2 or 1), int(c2 or 1) - 1))
            return out
    return []
