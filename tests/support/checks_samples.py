"""Sample files for the file checks: text ones live in tests/data/checks, binary ones are built here."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data" / "checks"
LAMBERT93_PRJ = (
    'PROJCS["RGF93_Lambert_93",GEOGCS["GCS_RGF_1993",DATUM["D_RGF_1993",SPHEROID["GRS_1980",6378137.0,'
    '298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Lambert_Conformal_Conic"],'
    'PARAMETER["False_Easting",700000.0],PARAMETER["False_Northing",6600000.0],PARAMETER["Central_Meridian",3.0],'
    'PARAMETER["Standard_Parallel_1",44.0],PARAMETER["Standard_Parallel_2",49.0],PARAMETER["Latitude_Of_Origin",46.5],'
    'UNIT["Meter",1.0]]'
)
PSEUDO_MERCATOR_PRJ = ('PROJCS["WGS_84_Pseudo_Mercator",GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",'
                       'SPHEROID["WGS_1984",6378137.0,298.257223563]]],PROJECTION["Mercator_Auxiliary_Sphere"]]')


def sample(name: str) -> bytes:
    return (DATA / name).read_bytes()


def shapefile_zip(*, prj: str | None = LAMBERT93_PRJ, cpg: bool = True, shx: bool = True,
                  points: tuple[tuple[float, float], ...] = ((660_000.0, 6_445_000.0), (661_200.0, 6_446_300.0))
                  ) -> bytes:
    """A zipped point layer (public facilities of a commune), Lambert-93 coordinates by default."""
    import shapefile

    shp_b, shx_b, dbf_b = io.BytesIO(), io.BytesIO(), io.BytesIO()
    writer = shapefile.Writer(shp=shp_b, shx=shx_b, dbf=dbf_b, shapeType=shapefile.POINT, encoding="utf-8")
    writer.field("NOM", "C", 60)
    for i, (x, y) in enumerate(points):
        writer.point(x, y)
        writer.record(f"Équipement {i + 1}")
    writer.close()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("equipements/equipements.shp", shp_b.getvalue())
        if shx:
            z.writestr("equipements/equipements.shx", shx_b.getvalue())
        z.writestr("equipements/equipements.dbf", dbf_b.getvalue())
        if prj is not None:
            z.writestr("equipements/equipements.prj", prj)
        if cpg:
            z.writestr("equipements/equipements.cpg", "UTF-8")
    return buf.getvalue()


def zip_bomb(size: int = 50 * 1024 * 1024) -> bytes:
    """One highly compressible member: 50 MB of zeros in about 50 kB."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("budget.csv", b"0" * size)
    return buf.getvalue()


def subventions_xlsx() -> bytes:
    """A workbook as agents send it: a merged title row, real and text dates, a second sheet."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Subventions 2024"
    ws.append(["Subventions versées en 2024 — Commune de Murat"])
    ws.merge_cells("A1:E1")
    ws.append(["nomBeneficiaire", "idBeneficiaire", "montant", "dateConvention", "code_insee"])
    ws.append(["Comité des fêtes", 21150138200017, 4000, dt.datetime(2024, 2, 12), "15138"])
    ws.append(["Amis du château", 21150138200017, 2500.5, "12/02/2024", 15138])
    ws.append(["Club de football", 21150138200017, "1 200,00", dt.datetime(2024, 2, 12), "5138"])
    wb.create_sheet("Notes").append(["Source : délibération du 12 février 2024"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def ods(rows: list[list[str | float]], title: str | None = None) -> bytes:
    """A minimal OpenDocument spreadsheet (what LibreOffice writes, without styles); ``title`` is put in a
    first row merged across the table's width."""
    cells = []
    if title is not None:
        width = len(rows[0])
        cells.append(f'<table:table-row><table:table-cell table:number-columns-spanned="{width}" '
                     f'office:value-type="string"><text:p>{title}</text:p></table:table-cell>'
                     f'<table:covered-table-cell table:number-columns-repeated="{width - 1}"/></table:table-row>')
    for row in rows:
        xml = []
        for v in row:
            if isinstance(v, float):
                xml.append(f'<table:table-cell office:value-type="float" office:value="{v}"><text:p>{v}</text:p>'
                           "</table:table-cell>")
            else:
                xml.append(f'<table:table-cell office:value-type="string"><text:p>{v}</text:p></table:table-cell>')
        cells.append("<table:table-row>" + "".join(xml) + "</table:table-row>")
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        '<office:body><office:spreadsheet><table:table table:name="Feuille1">'
        + "".join(cells)
        + '<table:table-row table:number-rows-repeated="1048000"><table:table-cell '
          'table:number-columns-repeated="1024"/></table:table-row>'
        "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", compress_type=zipfile.ZIP_STORED)
        z.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("META-INF/manifest.xml", MANIFEST, compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


MANIFEST = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
            'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
            '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.'
            'spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
            '</manifest:manifest>')
