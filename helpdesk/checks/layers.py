"""Vector layers read through GDAL (pyogrio's wheels ship it): MapInfo TAB/MIF, GeoPackage, KML, GML.

A layer's files are written to a private temporary directory (MapInfo needs its .tab, .dat, .map and .id
side by side), then pyogrio lists the layers, their CRS (named by pyproj), feature count and extent.
If pyogrio cannot be imported, the report says plainly which layer was not checked.
"""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from helpdesk.checks import geo
from helpdesk.checks import identifiers as ids
from helpdesk.checks.archive import read_member
from helpdesk.checks.limits import Deadline
from helpdesk.checks.report import Report, Severity

MAIN = {".tab": "MapInfo TAB", ".mif": "MapInfo MIF/MID", ".gpkg": "GeoPackage", ".kml": "KML", ".gml": "GML"}
COMPANIONS = {".tab": (".dat", ".map", ".id", ".ind"), ".mif": (".mid",), ".gml": (".xsd", ".gfs")}
REQUIRED = {".tab": (".dat", ".map", ".id"), ".mif": (".mid",)}
MAX_LAYERS = 20
# GDAL never goes to the network during a check: no WFS/GML application schema download, no xlink
# resolution, and any HTTP attempt sent to a closed local port.
GDAL_OFFLINE = {"GML_DOWNLOAD_WFS_SCHEMA": "NO", "GML_SKIP_RESOLVE_ELEMS": "ALL", "GDAL_HTTP_PROXY": "127.0.0.1:9",
                "GDAL_HTTP_TIMEOUT": "1", "GDAL_HTTP_MAX_RETRY": "0", "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR"}


def check_layer_files(files: dict[str, bytes], report: Report, deadline: Deadline, element: str | None = None
                      ) -> None:
    """Check the layer whose main file is among ``files`` (file name -> bytes)."""
    main = next((n for n in files if PurePosixPath(n).suffix.lower() in MAIN), None)
    if main is None:
        return
    suffix = PurePosixPath(main).suffix.lower()
    where = element or main
    missing = [ext for ext in REQUIRED.get(suffix, ()) if not any(n.lower().endswith(ext) for n in files)]
    if missing:
        absent = ", ".join(PurePosixPath(main).stem + m for m in missing)
        report.add("layer-sidecar-missing", Severity.ERROR,
                   f"Couche {MAIN[suffix]} incomplète : fichier(s) {absent} absent(s). Envoyez tous les fichiers "
                   "de la couche ensemble, dans une archive zip.", element=where)
        return
    try:
        import pyogrio
    except ImportError:  # pragma: no cover - the wheel installs on the supported platforms
        report.add("unsupported-format", Severity.WARNING,
                   f"La couche {MAIN[suffix]} « {main} » n'a pas été vérifiée (lecteur GDAL indisponible).",
                   element=where)
        return
    deadline.check()
    pyogrio.set_gdal_config_options(GDAL_OFFLINE)
    with tempfile.TemporaryDirectory(prefix="helpdesk-layer-") as tmp:
        for name, data in files.items():
            (Path(tmp) / PurePosixPath(name).name).write_bytes(data)
        path = str(Path(tmp) / PurePosixPath(main).name)
        try:
            names = [str(row[0]) for row in pyogrio.list_layers(path)][:MAX_LAYERS]
            infos = [(n, pyogrio.read_info(path, layer=n, force_feature_count=True, force_total_bounds=True))
                     for n in names]
        except Exception as exc:  # noqa: BLE001 - GDAL's errors are many; a broken layer is a finding
            report.add("layer-unreadable", Severity.ERROR,
                       f"Couche {MAIN[suffix]} illisible ({type(exc).__name__}) : exportez-la à nouveau depuis votre "
                       "logiciel SIG.", element=element)
            return
    report.kind = "layer" if report.kind in ("unknown", "layer") else report.kind
    for name, info in infos:
        deadline.check()
        _judge_layer(main, name, info, suffix, report, where)


def _judge_layer(main: str, name: str, info: dict[str, Any], suffix: str, report: Report, where: str) -> None:
    label = f"{where} / {name}" if name != PurePosixPath(main).stem else where
    count = int(info.get("features") or 0)
    report.details.setdefault("features", {})[label] = count
    wkt = info.get("crs")
    projection, epsg = geo.crs_of(wkt) if wkt else (None, None)
    report.details.setdefault("projections", {})[label] = projection
    if info.get("geometry_type") is None and wkt is None:
        return  # an attribute table (a GeoPackage's non-spatial table): no projection, no extent
    if projection is None and suffix not in (".kml", ".gml"):
        report.add("projection-unexpected", Severity.ERROR,
                   f"Couche {label} sans projection déclarée : déclarez le Lambert-93 (EPSG:2154).", element=where)
    elif projection not in (None, "lambert93", "wgs84"):
        severity = Severity.ERROR if geo.is_cnig(main) else Severity.WARNING
        report.add("projection-unexpected", severity,
                   f"Couche {label} en « {projection} » : le Lambert-93 (EPSG:2154) est attendu"
                   + (" par le standard CNIG." if geo.is_cnig(main) else " pour des données locales (le WGS84 est "
                                                                         "accepté)."), element=where)
    bounds = info.get("total_bounds")
    if count == 0 or bounds is None or len(bounds) != 4:
        return
    x0, y0, x1, y1 = (float(b) for b in bounds)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    inside = (ids.in_lambert93(cx, cy) if projection == "lambert93" else ids.in_france(cx, cy)
              if projection in ("wgs84", None) else geo.center_in_france(cx, cy, epsg))
    if inside is False:
        report.add("coordinates-outside-france", Severity.ERROR,
                   f"L'emprise de la couche {label} ne tombe pas en France : la projection déclarée ne correspond pas "
                   "aux coordonnées ?", element=where)


def check_archive_layers(archive: zipfile.ZipFile, names: list[str], report: Report, deadline: Deadline
                         ) -> set[str]:
    """Check every TAB/MIF/GPKG/KML/GML layer of an archive; the members used."""
    used: set[str] = set()
    by_stem: dict[str, list[str]] = {}
    for n in names:
        by_stem.setdefault(str(PurePosixPath(n).with_suffix("")).lower(), []).append(n)
    for n in names:
        suffix = PurePosixPath(n).suffix.lower()
        if suffix not in MAIN:
            continue
        if suffix in (".gml", ".kml") and n.lower().endswith((".xml",)):
            continue
        group = [m for m in by_stem[str(PurePosixPath(n).with_suffix("")).lower()]
                 if m == n or PurePosixPath(m).suffix.lower() in COMPANIONS.get(suffix, ())]
        used |= set(group)
        check_layer_files({PurePosixPath(m).name: read_member(archive, m) for m in group}, report, deadline,
                          element=n)
    return used
