"""Geodata: zipped shapefiles (sidecar files, .prj projection, extent) and GeoJSON (structure, WGS84 coordinates)."""

from __future__ import annotations

import io
import json
import re
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any

from helpdesk.checks import identifiers as ids
from helpdesk.checks.archive import read_member
from helpdesk.checks.limits import Deadline
from helpdesk.checks.report import Report, Severity

SIDECARS = {".shx": Severity.ERROR, ".dbf": Severity.ERROR, ".cpg": Severity.WARNING}
GEOMETRY_TYPES = {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon",
                  "GeometryCollection"}
DEPTH = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2, "Polygon": 2, "MultiPolygon": 3}
MAX_INVALID = 10
GEOJSON_TYPES = {"FeatureCollection", "Feature", *GEOMETRY_TYPES}
SIDECAR_SUFFIXES = {".shp", ".shx", ".dbf", ".prj", ".cpg", ".qpj", ".sbn", ".sbx", ".qix", ".shp.xml", ".qmd",
                    ".fix", ".aih", ".ain", ".atx"}
# Layers of the CNIG standards (PLU/PLUi/CC/PSMV, SUP): Lambert-93 in metropolitan France.
CNIG_LAYER_RE = re.compile(r"(?:^|_)(?:ZONE_URBA|SECTEUR_CC|PRESCRIPTION_(?:SURF|LIN|PCT)|INFO_(?:SURF|LIN|PCT)|"
                           r"DOC_URBA(?:_COM)?|HABILLAGE_\w+|ACTE_SUP|SERVITUDE|GENERATEUR_SUP_\w+|"
                           r"ASSIETTE_SUP_\w+)(?:_|$)", re.IGNORECASE)


def is_cnig(path: str) -> bool:
    """A layer named after a CNIG standard's table (e.g. 33063_ZONE_URBA_20200101.shp)."""
    return bool(CNIG_LAYER_RE.search(PurePosixPath(path).stem)) or "donnees_geographiques" in path.lower()


def crs_of(wkt: str) -> tuple[str, int | None]:
    """('lambert93' | 'wgs84' | the CRS's name, its EPSG code or None), named by pyproj."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        crs = CRS.from_user_input(wkt)
        epsg = crs.to_epsg(min_confidence=70)
    except CRSError:
        return projection_of(wkt), None
    if epsg == 2154 or (epsg is None and is_lambert93_lcc(wkt)):
        return "lambert93", 2154
    if epsg == 4326 or (crs.is_geographic and "WGS" in crs.name.upper() and "84" in crs.name):
        return "wgs84", epsg or 4326
    guess = projection_of(wkt)
    if guess in ("lambert93", "wgs84"):
        return guess, epsg
    return (f"{crs.name} (EPSG:{epsg})" if epsg else crs.name), epsg


def center_in_france(x: float, y: float, epsg: int | None) -> bool | None:
    """Whether a point in a projected CRS falls in France (pyproj); None when it cannot be said."""
    if epsg is None:
        return None
    from pyproj import Transformer
    from pyproj.exceptions import ProjError

    try:
        lon, lat = Transformer.from_crs(epsg, 4326, always_xy=True).transform(x, y)
    except (ProjError, ValueError):
        return None
    if not (abs(lon) <= 180 and abs(lat) <= 90):
        return False
    return ids.in_france(lon, lat)


def projection_of(wkt: str) -> str:
    """'lambert93', 'wgs84' or the projection's name as the .prj gives it."""
    flat = wkt.replace(" ", "").lower()
    if "lambert93" in flat.replace("-", "").replace("_", "") or "2154" in flat:
        return "lambert93"
    if flat.startswith("projcs") and "rgf93" in flat and "lambert_conformal_conic" in flat and \
            '"central_meridian",3' in flat and '"false_easting",700000' in flat:
        return "lambert93"
    if flat.startswith("geogcs") and ("wgs_1984" in flat or "wgs84" in flat or "wgs1984" in flat):
        return "wgs84"
    name = re.match(r'\s*(?:PROJCS|GEOGCS|PROJCRS|GEOGCRS)\s*\[\s*"([^"]+)"', wkt, re.IGNORECASE)
    return name.group(1) if name else wkt[:60]


