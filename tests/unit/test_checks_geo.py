"""Geodata and safety checks: zipped shapefiles, GeoJSON, zip bombs, size and time limits."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from helpdesk.checks import Limits, check_file
from tests.support.checks_samples import PSEUDO_MERCATOR_PRJ, shapefile_zip, zip_bomb

LAYER = "equipements/equipements.shp"


def found(report: object) -> list[tuple[str, str, str | None]]:
    return [(f.code, f.severity.value, f.element) for f in report.findings]  # type: ignore[attr-defined]


def test_complete_lambert93_shapefile_passes() -> None:
    report = check_file("equipements.zip", shapefile_zip())
    assert report.kind == "shapefile" and report.findings == []
    assert report.details["projections"] == {LAYER: "lambert93"}
    assert report.details["features"] == {LAYER: 2}


def test_shapefile_without_prj_and_cpg_guesses_the_projection() -> None:
    report = check_file("equipements.zip", shapefile_zip(prj=None, cpg=False))
    assert found(report) == [("shapefile-sidecar-missing", "warning", LAYER),
                             ("shapefile-prj-missing", "error", LAYER),
                             ("projection-guess", "info", LAYER)]
    assert "Lambert-93" in report.findings[-1].message


def test_missing_shx_and_unexpected_projection() -> None:
    report = check_file("equipements.zip", shapefile_zip(prj=PSEUDO_MERCATOR_PRJ, shx=False))
    assert found(report) == [("shapefile-sidecar-missing", "error", LAYER),
                             ("projection-unexpected", "warning", "equipements/equipements.prj")]
    assert "WGS_84_Pseudo_Mercator" in report.findings[-1].message


def test_prj_that_does_not_match_the_coordinates() -> None:
    report = check_file("equipements.zip", shapefile_zip(points=((2.86, 45.11), (2.87, 45.12))))
    assert found(report) == [("coordinates-outside-france", "error", LAYER)]


def test_zip_bomb_is_refused_before_anything_is_inflated(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_inflating(*args: object, **kwargs: object) -> None:
        raise AssertionError("a member was opened")

    bomb = zip_bomb()
    monkeypatch.setattr(zipfile.ZipFile, "open", no_inflating)
    report = check_file("budget.zip", bomb)
    assert found(report) == [("zip-bomb", "error", "budget.csv")]


def test_archive_too_big_once_uncompressed_and_too_many_members() -> None:
    small = Limits(max_uncompressed=1000, max_members=3)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a.csv", "x" * 600)
        z.writestr("b.csv", "y" * 600)
    assert found(check_file("a.zip", buf.getvalue(), small)) == [("zip-bomb", "error", None)]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for i in range(4):
            z.writestr(f"{i}.csv", "a,b\n1,2\n")
    assert found(check_file("a.zip", buf.getvalue(), small)) == [("zip-bomb", "error", None)]


def test_zip_without_shapefile_has_its_members_checked() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("donnees/budget.csv", "code,date\n6063,15/03/2024\n")
        z.writestr("LISEZMOI.txt", "bonjour")
    report = check_file("envoi.zip", buf.getvalue())
    assert [(f.code, f.row, f.column, f.element) for f in report.findings] == [
        ("date-format", 2, "date", "donnees/budget.csv"), ("unsupported-format", None, None, "LISEZMOI.txt")]
    # DD/MM/YYYY outside a schema is advice (ISO 8601 is recommended); the unread member is a remark
    assert report.verdict == "warnings" and report.findings[1].severity.value == "info"


def test_broken_zip() -> None:
    assert found(check_file("a.zip", b"PK\x03\x04 not really")) == [("archive-invalid", "error", None)]


def test_geojson_valid_invalid_swapped_and_in_metres() -> None:
    def fc(*geoms: object) -> bytes:
        return json.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"nom": f"objet {i}"}, "geometry": g} for i, g in enumerate(geoms)
        ]}).encode()

    point = {"type": "Point", "coordinates": [2.868, 45.110]}
    ring = [[2.8, 45.1], [2.9, 45.1], [2.9, 45.2], [2.8, 45.1]]
    assert check_file("ok.geojson", fc(point, {"type": "Polygon", "coordinates": [ring]})).findings == []
    bad = check_file("bad.geojson", fc(point, {"type": "Polygon", "coordinates": [ring[:3]]},
                                       {"type": "Point", "coordinates": [45.110, 2.868]}, {"type": "Circle"}))
    assert found(bad) == [("geojson-invalid", "error", "features[1]"), ("geojson-invalid", "error", "features[3]"),
                          ("coordinates-swapped", "error", "features[2]")]
    assert "inversées" in bad.findings[-1].message
    metres = json.dumps({"type": "FeatureCollection", "crs": {"type": "name", "properties": {
        "name": "urn:ogc:def:crs:EPSG::2154"}}, "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [660000, 6445000]}}]})
    assert found(check_file("l93.geojson", metres.encode())) == [
        ("projection-unexpected", "error", "crs"), ("projection-unexpected", "error", "features[0]")]
    assert found(check_file("x.json", b"{not json")) == [("json-invalid", "error", None)]
    plain = check_file("x.json", b'{"name": "x"}')  # any .json is not GeoJSON: said as not checked
    assert found(plain) == [("unsupported-format", "error", None)] and plain.verdict == "unsupported"


def test_too_large_file_is_not_opened() -> None:
    report = check_file("gros.csv", b"a,b\n" * 100, Limits(max_bytes=100))
    assert found(report) == [("too-large", "error", None)]


def test_time_limit_stops_a_check() -> None:
    report = check_file("budget.csv", b"a,b\n1,2\n", Limits(seconds=-1))
    assert found(report) == [("timeout", "error", None)]


def test_unsupported_file_is_said_unsupported() -> None:
    report = check_file("photo.jpg", b"\xff\xd8\xff")
    assert report.kind == "unsupported" and report.codes() == ["unsupported-format"]
    assert report.verdict == "unsupported" and "n'est pas vérifié" in report.findings[0].message


def test_members_of_a_big_archive_are_checked_up_to_a_limit_in_one_time_budget() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for i in range(25):
            z.writestr(f"{i:02d}.csv", "code,date\n6063,15/03/2024\n")
    report = check_file("envoi.zip", buf.getvalue())
    assert report.codes() == ["partial-check"] + ["date-format"] * 20
    assert report.findings[-1].element == "19.csv"
    late = check_file("envoi.zip", buf.getvalue(), Limits(seconds=-1))
    assert late.codes() == ["partial-check", "timeout"]


def _rezip(data: bytes, change: dict[str, bytes | None]) -> bytes:
    """The archive with members replaced, added (bytes) or removed (None)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(buf, "w") as out:
        for name in src.namelist():
            if name not in change:
                out.writestr(name, src.read(name))
        for name, content in change.items():
            if content is not None:
                out.writestr(name, content)
    return buf.getvalue()


