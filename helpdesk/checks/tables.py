"""Checks on any table (CSV or a spreadsheet's sheet): header, columns, types, dates, identifiers.

A problem repeated down a column is one finding: its first row, with the count in the message.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from helpdesk.checks import french
from helpdesk.checks import identifiers as ids
from helpdesk.checks.csvfile import Table
from helpdesk.checks.limits import Deadline
from helpdesk.checks.report import Report, Severity, count_text, shown

log = logging.getLogger(__name__)
INT_RE = re.compile(r"^[+-]?\d+$")
POINT_DECIMAL_RE = re.compile(r"^[+-]?\d+\.\d+$")
COMMA_DECIMAL_RE = re.compile(r"^[+-]?\d{1,3}(?:[ \u00a0\u202f]?\d{3})*,\d+$|^[+-]?\d+,\d+$")
SPACED_THOUSANDS_RE = re.compile(r"^[+-]?\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:[.,]\d+)?$")
ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$")
# Day/month/year with slashes or dashes; with dots only a four-digit year (« 17.1.43 » is an identifier).
FR_DATE_RE = re.compile(r"^(?:(\d{1,2})([/-])(\d{1,2})\2(\d{2}|\d{4})|(\d{1,2})\.(\d{1,2})\.(\d{4}))"
                        r"(?: \d{1,2}:\d{2}(?::\d{2})?)?$")
LAT_TOKENS = {"lat", "latitude"}
LON_TOKENS = {"lon", "lng", "long", "longitude"}
SIRET_NAMES = {"idattribuant", "idbeneficiaire"}  # SCDL subventions fields holding a SIRET
INSEE_NAMES = {"code_commune", "codecommune", "cog", "depcom", "codgeo", "code_com"}
DEPARTEMENT_NAMES = {"code_departement", "code_dep", "codedep", "dep", "code_dept", "num_dep", "numero_departement",
                     "departement_code", "dep_code", "coddep"}
REGION_NAMES = {"code_region", "code_reg", "codereg", "reg", "region_code", "reg_code", "codreg"}
SHOWN = 5


def normalize(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "_", plain).strip("_")


def kind_of(value: str) -> str:
    v = value.strip()
    if v.isdigit():
        return "number"
    if v[:1].isalpha() and not v[:2].isdigit():
        return "text"
    if INT_RE.match(v) or POINT_DECIMAL_RE.match(v):
        return "number"
    if COMMA_DECIMAL_RE.match(v) or SPACED_THOUSANDS_RE.match(v):
        return "number-fr"
    if ISO_DATE_RE.match(v):
        return "date"
    m = FR_DATE_RE.match(v)
    if m:
        day, month = (m.group(1), m.group(3)) if m.group(1) else (m.group(5), m.group(6))
        if 1 <= int(day) <= 31 and 1 <= int(month) <= 12:
            return "date-fr"
    return "text"


@dataclass(slots=True)
class Hits:
    """Rows of one column where a problem shows, with the first few values."""

    partial: bool = False
    rows: list[int] = field(default_factory=list)
    values: list[str] = field(default_factory=list)

    def add(self, row: int, value: str) -> None:
        self.rows.append(row)
        if len(self.values) < 3:
            self.values.append(value)

    def text(self) -> str:
        quoted = ", ".join(f"« {shown(v)} »" for v in self.values)
        more = f" ; {count_text(len(self.rows), self.partial, 'valeur')} en tout" if len(self.rows) > 1 else ""
        lines = ", ".join(str(r) for r in self.rows[:SHOWN]) + ("…" if len(self.rows) > SHOWN else "")
        return f"{quoted} (ligne{'s' if len(self.rows) > 1 else ''} {lines}{more})"


def find_header(table: Table, report: Report) -> int:
    """Index of the header row; a finding for a title line or merged cells above it."""
    width = max((len(r) for r in table.rows[:20]), default=0)
    index = 0
    for i, row in enumerate(table.rows[:5]):
        filled = sum(1 for c in row if c.strip())
        below = sum(1 for c in table.rows[i + 1] if c.strip()) if i + 1 < len(table.rows) else 0
        if below and ((width > 2 and filled * 2 < width) or (filled == 1 and below >= 2)):
            continue  # a title line, or the top of a merged header
        index = i
        break
    already = any(f.code == "merged-header" and f.row == table.row_numbers[0] for f in report.findings)
    if index > 0 and not already:
        above = "La première ligne contient" if index == 1 else f"Les {index} premières lignes contiennent"
        report.add("merged-header", Severity.ERROR,
                   f"{above} un titre ou des cellules fusionnées au-dessus des noms de colonnes : supprimez-les, la "
                   f"première ligne du fichier doit être celle des noms de colonnes (ici ligne "
                   f"{table.row_numbers[index]}).", row=table.row_numbers[0])
    return index


def column_names(header: list[str], width: int) -> list[str]:
    return [(header[i].strip() if i < len(header) and header[i].strip() else f"colonne {i + 1}") for i in range(width)]


def check_table(table: Table, report: Report, deadline: Deadline) -> int | None:
    """Run every table check; the index of the header row, or None for an empty table."""
    if not table.rows:
        report.add("header-missing", Severity.ERROR, "Le tableau est vide.")
        return None
    h = find_header(table, report)
    header, body = table.rows[h], table.rows[h + 1:]
    numbers = table.row_numbers[h + 1:]
    header_row = table.row_numbers[h]
    width = max([len(header), *(len(r) for r in body[:1000])])
    names = column_names(header, width)
    report.details["columns"] = names
    report.details["rows"] = len(body)
    columns: list[list[tuple[int, str]]] = [[] for _ in range(width)]
    for n, (row, number) in enumerate(zip(body, numbers, strict=True)):
        if n % 2000 == 0:
            deadline.check()
        for i, cell in enumerate(row[:width]):
            if cell != "":
                columns[i].append((number, cell))
    filled = [sum(1 for _, c in col if c.strip()) for col in columns]
    _check_header(header, names, filled, len(body), header_row, report)
    _check_row_lengths(header, body, numbers, report)
    lat = lon = x = y = None
    partial = bool(report.details.get("partial"))
    for i, name in enumerate(names):
        role = _coordinate_role(name)
        if role == "lat" and lat is None:
            lat = i
        elif role == "lon" and lon is None:
            lon = i
        elif role == "x" and x is None:
            x = i
        elif role == "y" and y is None:
            y = i
        _check_column(name, columns[i], header_row, report, partial)
    if lat is not None and lon is not None:
        _check_coordinates(names[lat], names[lon], body, numbers, lat, lon, report)
    elif x is not None and y is not None:
        _check_coordinates(names[y], names[x], body, numbers, y, x, report, projected=True)
    return h


def _check_header(header: list[str], names: list[str], with_values: list[int], rows: int, row: int,
                  report: Report) -> None:
    """``with_values``: how many rows have a value in each column; ``rows``: how many rows in all."""
    filled = [c for c in header if c.strip()]
    if filled and sum(kind_of(c) != "text" for c in filled) * 2 >= len(filled):
        report.add("header-missing", Severity.ERROR,
                   "La première ligne contient des valeurs (nombres, dates) et non les noms des colonnes : ajoutez "
                   "une ligne d'en-tête.", row=row)
        return
    seen: dict[str, str] = {}
    for i, name in enumerate(names):
        raw = header[i] if i < len(header) else ""
        with_data = with_values[i]
        # Past the header's width, a few stray values are shifted rows (reported as row-length).
        has_data = with_data * 2 >= rows if i >= len(header) else with_data > 0
        if not raw.strip():
            if has_data and 0 < i < len(header) and header[i - 1].strip():
                report.add("header-missing", Severity.ERROR,
                           f"La {name} n'a pas de nom alors qu'elle contient des données : reste d'une cellule "
                           "d'en-tête fusionnée ? Donnez un nom à chaque colonne.", row=row, column=name)
            elif has_data:
                report.add("header-missing", Severity.ERROR,
                           f"La {name} n'a pas de nom : donnez un nom à chaque colonne.", row=row, column=name)
            continue
        if raw != raw.strip():
            report.add("whitespace", Severity.WARNING,
                       f"Le nom de colonne « {raw} » commence ou finit par une espace.", row=row, column=name)
        key = name.casefold()
        if key in seen:
            report.add("duplicate-column", Severity.ERROR,
                       f"La colonne « {name} » apparaît deux fois : chaque nom de colonne doit être unique.",
                       row=row, column=name)
        else:
            seen[key] = name


def _check_row_lengths(header: list[str], body: list[list[str]], numbers: list[int], report: Report) -> None:
    expected = len(header)
    bad = [(n, len(r)) for r, n in zip(body, numbers, strict=True)
           if len(r) < expected or any(c.strip() for c in r[expected:])]
    if bad:
        first, count = bad[0]
        report.add("row-length", Severity.ERROR,
                   f"La ligne {first} compte {count} valeurs pour {expected} colonnes ({len(bad)} ligne(s) "
                   "concernée(s)) : un séparateur dans une valeur non entourée de guillemets ?", row=first)


Checker = Callable[[str], "str | None"]


def _id_checker(name: str) -> tuple[str, Checker, str] | None:
    key = normalize(name)
    if "siret" in key or key.replace("_", "") in SIRET_NAMES:
        return "siret-invalid", ids.siret_problem, "SIRET"
    if "siren" in key:
        return "siren-invalid", ids.siren_problem, "SIREN"
    if ("insee" in key and "siret" not in key) or key in INSEE_NAMES:
        return "insee-invalid", ids.insee_problem, "code INSEE"
    if key in DEPARTEMENT_NAMES:
        return "insee-invalid", french.departement_problem, "code de département"
    if key in REGION_NAMES:
        return "insee-invalid", french.region_problem, "code de région"
    return None


@cache
def _detective() -> Any:
    """csv-detective's formats module, or None where it cannot be imported (it needs the libmagic system
    library): the checks then fall back on their own header vocabulary and skip content detection."""
    try:
        from csv_detective import formats
    except (ImportError, OSError) as exc:
        log.warning("csv-detective unavailable (%s): column content detection is skipped", exc)
        return None
    return formats


def _content_checker(cells: list[tuple[int, str]]) -> tuple[str, Checker, str] | None:
    """A column whose header says nothing but whose values are SIRET numbers (csv-detective's detection)."""
    sample = [v.strip() for _, v in cells[:200] if v.strip()]
    if len(sample) < 3 or not all(len(v.replace(" ", "")) == 14 and v.replace(" ", "").isdigit() for v in sample):
        return None
    formats = _detective()
    if formats is None:
        return None
    siret = formats.siret
    if sum(bool(siret._is(v)) for v in sample) >= siret.proportion * len(sample):
        return "siret-invalid", ids.siret_problem, "SIRET"
    return None


@cache
def _wgs84_labels() -> tuple[frozenset[str], frozenset[str]]:
    """Latitude and longitude header labels: csv-detective's vocabulary, or a fallback of the same words."""
    formats = _detective()
    if formats is None:
        return frozenset({"lat", "latitude", "ylat", "latitude wgs84"}), frozenset(
            {"lon", "lng", "long", "longitude", "xlon", "xlong", "longitude wgs84"})
    lat = frozenset(lab for lab in formats.latitude_wgs.labels if "lat" in lab or "wgs84" in lab)
    lon = frozenset(lab for lab in formats.longitude_wgs.labels if "lon" in lab or "lng" in lab or "wgs84" in lab)
    return lat, lon


def _coordinate_role(name: str) -> str | None:
    """'lat', 'lon', 'x', 'y' or None, from the header (csv-detective's vocabulary of WGS84 labels)."""
    plain = normalize(name).replace("_", " ")
    compact = plain.replace(" ", "")
    tokens = set(plain.split())
    lat_labels, lon_labels = _wgs84_labels()
    if plain in lat_labels or compact in lat_labels or tokens & LAT_TOKENS:
        return "lat"
    if plain in lon_labels or compact in lon_labels or tokens & LON_TOKENS:
        return "lon"
    if tokens & {"x", "coordx"} or compact in ("xcoord", "coordx", "coordonneex"):
        return "x"
    if tokens & {"y", "coordy"} or compact in ("ycoord", "coordy", "coordonneey"):
        return "y"
    return None


def _check_column(name: str, cells: list[tuple[int, str]], header_row: int, report: Report,
                  partial: bool = False) -> None:
    if not cells:
        report.add("empty-column", Severity.INFO,
                   f"La colonne « {name} » est vide. Si le schéma de vos données la prévoit, gardez-la vide ; sinon, "
                   "remplissez-la ou retirez-la.", row=header_row, column=name)
        return
    spaces, fr_dates, fr_numbers, texts = Hits(partial), Hits(partial), Hits(partial), Hits(partial)
    kinds = {"number": 0, "number-fr": 0, "date": 0, "date-fr": 0, "text": 0}
    ident = _id_checker(name) or _content_checker(cells)
    bad_ids: dict[str, Hits] = {}
    unknown_insee, postcodes = Hits(partial), Hits(partial)
    for row, value in cells:
        if value != value.strip():
            spaces.add(row, value)
        v = value.strip()
        if not v:
            continue
        kind = kind_of(v)
        kinds[kind] += 1
        if kind == "date-fr":
            fr_dates.add(row, v)
        elif kind == "number-fr":
            fr_numbers.add(row, v)
        elif kind == "text":
            texts.add(row, v)
        if ident is not None:
            problem = ident[1](v)
            if problem is not None:
                bad_ids.setdefault(problem, Hits(partial)).add(row, v)
            elif ident[1] is ids.insee_problem and not french.is_commune(v.zfill(5)):
                (postcodes if french.is_postcode(v) else unknown_insee).add(row, v)
    if spaces.rows:
        # A remark, not a point to fix: schemas accept them, and reusers' tools trim them.
        report.add("whitespace", Severity.INFO,
                   f"Espaces en début ou fin de valeur : {spaces.text()}. Vous pouvez les retirer (fonction "
                   "SUPPRESPACE du tableur).", row=spaces.rows[0], column=name)
    dated = kinds["date"] + kinds["date-fr"]
    if fr_dates.rows and dated * 2 >= sum(kinds.values()):  # a date column, not free text with a date in it
        # Advice without a schema (ISO 8601 is data.gouv.fr's recommendation); an error for a schema's date field.
        report.add("date-format", Severity.WARNING,
                   f"Dates au format JJ/MM/AAAA : écrivez-les AAAA-MM-JJ (ISO 8601), par exemple 2024-03-15. "
                   f"Valeurs : {fr_dates.text()}.", row=fr_dates.rows[0], column=name)
    if fr_numbers.rows and ident is None:
        report.add("decimal-comma", Severity.WARNING,
                   f"Nombres avec une virgule décimale ou des espaces entre les milliers : utilisez le point "
                   f"décimal sans séparateur de milliers (1250.50). Valeurs : {fr_numbers.text()}.",
                   row=fr_numbers.rows[0], column=name)
    numeric = kinds["number"] + kinds["number-fr"]
    total = sum(kinds.values())
    if ident is None and texts.rows and numeric * 5 >= total * 4:
        report.add("mixed-types", Severity.WARNING,
                   f"Colonne de nombres contenant du texte : {texts.text()}. Laissez la cellule vide quand la "
                   "valeur est inconnue, et mettez les unités dans le nom de la colonne.",
                   row=texts.rows[0], column=name)
    if ident is not None:
        code, _, label = ident
        for problem, hits in bad_ids.items():
            report.add(code, Severity.ERROR, f"{label} non valide ({problem}) : {hits.text()}.",
                       row=hits.rows[0], column=name)
    if postcodes.rows:
        report.add("insee-unknown", Severity.ERROR,
                   f"Codes postaux à la place des codes INSEE de commune : {postcodes.text()}. Le code INSEE (code "
                   "officiel géographique) n'est pas le code postal : Paris est 75056, pas 75001 ; Rouen est 76540, "
                   "pas 76000.", row=postcodes.rows[0], column=name)
    if unknown_insee.rows:
        report.add("insee-unknown", Severity.WARNING,
                   f"Codes INSEE bien formés mais qui ne sont pas des communes du code officiel géographique "
                   f"({french.COG_LABEL}) : {unknown_insee.text()}. Commune fusionnée depuis, ou erreur de saisie ?",
                   row=unknown_insee.rows[0], column=name)


def _float(value: str) -> float | None:
    try:
        return float(value.strip().replace(",", "."))
    except ValueError:
        return None


def _check_coordinates(lat_name: str, lon_name: str, body: list[list[str]], numbers: list[int], lat: int,
                       lon: int, report: Report, *, projected: bool = False) -> None:
    """Latitude/longitude in degrees; with ``projected`` (X/Y columns), Lambert-93 metres or degrees."""
    outside, swapped = Hits(), Hits()
    hint = ""
    for row, number in zip(body, numbers, strict=True):
        y = _float(row[lat]) if lat < len(row) else None
        x = _float(row[lon]) if lon < len(row) else None
        if x is None or y is None:
            continue
        if projected and ids.in_lambert93(x, y):
            continue
        if not ids.in_france(x, y):
            if ids.in_france(y, x):
                swapped.add(number, f"{y} ; {x}")
            else:
                outside.add(number, f"{y} ; {x}")
                hint = hint or ids.outside_hint(x, y)
    if swapped.rows:
        report.add("coordinates-swapped", Severity.ERROR,
                   f"Latitude et longitude inversées ({lat_name} ; {lon_name}) : {swapped.text()}. En France "
                   "métropolitaine la latitude est entre 41 et 51 et la longitude entre -5 et 10 : échangez le contenu "
                   "des deux colonnes sur ces lignes.", row=swapped.rows[0], column=f"{lat_name}, {lon_name}")
    if outside.rows:
        report.add("coordinates-outside-france", Severity.ERROR,
                   f"Points hors de France ({lat_name} ; {lon_name}) : {outside.text()}. Cause probable : {hint}.",
                   row=outside.rows[0], column=f"{lat_name}, {lon_name}")
