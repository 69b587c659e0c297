"""Which check a file gets, by its name and its first bytes; every check under size and time limits."""

from __future__ import annotations

import json
import logging
import zipfile
import zlib
from dataclasses import replace
from pathlib import PurePosixPath
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException, ElementTree

from helpdesk.checks import dcat, geo, layers, metadata, scdl, spreadsheets, tables
from helpdesk.checks.archive import Refused, open_zip, read_member
from helpdesk.checks.csvfile import Table, read_csv
from helpdesk.checks.limits import CheckTimeout, Deadline, Limits
from helpdesk.checks.report import Report, Severity

log = logging.getLogger(__name__)
KINDS = {".csv": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx", ".xls": "xls", ".ods": "ods",
         ".xml": "xml", ".rdf": "xml", ".zip": "zip", ".geojson": "geojson", ".json": "json", ".ttl": "rdf",
         ".jsonld": "rdf", ".n3": "rdf", ".nt": "rdf", ".tab": "layer", ".mif": "layer", ".gpkg": "layer",
         ".kml": "layer", ".gml": "layer"}
# Files a check names but cannot read alone: the verdict is « unsupported », said plainly.
NOT_ALONE = {".shp": "un shapefile seul (sans ses fichiers .shx, .dbf et .prj) ne peut pas être lu : envoyez "
             "l'ensemble des fichiers de la couche dans une archive zip",
             ".mid": "un fichier .mid ne se lit qu'avec son fichier .mif : envoyez les deux dans une archive zip",
             ".dbf": "un fichier .dbf seul ne contient pas la géométrie : envoyez toute la couche dans une archive zip"}
UNSUPPORTED_FR = ("Le format de ce fichier n'est pas vérifié automatiquement (ni tableau CSV, XLS, XLSX ou ODS, ni "
                  "fiche de métadonnées XML, ni couche géographique reconnue) : une personne le regardera.")
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
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    if head.startswith(b"<?xml") or head.startswith(b"<"):
        return "xml"
    if head.startswith(b"@prefix") or head.startswith(b"@base"):
        return "rdf"
    return None


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:].rstrip(".") + "."


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
        suffix = PurePosixPath(filename.replace("\\", "/")).suffix.lower()
        report.add("unsupported-format", Severity.ERROR, _sentence(NOT_ALONE.get(suffix, UNSUPPORTED_FR)))
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
    elif kind in ("xlsx", "ods", "xls"):
        report.kind = "table"
        table = spreadsheets.read_workbook(data, report, limits, deadline, kind)
        if table is not None:
            report.details["sheet"] = table.sheet
            check_table(table, report, deadline, limits)
    elif kind == "xml":
        report.kind = "metadata"
        root = ElementTree.fromstring(data, forbid_dtd=True)
        rdf_ns = "{{{}}}".format(metadata.NS["rdf"])
        if root.tag == f"{rdf_ns}RDF" or str(root.tag).startswith("{{{}}}".format(metadata.NS["dcat"])) or any(
                str(k).startswith(rdf_ns) for k in root.attrib):
            dcat.check_rdf(data, "xml", report)  # RDF/XML, with rdf:RDF as root or a single typed node
        else:
            metadata.check_iso19139(root, report)
    elif kind == "rdf":
        report.kind = "metadata"
        dcat.check_rdf(data, dcat.FORMATS.get(PurePosixPath(filename).suffix.lower(), "turtle"), report)
    elif kind == "json":
        _check_json(data, report, deadline)
    elif kind == "geojson":
        geo.check_geojson(data, report, deadline)
    elif kind == "layer":
        report.kind = "layer"
        layers.check_layer_files({PurePosixPath(filename).name: data}, report, deadline)
    elif kind == "zip":
        _check_zip(data, report, limits, deadline)