def test_cpg_absence_matters_only_for_undeclared_utf8_text() -> None:
    import shapefile

    utf8 = shapefile_zip(cpg=False)  # « Équipement » in UTF-8, no .cpg, no code page in the .dbf: misread
    assert ("shapefile-sidecar-missing", "warning", LAYER) in found(check_file("e.zip", utf8))
    shp_b, shx_b, dbf_b = io.BytesIO(), io.BytesIO(), io.BytesIO()
    writer = shapefile.Writer(shp=shp_b, shx=shx_b, dbf=dbf_b, shapeType=shapefile.POINT, encoding="cp1252")
    writer.field("NOM", "C", 60)
    writer.point(660_000.0, 6_445_000.0)
    writer.record("Équipement")
    writer.close()
    latin = _rezip(utf8, {"equipements/equipements.dbf": dbf_b.getvalue()})  # windows-1252: the default reading
    assert "shapefile-sidecar-missing" not in check_file("e.zip", latin).codes()
    declared = bytearray(dbf_b.getvalue())
    declared[29] = 0x57  # dBASE language driver: ANSI (windows-1252)
    assert check_file("e.zip", _rezip(utf8, {"equipements/equipements.dbf": bytes(declared)})).findings == []


def test_unnamed_conic_with_lambert93_parameters_is_lambert93() -> None:
    prj = ('PROJCS["Lambert_Conformal_Conic",GEOGCS["GCS_GRS 1980(IUGG, 1980)",DATUM["D_unknown",SPHEROID["GRS80",'
           '6378137,298.257222101]],PRIMEM["Greenwich",0],UNIT["Degree",0.017453292519943295]],PROJECTION['
           '"Lambert_Conformal_Conic"],PARAMETER["standard_parallel_1",44],PARAMETER["standard_parallel_2",'
           '49.00000000001],PARAMETER["latitude_of_origin",46.5],PARAMETER["central_meridian",3],PARAMETER['
           '"false_easting",700000],PARAMETER["false_northing",6600000],UNIT["Meter",1]]')
    report = check_file("e.zip", shapefile_zip(prj=prj))
    assert report.findings == [] and report.details["projections"] == {LAYER: "lambert93"}
    other = prj.replace('"central_meridian",3', '"central_meridian",5')
    assert "projection-unexpected" in check_file("e.zip", shapefile_zip(prj=other)).codes()


def test_xml_record_beside_a_layer_is_checked_as_a_member() -> None:
    data = _rezip(shapefile_zip(), {"equipements/equipements.xml": b"<metadata><Esri/></metadata>"})
    report = check_file("e.zip", data)
    assert [(f.code, f.element) for f in report.findings] == [("metadata-not-iso19139", "equipements/equipements.xml")]