def check_shapefiles(archive: zipfile.ZipFile, report: Report, deadline: Deadline) -> set[str]:
    """Check every shapefile in the archive; the members that belong to a shapefile (empty when none)."""
    members = [n for n in archive.namelist() if not n.endswith("/") and "__MACOSX" not in n]
    groups: dict[str, dict[str, str]] = {}
    for name in members:
        p = PurePosixPath(name)
        if p.suffix.lower() in SIDECAR_SUFFIXES:  # a record.xml beside the layer is a member of its own
            groups.setdefault(str(p.with_suffix("")).lower(), {})[p.suffix.lower()] = name
    used: set[str] = set()
    for files in groups.values():
        if ".shp" not in files:
            continue
        used |= set(files.values())
        deadline.check()
        shp = files[".shp"]
        for ext, severity in SIDECARS.items():
            if ext == ".cpg" and ext not in files and ".dbf" in files and \
                    not cpg_needed(read_member(archive, files[".dbf"])):
                continue
            if ext not in files:
                why = ("encodage des attributs inconnu : les accents risquent d'être mal lus" if ext == ".cpg"
                       else "la couche ne peut pas être ouverte sans lui")
                report.add("shapefile-sidecar-missing", severity,
                           f"Fichier {PurePosixPath(shp).stem}{ext} absent de l'archive ({why}).", element=shp)
        projection: str | None = None
        epsg: int | None = None
        if ".prj" not in files:
            report.add("shapefile-prj-missing", Severity.ERROR,
                       f"Fichier {PurePosixPath(shp).stem}.prj absent : la projection de la couche est inconnue. "
                       "Joignez le .prj (Lambert-93, EPSG:2154, attendu).", element=shp)
        else:
            projection, epsg = crs_of(read_member(archive, files[".prj"]).decode("latin-1"))
            report.details.setdefault("projections", {})[shp] = projection
            if is_cnig(shp) and projection != "lambert93" and not _overseas(epsg):
                report.add("projection-unexpected", Severity.ERROR,
                           f"Projection « {projection} » : ce document d'urbanisme suit le standard CNIG, qui impose "
                           "le Lambert-93 (EPSG:2154) en métropole. Reprojetez la couche en Lambert-93 avant le dépôt "
                           "sur le Géoportail de l'urbanisme.", element=files[".prj"])
            elif projection not in ("lambert93", "wgs84"):
                report.add("projection-unexpected", Severity.WARNING,
                           f"Projection « {projection} » : le Lambert-93 (EPSG:2154) est attendu pour des données "
                           "locales (le WGS84 est accepté).", element=files[".prj"])
        if ".shx" in files:
            _extent(archive, files, projection, report, epsg if ".prj" in files else None)
    return used


def cpg_needed(dbf: bytes) -> bool:
    """Whether a .dbf without .cpg will be misread. The .cpg is optional (ESRI's specification lists .shp,
    .shx and .dbf): a dBASE language driver id (byte 29) declares the code page, ASCII needs none, and readers
    (GDAL, QGIS) default to Latin-1, which is right for windows-1252 text; only UTF-8 text with no
    declaration comes out garbled (« CimetiÃ¨re »)."""
    if len(dbf) < 32 or dbf[29] != 0 or dbf.isascii():
        return False
    return re.search(rb"[\xc2-\xf4][\x80-\xbf]", dbf) is not None and _utf8_text(dbf)


