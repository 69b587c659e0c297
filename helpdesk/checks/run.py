"""Which check a file gets, by its name and its first bytes; every check under size and time limits."""

from __future__ import annotations

import logging
import zipfile
import zlib
from pathlib import PurePosixPath
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException, ElementTree

from helpdesk.checks import geo, metadata, scdl, spreadsheets, tables
from helpdesk.checks.archive import Refused, open_zip, read_member
from helpdesk.checks.csvfile import Table, read_csv
from helpdesk.checks.limits import CheckTimeout, Deadline, Limits
from helpdesk.checks.report import Report, Severity

log = logging.getLogger(__name__)
KINDS = {".csv": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx", ".ods": "ods", ".xml": "xml",
         ".zip": "zip", ".geojson": "geojson", ".json": "json"}
MAX_MEMBERS_CHECKED = 20
SCHEMA_SKIP = {"date-format", "decimal-comma", "siret-invalid", "siren-invalid", "insee-invalid"}


def kind_of(filename: str, data: bytes = b"") -> str | None:
    """'csv', 'xlsx', 'ods', 'xml', 'zip', 'geojson', 'json' or None when the file is not checked."""
    kind = KINDS.get(PurePosixPath(filename.replace("\\", "/")).suffix.lower())
    if kind is not None or not data:
        return kind
    head = data[:512].lstrip()
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith(b"<?xml") or head.startswith(b"<"):
        return "xml"
    return None


def is_checkable(filename: str) -> bool:
    return kind_of(filename) is not None


def check_file(filename: str, data: bytes, limits: Limits | None = None, *, deadline: Deadline | None = None
               ) -> Report:
    """The full report for one file. Never raises for a bad file: every problem is a finding.

    ``deadline`` is shared with the caller (the members of an archive share the archive's time).
    """
    limits = limits or Limits()
    report = Report(filename)
    kind = kind_of(filename, data)
    if kind is None:
        report.kind = "unsupported"
        return report
    if len(data) > limits.max_bytes:
        report.add("too-large", Severity.ERROR,
                   f"Fichier de {len(data) // (1024 * 1024)} Mo : au-delà de {limits.max_bytes // (1024 * 1024)} Mo "
                   "il n'est pas vérifié automatiquement.")
        return report
    deadline = deadline or Deadline(limits.seconds)
    try:
        _dispatch(kind, filename, data, report, limits, deadline)
    except CheckTimeout:
        report.add("timeout", Severity.ERROR,
                   f"Vérification interrompue après {limits.seconds:g} s : le fichier sera regardé par une personne.")
    except Refused:
        pass
    except DefusedXmlException as exc:
        report.add("xml-unsafe", Severity.ERROR,
                   f"XML refusé : il déclare une DTD, des entités ou des références externes ({type(exc).__name__}). "
                   "Une fiche de métadonnées n'en a pas besoin : exportez-la sans DOCTYPE.")
    except ParseError as exc:
        report.add("xml-invalid", Severity.ERROR, f"XML mal formé ({exc}) : le fichier est tronqué ou abîmé.")
    except (zipfile.BadZipFile, zlib.error, NotImplementedError) as exc:
        report.add("archive-invalid", Severity.ERROR,
                   f"Archive zip abîmée ou d'un format non pris en charge ({exc}) : renvoyez le fichier.")
    except (ValueError, RecursionError, OSError, EOFError) as exc:  # a file no reader expected
        log.info("check of %s stopped: %s", kind, exc, exc_info=True)
        report.add("check-failed", Severity.ERROR,
                   f"Le fichier n'a pas pu être lu jusqu'au bout ({type(exc).__name__}) : une personne le regardera.")
    return report


def _dispatch(kind: str, filename: str, data: bytes, report: Report, limits: Limits, deadline: Deadline) -> None:
    if kind == "csv":
        report.kind = "table"
        check_table(read_csv(data, report, limits.max_rows, deadline), report, deadline, limits)
    elif kind in ("xlsx", "ods"):
        report.kind = "table"
        reader = spreadsheets.read_xlsx if kind == "xlsx" else spreadsheets.read_ods
        table = reader(data, report, limits, deadline)
        if table is not None:
            report.details["sheet"] = table.sheet
            check_table(table, report, deadline, limits)
    elif kind == "xml":
        report.kind = "metadata"
        root = ElementTree.fromstring(data, forbid_dtd=True)
        if root.tag == "{{{}}}RDF".format(metadata.NS["rdf"]):
            metadata.check_dcat(root, report)
        else:
            metadata.check_iso19139(root, report)
    elif kind in ("geojson", "json"):
        geo.check_geojson(data, report, deadline)
    elif kind == "zip":
        _check_zip(data, report, limits, deadline)


def check_table(table: Table, report: Report, deadline: Deadline, limits: Limits) -> None:
    h = tables.check_table(table, report, deadline)
    if h is None:
        return
    schema = scdl.match(table.rows[h])
    if schema is None:
        return
    # Optional schema columns are often empty on purpose; a cause already reported is not repeated.
    fields = {f["name"] for f in schema.fields}
    report.findings = [f for f in report.findings if not (f.code == "empty-column" and f.column in fields)]
    skip = {f.column for f in report.findings if f.code in SCHEMA_SKIP and f.column}
    deadline.check()
    body, numbers = table.rows[h + 1:], table.row_numbers[h + 1:]
    if len(body) > limits.schema_rows:
        report.add("partial-check", Severity.INFO, f"Validation par le schéma SCDL limitée aux "
                   f"{limits.schema_rows} premières lignes (sur {len(body)}).")
        body, numbers = body[: limits.schema_rows], numbers[: limits.schema_rows]
    scdl.check_schema(schema, table.rows[h], body, numbers, report, skip)


def _check_zip(data: bytes, report: Report, limits: Limits, deadline: Deadline) -> None:
    report.kind = "archive"
    archive = open_zip(data, report, limits)
    with archive:
        if geo.check_shapefiles(archive, report, deadline):
            report.kind = "shapefile"
            return
        members = [n for n in archive.namelist()
                   if kind_of(n) not in (None, "zip") and not n.endswith("/") and "__MACOSX" not in n]
        if len(members) > MAX_MEMBERS_CHECKED:
            report.add("partial-check", Severity.INFO, f"Archive de {len(members)} fichiers : seuls les "
                       f"{MAX_MEMBERS_CHECKED} premiers ont été vérifiés.")
        for name in members[:MAX_MEMBERS_CHECKED]:
            deadline.check()
            sub = check_file(name, read_member(archive, name), limits, deadline=deadline)
            if "timeout" in sub.codes():
                raise CheckTimeout(name)
            for f in sub.findings:
                report.add(f.code, f.severity, f.message, row=f.row, column=f.column,
                           element=f"{name} : {f.element}" if f.element else name)