def check_table(table: Table, report: Report, deadline: Deadline, limits: Limits) -> None:
    h = tables.check_table(table, report, deadline)
    if h is None:
        return
    found = scdl.match_table(table.rows[h])
    if found is None:
        return
    schema = found.schema
    # Optional schema columns are often empty on purpose; a cause already reported is not repeated.
    header = [found.rename.get(i, c.strip()) for i, c in enumerate(table.rows[h])]
    by_column = dict(zip([c.strip() for c in table.rows[h]], header, strict=True))
    fields = {f["name"]: f for f in schema.fields}
    report.findings = [f for f in report.findings
                       if not (f.code == "empty-column" and by_column.get(f.column or "") in fields)]
    upgraded = []
    for f in report.findings:
        spec = fields.get(by_column.get(f.column or "", ""), {})
        if f.code == "mixed-types" and spec.get("type", "string") == "string" and spec:
            continue  # a text field of the schema: numbers and text may mix (references like 17.1.43)
        if f.code == "decimal-comma" and spec.get("type") in ("number", "integer") and f.severity is not Severity.ERROR:
            f = replace(f, severity=Severity.ERROR, message=f.message + f" Le {schema.label} exige ce format : "
                        "le fichier ne passe pas la validation tant que ces nombres ne sont pas corrigés.")
        if f.code == "date-format" and spec.get("type") in ("date", "datetime") and f.severity is not Severity.ERROR:
            f = replace(f, severity=Severity.ERROR, message=f.message + f" Le {schema.label} exige des dates "
                        "AAAA-MM-JJ : le fichier ne passe pas la validation tant qu'elles ne sont pas corrigées.")
        upgraded.append(f)
    report.findings = upgraded
    skip = {f.column for f in report.findings if f.code in SCHEMA_SKIP and f.column}
    deadline.check()
    body, numbers = table.rows[h + 1:], table.row_numbers[h + 1:]
    if len(body) > limits.schema_rows:
        report.details["partial"] = True
        report.add("partial-check", Severity.INFO, f"Validation par le schéma SCDL limitée aux "
                   f"{limits.schema_rows} premières lignes (sur {len(body)}).")
        body, numbers = body[: limits.schema_rows], numbers[: limits.schema_rows]
    skip = {by_column.get(c, c) for c in skip}
    scdl.check_schema(found, table.rows[h], body, numbers, report, skip)


def _check_json(data: bytes, report: Report, deadline: Deadline) -> None:
    """GeoJSON, JSON-LD (DCAT) or a JSON the checks do not read (said plainly)."""
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        report.kind = "json"
        report.add("json-invalid", Severity.ERROR, f"JSON illisible ({type(exc).__name__}) : le fichier est tronqué "
                   "ou abîmé. Exportez-le à nouveau.")
        return
    if isinstance(doc, dict) and doc.get("type") in geo.GEOJSON_TYPES:
        geo.check_geojson(data, report, deadline)
    elif isinstance(doc, dict | list) and ("@context" in doc if isinstance(doc, dict) else
                                           any(isinstance(d, dict) and "@context" in d for d in doc[:5])):
        report.kind = "metadata"
        dcat.check_rdf(data, "json-ld", report)
    else:
        report.kind = "unsupported"
        report.add("unsupported-format", Severity.ERROR,
                   "Fichier JSON qui n'est ni du GeoJSON ni une description DCAT (JSON-LD) : son contenu n'est pas "
                   "vérifié automatiquement. Pour des données tabulaires, préférez un CSV.")


def _check_zip(data: bytes, report: Report, limits: Limits, deadline: Deadline) -> None:
    """Every member checked: shapefiles and MapInfo layers as layers, the rest file by file."""
    report.kind = "archive"
    archive = open_zip(data, report, limits)
    with archive:
        names = [n for n in archive.namelist() if not n.endswith("/") and "__MACOSX" not in n
                 and not PurePosixPath(n).name.startswith(".")]
        used = geo.check_shapefiles(archive, report, deadline)
        used |= layers.check_archive_layers(archive, names, report, deadline)
        if used and all(n in used or PurePosixPath(n).suffix.lower() in geo.SIDECAR_SUFFIXES for n in names):
            report.kind = "shapefile" if any(n.lower().endswith(".shp") for n in used) else "layer"
        members = [n for n in names if n not in used and PurePosixPath(n).suffix.lower() not in geo.SIDECAR_SUFFIXES
                   and not n.lower().endswith(".shp.xml")]
        # A zip inside the archive is not opened (no unbounded nesting): listed as not read.
        not_read = [n for n in members if kind_of(n) in (None, "zip")]
        readable = [n for n in members if kind_of(n) not in (None, "zip")]
        if not used and not readable:
            report.add("unsupported-format", Severity.ERROR,
                       ("Archive vide." if not names else
                        "Aucun fichier de l'archive n'est dans un format vérifié automatiquement (tableau, fiche de "
                        "métadonnées, couche géographique) : une personne la regardera."))
            return
        if len(readable) > MAX_MEMBERS_CHECKED:
            report.details["partial"] = True
            report.add("partial-check", Severity.INFO, f"Archive de {len(readable)} fichiers vérifiables : seuls les "
                       f"{MAX_MEMBERS_CHECKED} premiers ont été vérifiés.")
        for name in readable[:MAX_MEMBERS_CHECKED]:
            deadline.check()
            sub = check_file(name, read_member(archive, name), limits, deadline=deadline)
            if "timeout" in sub.codes():
                raise CheckTimeout(name)
            report.details.setdefault("members", {})[name] = sub.verdict
            for f in sub.findings:
                report.add(f.code, f.severity, f.message, row=f.row, column=f.column,
                           element=f"{name} : {f.element}" if f.element else name)
        if not_read:
            shown = ", ".join(f"« {n} »" for n in not_read[:5]) + ("…" if len(not_read) > 5 else "")
            report.add("unsupported-format", Severity.INFO,
                       f"{len(not_read)} fichier(s) de l'archive dans un format non vérifié automatiquement "
                       f"({shown}) : ils seront regardés par une personne.", element=not_read[0])