def _utf8_text(dbf: bytes) -> bool:
    """Whether the non-ASCII bytes of the records (after the header) form UTF-8 sequences."""
    header = int.from_bytes(dbf[8:10], "little")
    try:
        dbf[header:].decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def is_lambert93_lcc(wkt: str) -> bool:
    """An unnamed Lambert conformal conic on GRS80 whose parameters are Lambert-93's (44/49, 46.5, 3,
    700000/6600000), as some tools write it."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        with warnings.catch_warnings():  # to_dict warns that a PROJ string loses information: only parameters are read
            warnings.simplefilter("ignore", UserWarning)
            p = CRS.from_user_input(wkt).to_dict()
    except CRSError:
        return False
    def close(key: str, value: float) -> bool:
        return abs(float(p.get(key, "nan")) - value) < 1e-6

    return (p.get("proj") == "lcc" and p.get("ellps") == "GRS80" and p.get("units", "m") == "m"
            and {round(float(p.get("lat_1", 0)), 6), round(float(p.get("lat_2", 0)), 6)} == {44.0, 49.0}
            and close("lat_0", 46.5) and close("lon_0", 3) and close("x_0", 700000) and close("y_0", 6600000))


def _overseas(epsg: int | None) -> bool:
    """Overseas CRSs the CNIG standard accepts (RGAF09 UTM 20N, RGFG95 UTM 22N, RGR92 UTM 40S, RGM04 UTM 38S,
    RGSPM06 UTM 21N)."""
    return epsg in (5490, 2972, 2975, 4471, 4467)


def _extent(archive: zipfile.ZipFile, files: dict[str, str], projection: str | None, report: Report,
            epsg: int | None = None) -> None:
    import shapefile

    try:
        reader = shapefile.Reader(shp=io.BytesIO(read_member(archive, files[".shp"])),
                                  shx=io.BytesIO(read_member(archive, files[".shx"])),
                                  dbf=io.BytesIO(read_member(archive, files[".dbf"])) if ".dbf" in files else None,
                                  encoding="latin-1")  # only the extent and the count are read here
        x0, y0, x1, y1 = reader.bbox
        count = len(reader)
    except Exception as exc:  # noqa: BLE001 - a broken layer is reported, not raised
        report.add("shapefile-invalid", Severity.ERROR, f"Couche illisible ({type(exc).__name__}: {exc}).",
                   element=files[".shp"])
        return
    report.details.setdefault("features", {})[files[".shp"]] = count
    if count == 0:
        return
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    if projection == "lambert93" and not ids.in_lambert93(cx, cy):
        report.add("coordinates-outside-france", Severity.ERROR,
                   f"L'emprise de la couche ({x0:.0f}, {y0:.0f}, {x1:.0f}, {y1:.0f}) n'est pas en France "
                   "métropolitaine en Lambert-93 : le .prj ne correspond pas aux coordonnées ?", element=files[".shp"])
    elif projection == "wgs84" and not ids.in_france(cx, cy):
        report.add("coordinates-outside-france", Severity.ERROR,
                   f"L'emprise de la couche n'est pas en France : {ids.outside_hint(cx, cy)}.", element=files[".shp"])
    elif projection not in ("lambert93", "wgs84") and center_in_france(cx, cy, epsg) is False:
        report.add("coordinates-outside-france", Severity.ERROR,
                   f"L'emprise de la couche ne tombe pas en France dans la projection déclarée ({projection}) : le "
                   ".prj ne correspond pas aux coordonnées ?", element=files[".shp"])
    elif projection is None:
        guess = ("Lambert-93" if ids.in_lambert93(cx, cy) else "WGS84" if ids.in_france(cx, cy) else None)
        if guess:
            report.details.setdefault("projection_guess", {})[files[".shp"]] = guess
            report.add("projection-guess", Severity.INFO,
                       f"D'après les coordonnées, la couche semble être en {guess} : ajoutez le .prj correspondant.",
                       element=files[".shp"])


def _positions(coords: Any, depth: int) -> Iterator[Any]:
    if depth == 0:
        yield coords
        return
    if isinstance(coords, list):
        for c in coords:
            yield from _positions(c, depth - 1)


def _geometry_problem(geom: Any) -> str | None:
    if not isinstance(geom, dict) or geom.get("type") not in GEOMETRY_TYPES:
        return "géométrie sans type GeoJSON valide"
    kind = geom["type"]
    if kind == "GeometryCollection":
        parts = geom.get("geometries")
        if not isinstance(parts, list):
            return "GeometryCollection sans « geometries »"
        return next((p for p in map(_geometry_problem, parts) if p), None)
    coords = geom.get("coordinates")
    if not isinstance(coords, list):
        return f"{kind} sans « coordinates »"
    for pos in _positions(coords, DEPTH[kind]):
        if not (isinstance(pos, list) and 2 <= len(pos) <= 3 and all(isinstance(v, int | float) for v in pos)):
            return f"{kind} : position mal formée ({json.dumps(pos)[:40]})"
    if kind in ("Polygon", "MultiPolygon"):
        rings = coords if kind == "Polygon" else [r for poly in coords for r in poly]
        for ring in rings:
            if not isinstance(ring, list) or len(ring) < 4 or ring[0] != ring[-1]:
                return f"{kind} : anneau non fermé ou de moins de 4 positions"
    return None


def _all_positions(geom: dict[str, Any]) -> Iterator[list[float]]:
    if geom["type"] == "GeometryCollection":
        for part in geom["geometries"]:
            yield from _all_positions(part)
    else:
        yield from _positions(geom["coordinates"], DEPTH[geom["type"]])


def check_geojson(data: bytes, report: Report, deadline: Deadline) -> None:
    report.kind = "geojson"
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        report.add("geojson-invalid", Severity.ERROR, f"JSON illisible : {type(exc).__name__}.")
        return
    if not isinstance(doc, dict) or doc.get("type") not in GEOJSON_TYPES:
        report.add("geojson-invalid", Severity.ERROR,
                   "Ce n'est pas du GeoJSON : « type » doit valoir FeatureCollection, Feature ou une géométrie.")
        return
    crs = json.dumps(doc.get("crs", "")).lower()
    if "crs" in doc and "crs84" not in crs and "4326" not in crs:
        report.add("projection-unexpected", Severity.ERROR,
                   f"Membre « crs » {json.dumps(doc['crs'])[:80]} : le GeoJSON (RFC 7946) est toujours en WGS84 "
                   "(longitude, latitude en degrés). Reprojetez la couche à l'export.", element="crs")
    if doc["type"] == "FeatureCollection":
        features = doc.get("features")
        if not isinstance(features, list):
            report.add("geojson-invalid", Severity.ERROR, "FeatureCollection sans liste « features ».",
                       element="features")
            return
        items = [(f"features[{i}]", f) for i, f in enumerate(features)]
    elif doc["type"] == "Feature":
        items = [("", doc)]
    else:
        items = [("", {"type": "Feature", "geometry": doc})]
    report.details["features"] = len(items)
    invalid = 0
    outside: list[tuple[str, float, float]] = []
    metres = None
    for n, (path, feature) in enumerate(items):
        if n % 1000 == 0:
            deadline.check()
        if not isinstance(feature, dict) or feature.get("type") != "Feature" or "geometry" not in feature:
            problem: str | None = "objet qui n'est pas une Feature avec « geometry »"
        else:
            geom = feature["geometry"]
            problem = None if geom is None else _geometry_problem(geom)
        if problem:
            invalid += 1
            if invalid <= MAX_INVALID:
                report.add("geojson-invalid", Severity.ERROR, f"{problem[0].upper()}{problem[1:]}.",
                           element=path or None)
            continue
        if feature["geometry"] is None:
            continue
        for lon, lat, *_ in _all_positions(feature["geometry"]):
            if abs(lon) > 180 or abs(lat) > 90:
                metres = metres or (path, lon, lat)
                break
            if not ids.in_france(lon, lat):
                outside.append((path, lon, lat))
                break
    if invalid > MAX_INVALID:
        report.add("geojson-invalid", Severity.ERROR, f"{invalid} objets invalides en tout.")
    if metres:
        report.add("projection-unexpected", Severity.ERROR,
                   f"Coordonnées ({metres[1]}, {metres[2]}) en mètres et non en degrés : le GeoJSON doit être en "
                   "WGS84. Reprojetez la couche à l'export (EPSG:4326).", element=metres[0] or None)
    elif outside:
        swapped = [o for o in outside if ids.in_france(o[2], o[1])]
        others = [o for o in outside if not ids.in_france(o[2], o[1])]
        if swapped:
            path, lon, lat = swapped[0]
            report.add("coordinates-swapped", Severity.ERROR,
                       f"{len(swapped)} objet(s) dont la longitude et la latitude sont inversées, par exemple "
                       f"({lon}, {lat}) : le GeoJSON s'écrit [longitude, latitude]. Réexportez la couche en WGS84 "
                       "depuis votre logiciel SIG.", element=path or None)
        if others:
            path, lon, lat = others[0]
            report.add("coordinates-outside-france", Severity.WARNING,
                       f"{len(others)} objet(s) hors de France, par exemple ({lon}, {lat}) : "
                       f"{ids.outside_hint(lon, lat)}.", element=path or None)
