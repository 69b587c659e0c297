"""One test per rule added for issue 17, on small files made here (the real public files are the corpus)."""

from __future__ import annotations

import io
import json
import threading
import zipfile
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from helpdesk.checks import catalog, check_file
from helpdesk.checks.report import Report
from tests.support.checks_samples import sample

WGS84_PRJ = ('GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],'
             'PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]')


def codes(report: Report) -> list[str]:
    return report.codes()


# --- encodings ---------------------------------------------------------------------------------------------

def test_bom_then_windows_1252_is_an_encoding_mix_with_the_first_bad_line() -> None:
    data = "\ufeffnom,objet\nMurat,Fête\n".encode() + "Allanche,Numéraire\n".encode("cp1252")
    report = check_file("a.csv", data)
    assert [(f.code, f.row) for f in report.findings] == [("encoding-mixed", 3)]
    assert report.verdict == "errors"


def test_windows_1252_is_read_as_such_never_as_a_mac_or_celtic_guess() -> None:
    data = "N° ordre,nature\n1,aide en numéraire\n2,aide en numéraire\n".encode("cp1252")
    report = check_file("a.csv", data)
    assert codes(report) == ["encoding"] and report.details["encoding"] == "windows-1252"
    assert report.details["columns"][0] == "N° ordre"


# --- false alarms ------------------------------------------------------------------------------------------

def test_dotted_identifiers_and_free_text_are_not_dates() -> None:
    data = b"ref,objet\n17.1.43,voir deliberation du 12/03/2020\n17.1.44,convention\n17.2.1,achat\n"
    assert check_file("a.csv", data).findings == []


def test_optional_empty_columns_of_a_known_schema_are_not_reported() -> None:
    header = "id_local,nom_lieu,ad_lieu,com_lieu,insee,type,date_maj,ouvert,source,Xlong,Ylat,nbre_pl,nbre_pmr,duree," \
             "horaires,proprio,lumiere,comm"
    row = "A1,Aire de Murat,,,15138,Aire de covoiturage,2024-01-10,true,,2.868,45.110,20,,,,,,"
    report = check_file("covoiturage.csv", f"{header}\n{row}\n".encode())
    assert "empty-column" not in codes(report), report.findings
    assert report.details["schema"] == "schéma Lieux de covoiturage 0.3.1"


# --- misses ------------------------------------------------------------------------------------------------

def test_postcodes_in_an_insee_column_are_not_communes() -> None:
    report = check_file("a.csv", b"nom,code_insee\nParis,75001\nRouen,76000\nMurat,15138\n")
    assert codes(report) == ["insee-unknown"]
    assert "75001" in report.findings[0].message and "2 valeurs" in report.findings[0].message


def test_swapped_longitude_latitude_in_xlong_ylat() -> None:
    report = check_file("a.csv", b"nom,Xlong,Ylat\nAire,45.11,2.868\nAutre,2.87,45.1\n")
    assert [(f.code, f.row) for f in report.findings] == [("coordinates-swapped", 2)]


def _deliberations(rows: list[str]) -> bytes:
    header = ("COLL_NOM,COLL_SIRET,DELIB_ID,DELIB_DATE,DELIB_MATIERE_CODE,DELIB_MATIERE_NOM,DELIB_OBJET,PREF_DATE,"
              "VOTE_EFFECTIF,VOTE_REEL,VOTE_POUR,VOTE_CONTRE,VOTE_ABSTENTION")
    return "\n".join([header, *rows, ""]).encode()


def test_deliberations_custom_checks_sums_dates_and_actes() -> None:
    good = "Murat,21150138200017,D1,2024-03-01,7.5,Finances locales/Subventions,Objet,2024-03-05,15,12,10,1,1"
    bad = ("Murat,21150138200017,D2,2024-03-01,7.5,Finance/Subventions,Objet,2024-02-20,15,12,10,1,0\n"
           "Murat,21150138200017,D3,2024-03-01,7.5,Urbanisme/PLU,Objet,,15,12,9,2,1")
    report = check_file("deliberations.csv", _deliberations([good, *bad.split("\n")]))
    found = [(f.code, f.row, f.column) for f in report.findings]
    assert ("custom-check-error", 3, "VOTE_REEL, VOTE_POUR, VOTE_CONTRE, VOTE_ABSTENTION") in found  # 10+1+0 != 12
    assert ("custom-check-error", 3, "PREF_DATE, DELIB_DATE") in found
    assert ("custom-check-error", 3, "DELIB_MATIERE_NOM") in found
    assert len([f for f in found if f[0] == "custom-check-error"]) == 3
    assert check_file("ok.csv", _deliberations([good])).findings == []


SUBV = ("nomAttribuant,idAttribuant,dateConvention,nomBeneficiaire,idBeneficiaire,rnaBeneficiaire,objet,montant,"
        "nature,conditionsVersement,datesPeriodeVersement,idRAE,notificationUE,pourcentageSubvention")


def test_subventions_2_1_1_rules_rna_rae_percentage_and_one_of_required() -> None:
    rows = ["Murat,21150138200017,2024-02-12,Asso,,W151000123,Fête,2500,aide en numéraire,unique,2024-03-01,,non,1",
            "Murat,21150138200017,2024-02-12,Asso,,X1,Fête,2500,aide en numéraire,unique,2024-03-01,123456,false,0",
            "Murat,21150138200017,2024-02-12,Asso,,,Fête,2500,aide en numéraire,unique,2024-03-01,,non,1"]
    report = check_file("subventions.csv", "\n".join([SUBV, *rows, ""]).encode())
    found = {(f.code, f.column) for f in report.findings}
    assert ("constraint-error", "rnaBeneficiaire") in found and ("constraint-error", "idRAE") in found
    assert ("constraint-error", "pourcentageSubvention") in found
    assert ("custom-check-error", "idBeneficiaire, rnaBeneficiaire") in found
    assert report.details["schema"] == "SCDL Subventions 2.1.1"
    ue = next(f for f in report.findings if f.column == "notificationUE")  # "false" on row 3: oui/non expected
    assert ue.row == 3 and "« oui » ou « non »" in ue.message and "1 cellule," in ue.message


def test_decimal_comma_in_a_schema_number_field_is_an_error() -> None:
    row = 'Murat,21150138200017,2024-02-12,Asso,,W151000123,Fête,"5500,20",aide en numéraire,unique,2024-03-01,,non,1'
    report = check_file("subventions.csv", f"{SUBV}\n{row}\n".encode())
    comma = [f for f in report.findings if f.code == "decimal-comma"]
    assert comma and comma[0].severity.value == "error" and report.verdict == "errors"


def test_bad_url_is_said_to_be_a_bad_url() -> None:
    row = ("Murat,21150138200017,D1,2024-03-01,7.5,Finances locales/Subventions,Objet,,,,,,,www.murat.fr/d1.pdf")
    header = ("COLL_NOM,COLL_SIRET,DELIB_ID,DELIB_DATE,DELIB_MATIERE_CODE,DELIB_MATIERE_NOM,DELIB_OBJET,PREF_DATE,"
              "VOTE_EFFECTIF,VOTE_REEL,VOTE_POUR,VOTE_CONTRE,VOTE_ABSTENTION,DELIB_URL")
    report = check_file("d.csv", f"{header}\n{row}\n".encode())
    url = [f for f in report.findings if f.column == "DELIB_URL"]
    assert url and "adresse web" in url[0].message and "texte" not in url[0].message


def test_human_labels_are_matched_to_the_subventions_schema() -> None:
    header = ("Nom de l'attribuant,Identification de l'attribuant,Date de la convention de subvention,"
              "Nom du bénéficiaire,Identification SIRET du bénéficiaire,Objet de la subvention,"
              "Montant total de la subvention,Nature de la subvention,Conditions de versement de la subvention,"
              "Date ou période de versement,Aide d'Etat notifiée à la Commission Européenne,"
              "Pourcentage du montant total de la subvention attribuée au bénéficiaire")
    row = "Murat,21150138200017,2024-02-12,Asso,21150138200017,Fête,2500,aide en numéraire,unique,2024-03-01,non,1"
    report = check_file("subv.csv", f"{header}\n{row}\n".encode())
    assert report.details["schema"] == "SCDL Subventions 2.1.1"
    labels = [f for f in report.findings if f.code == "schema-field-missing"]
    assert len(labels) == 1 and "nomAttribuant" in labels[0].message


def test_partial_files_give_at_least_counts() -> None:
    from helpdesk.checks import Limits

    body = "".join(f"{i},15/03/2024\n" for i in range(30))
    report = check_file("a.csv", f"n,date\n{body}".encode(), Limits(max_rows=10))
    date_finding = next(f for f in report.findings if f.code == "date-format")
    assert "au moins 9 valeurs (fichier partiel)" in date_finding.message


# --- metadata ----------------------------------------------------------------------------------------------

def _iso(text: str, old: str, new: str) -> bytes:
    return text.replace(old, new, 1).encode()


def test_gmi_mi_metadata_is_read_like_md_metadata() -> None:
    text = sample("metadata-complete.xml").decode()
    mi = text.replace("<gmd:MD_Metadata", '<gmi:MI_Metadata xmlns:gmi="http://www.isotc211.org/2005/gmi"', 1)
    mi = mi.replace("</gmd:MD_Metadata>", "</gmi:MI_Metadata>")
    report = check_file("mi.xml", mi.encode())
    assert report.findings == [] and report.details["standard"].startswith("ISO 19115-2")


def test_iso_19115_3_is_named_and_an_iso_19139_export_asked() -> None:
    xml = (b'<mdb:MD_Metadata xmlns:mdb="http://standards.iso.org/iso/19115/-3/mdb/2.0">'
           b"<mdb:metadataIdentifier/></mdb:MD_Metadata>")
    report = check_file("fiche.xml", xml)
    assert codes(report) == ["metadata-iso19115-3"] and "ISO 19139" in report.findings[0].message


def test_xs_date_with_a_zone_is_valid() -> None:
    text = sample("metadata-complete.xml").decode()
    import re

    zoned = re.sub(r"<gco:Date>(\d{4}-\d{2}-\d{2})</gco:Date>", r"<gco:Date>\1Z</gco:Date>", text)
    assert zoned != text
    assert check_file("z.xml", zoned.encode()).findings == []


def test_an_empty_first_contact_does_not_hide_a_complete_second_one() -> None:
    text = sample("metadata-complete.xml").decode()
    start = text.index("<gmd:contact>")
    end = text.index("</gmd:contact>") + len("</gmd:contact>")
    empty = ("<gmd:contact><gmd:CI_ResponsibleParty><gmd:role><gmd:CI_RoleCode codeList=\"x\" "
             "codeListValue=\"pointOfContact\"/></gmd:role></gmd:CI_ResponsibleParty></gmd:contact>")
    doubled = text[:start] + empty + text[start:end] + text[end:]
    assert check_file("c.xml", doubled.encode()).findings == []
    alone = text[:start] + empty + text[end:]
    assert "inspire-element-invalid" in codes(check_file("c.xml", alone.encode()))


# --- geodata and archives ----------------------------------------------------------------------------------

def _cnig_zip(prj: str, points: tuple[tuple[float, float], ...]) -> bytes:
    import shapefile

    shp_b, shx_b, dbf_b = io.BytesIO(), io.BytesIO(), io.BytesIO()
    w = shapefile.Writer(shp=shp_b, shx=shx_b, dbf=dbf_b, shapeType=shapefile.POINT, encoding="utf-8")
    w.field("LIBELLE", "C", 20)
    for x, y in points:
        w.point(x, y)
        w.record("U")
    w.close()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        base = "15138_PLU_20240101/Donnees_geographiques/15138_ZONE_URBA_20240101"
        for ext, data in ((".shp", shp_b), (".shx", shx_b), (".dbf", dbf_b)):
            z.writestr(base + ext, data.getvalue())
        z.writestr(base + ".prj", prj)
        z.writestr(base + ".cpg", "UTF-8")
        z.writestr("15138_PLU_20240101/Metadonnees/15138_PLU_20240101.xml", sample("metadata-incomplete.xml"))
    return buf.getvalue()


def test_cnig_document_in_wgs84_is_an_error_and_its_metadata_member_is_read() -> None:
    report = check_file("plu.zip", _cnig_zip(WGS84_PRJ, ((2.868, 45.11), (2.87, 45.12))))
    assert ("projection-unexpected", "error") in {(f.code, f.severity.value) for f in report.findings}
    members = {f.element.split(" : ")[0] for f in report.findings if f.code.startswith("inspire")}
    assert members == {"15138_PLU_20240101/Metadonnees/15138_PLU_20240101.xml"}


def test_mapinfo_tab_layer_is_read_with_gdal() -> None:
    raw = pytest.importorskip("pyogrio.raw")
    import tempfile

    import numpy as np
    import shapely

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "equipements.tab"
        geoms = shapely.to_wkb(shapely.points([[2.868, 45.11], [2.87, 45.12]]))
        raw.write(str(path), geometry=np.array(geoms, dtype=object), field_data=[np.array(["a", "b"])],
                  fields=["nom"], geometry_type="Point", crs="EPSG:4326", driver="MapInfo File")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for f in Path(tmp).iterdir():
                z.write(f, f"couche/{f.name}")
    report = check_file("couche.zip", buf.getvalue())
    assert report.kind == "layer" and report.details["features"] == {"couche/equipements.tab": 2}
    assert [f for f in report.findings if f.severity.value == "error"] == []


def test_every_member_of_an_archive_is_checked_and_named() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a/donnees.csv", "nom,code_insee\nParis,75001\n")
        z.writestr("a/fiche.ttl", "@prefix dcat: <http://www.w3.org/ns/dcat#> . <http://x/d> a dcat:Dataset .")
    report = check_file("envoi.zip", buf.getvalue())
    assert {(f.code, f.element.split(" : ")[0]) for f in report.findings} >= {
        ("insee-unknown", "a/donnees.csv"), ("dcat-element-missing", "a/fiche.ttl")}


# --- schema snapshot and its refresh ------------------------------------------------------------------------

def test_snapshot_pins_the_official_subventions_and_the_catalogue_budget() -> None:
    versions = {e.name: e.version for e in catalog.bundled()}
    assert versions["scdl/subventions"] == "2.1.1" and versions["scdl/budget"] == "0.8.3"
    subv = next(e for e in catalog.bundled() if e.name == "scdl/subventions")
    fields = {f["name"]: f for f in subv.fields}
    assert fields["rnaBeneficiaire"]["constraints"]["pattern"] == "^W\\d{9}$"
    assert fields["pourcentageSubvention"]["constraints"]["minimum"] == 0.01


def test_faq_and_bundled_schemas_agree_on_versions() -> None:
    import re

    kb = Path(__file__).resolve().parents[2] / "knowledge_base" / "entries"
    versions = {e.name.split("/")[1]: e.version for e in catalog.bundled()}
    checked = 0
    for schema in ("budget", "deliberations", "subventions"):
        for path in kb.glob(f"{schema}*.md"):
            named = re.findall(r"\b(?:version|v)\s?(\d+\.\d+\.\d+)\b", path.read_text(encoding="utf-8"))
            if named:  # an entry may recall an older version (a changelog); the one it recommends is the newest
                newest = max(named, key=lambda v: tuple(int(x) for x in v.split(".")))
                assert newest == versions[schema], f"{path.name} names {schema} {newest}, snapshot {versions[schema]}"
                checked += 1
    assert checked >= 3  # the FAQ does name them: the comparison is not vacuous


@pytest.fixture
def fake_catalogue(tmp_path: Path) -> Iterator[str]:
    subv = json.loads((catalog.SNAPSHOT_DIR / "scdl.subventions-2.1.1.json").read_text(encoding="utf-8"))
    budget = json.loads((catalog.SNAPSHOT_DIR / "scdl.budget-0.8.3.json").read_text(encoding="utf-8"))
    budget["version"] = "0.9.0"
    pages: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's API
            body = pages.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    base = f"http://127.0.0.1:{server.server_port}"
    pages["/schemas.json"] = json.dumps({"schemas": [
        {"name": "scdl/subventions", "versions": [{"version_name": v, "schema_url": f"{base}/subv/{v}.json"}
                                                  for v in ("2.1.1", "2.2.0")]},
        {"name": "scdl/budget", "versions": [{"version_name": v, "schema_url": f"{base}/budget/{v}.json"}
                                             for v in ("0.8.3", "0.9.0", "0.10.0-rc")]}]}).encode()
    pages["/subv/2.1.1.json"] = json.dumps(subv).encode()
    pages["/budget/0.9.0.json"] = json.dumps(budget).encode()
    pages["/budget/0.10.0-rc.json"] = b"not a schema"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base
    server.shutdown()
    thread.join()


def test_update_schemas_from_a_fake_catalogue(fake_catalogue: str, tmp_path: Path) -> None:
    import shutil
    import urllib.request

    snap = tmp_path / "snap"
    shutil.copytree(catalog.SNAPSHOT_DIR, snap)

    def get(url: str) -> bytes:
        with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - a fake server on 127.0.0.1
            return bytes(resp.read())

    manifest = json.loads((snap / "snapshot.json").read_text(encoding="utf-8"))
    for item in manifest["schemas"]:
        if item["name"] == "scdl/budget":
            item["pin"] = "0.9.0"
    (snap / "snapshot.json").write_text(json.dumps(manifest), encoding="utf-8")
    changes = catalog.update(f"{fake_catalogue}/schemas.json", snap, get, today=date(2026, 12, 2))
    assert "scdl/budget: 0.8.3 -> 0.9.0" in changes  # pinned, not the newest
    assert any(c.startswith("scdl/deliberations: not in the catalogue") for c in changes)
    after = json.loads((snap / "snapshot.json").read_text(encoding="utf-8"))
    by_name = {i["name"]: i for i in after["schemas"]}
    assert by_name["scdl/subventions"]["version"] == "2.1.1"  # pinned to the official 2.1.1
    assert (snap / "scdl.budget-0.9.0.json").is_file() and not (snap / "scdl.budget-0.8.3.json").exists()
    assert after["taken"] == "2026-12-02"


def test_regulation_wording_of_subsidy_columns_is_matched_to_the_schema() -> None:
    header = ["Autorité administrative", "SIRET autorité administrative", "Date convention", "Nom attributaire",
              "N° SIRET attributaire", "Montant décidé", "Nature subvention"]
    from helpdesk.checks.scdl import match_table

    found = match_table(header)
    assert found is not None and found.schema.name == "scdl/subventions"
    assert found.rename == {0: "nomAttribuant", 1: "idAttribuant", 2: "dateConvention", 3: "nomBeneficiaire",
                            4: "idBeneficiaire", 5: "montant", 6: "nature"}
    assert match_table(["SIRET_ORG", "NOM", "Montant octroyé", "date convention", "Nature"]) is None


def test_siret_causes_siren_and_decimal_export() -> None:
    from helpdesk.checks.identifiers import siret_problem

    assert "SIREN" in str(siret_problem("225800010"))
    assert "« .0 »" in str(siret_problem("21860194600000.0"))


def test_text_fields_of_a_schema_may_mix_numbers_and_text() -> None:
    rows = [f"Murat,21150138200017,2024-02-12,{ref},Asso,,W151000123,Fête,2500,aide en numéraire,unique,"
            "2024-03-01,,non,1" for ref in ("1743", "1744", "1745", "1746", "17.1.43")]
    header = ("nomAttribuant,idAttribuant,dateConvention,referenceDecision,nomBeneficiaire,idBeneficiaire,"
              "rnaBeneficiaire,objet,montant,nature,conditionsVersement,datesPeriodeVersement,idRAE,notificationUE,"
              "pourcentageSubvention")
    report = check_file("s.csv", "\n".join([header, *rows, ""]).encode())
    assert report.findings == []


def test_sheet_rows_with_trailing_empty_cells_are_not_short_rows() -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["nom", "montant", "commentaire"])
    ws.append(["Asso A", 100, "ok"])
    ws.append(["Asso B", 200])
    buf = io.BytesIO()
    wb.save(buf)
    report = check_file("a.xlsx", buf.getvalue())
    assert "row-length" not in codes(report)


def test_jsonld_with_a_remote_context_is_read_without_the_network() -> None:
    import socket

    doc = {"@context": ["https://example.invalid/dcat-ap.jsonld", {"title": "dct:title"}],
           "@id": "http://x/d", "@type": "dcat:Dataset", "dct:title": "Budget", "dct:description": "Budget 2024"}
    real = socket.socket.connect
    calls: list[object] = []

    def no_network(self: socket.socket, address: object) -> None:
        calls.append(address)
        raise OSError("no network in a check")

    socket.socket.connect = no_network  # type: ignore[method-assign]
    try:
        report = check_file("fiche.jsonld", json.dumps(doc).encode())
    finally:
        socket.socket.connect = real  # type: ignore[method-assign]
    assert calls == [], calls
    assert report.details.get("datasets") == 1, report.findings
    assert report.verdict == "ok", report.findings  # title and description: DCAT-AP's mandatory dataset properties


def test_departement_and_region_codes_come_from_the_cog() -> None:
    report = check_file("a.csv", b"nom,code_dep,code_region\nCantal,15,84\nAin,1,84\nX,99,99\n")
    messages = " ".join(f.message for f in report.findings)
    assert codes(report) == ["insee-invalid", "insee-invalid", "insee-invalid"]
    assert "01 et non 1" in messages and "« 99 »" in messages


def test_cnig_record_declaring_wgs84_is_asked_for_lambert_93() -> None:
    text = sample("metadata-complete.xml").decode()

    def with_crs(code: str) -> bytes:
        rs = ("<gmd:referenceSystemInfo><gmd:MD_ReferenceSystem><gmd:referenceSystemIdentifier><gmd:RS_Identifier>"
              f"<gmd:code><gco:CharacterString>{code}</gco:CharacterString></gmd:code></gmd:RS_Identifier>"
              "</gmd:referenceSystemIdentifier></gmd:MD_ReferenceSystem></gmd:referenceSystemInfo>")
        return text.replace("<gmd:identificationInfo>", rs + "<gmd:identificationInfo>", 1).encode()

    assert codes(check_file("plu.xml", with_crs("EPSG:4326"))) == ["projection-unexpected"]
    assert check_file("plu.xml", with_crs("EPSG:2154")).findings == []


def test_an_archive_of_unreadable_members_is_unsupported_and_nested_zips_are_not_opened() -> None:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr("a.csv", "nom,date\nx,15/03/2024\n")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("reglement.pdf", b"%PDF-1.4")
        z.writestr("autre.zip", inner.getvalue())
    report = check_file("envoi.zip", buf.getvalue())
    assert report.codes() == ["unsupported-format"] and report.verdict == "unsupported"


def test_gml_layer_with_a_remote_schema_is_read_offline_and_its_crs_named() -> None:
    pytest.importorskip("pyogrio")
    gml = b"""<?xml version="1.0" encoding="UTF-8"?>
<wfs:FeatureCollection xmlns:wfs="http://www.opengis.net/wfs" xmlns:gml="http://www.opengis.net/gml"
 xmlns:app="http://example.invalid/app" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
 xsi:schemaLocation="http://example.invalid/app http://example.invalid/app.xsd">
<gml:featureMember><app:poi><app:nom>Mairie</app:nom><app:geom><gml:Point srsName="EPSG:4326">
<gml:coordinates>2.868,45.11</gml:coordinates></gml:Point></app:geom></app:poi></gml:featureMember>
</wfs:FeatureCollection>"""
    report = check_file("poi.gml", gml)
    assert report.kind == "layer" and report.details["features"] == {"poi.gml": 1}
    assert report.details["projections"] == {"poi.gml": "wgs84"} and report.verdict == "ok"


def test_update_schemas_command(fake_catalogue: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    from helpdesk.cli import main

    snap = tmp_path / "snap"
    shutil.copytree(catalog.SNAPSHOT_DIR, snap)
    assert main(["checks", "update-schemas", "--catalogue", f"{fake_catalogue}/schemas.json", "--dir", str(snap)]) == 0
    out = capsys.readouterr().out
    assert "scdl/budget: 0.8.3 -> 0.9.0" in out  # the newest published version that is a Table Schema
    assert main(["checks", "update-schemas", "--catalogue", "file:///etc/passwd", "--dir", str(snap)]) == 1


def test_a_bad_schema_download_changes_nothing(fake_catalogue: str, tmp_path: Path) -> None:
    import shutil

    snap = tmp_path / "snap"
    shutil.copytree(catalog.SNAPSHOT_DIR, snap)
    before = {p.name: p.read_bytes() for p in snap.iterdir()}
    manifest = json.loads((snap / "snapshot.json").read_text(encoding="utf-8"))
    for item in manifest["schemas"]:
        if item["name"] == "scdl/budget":
            item["pin"] = "0.10.0-rc"  # served as "not a schema" by the fake catalogue
    (snap / "snapshot.json").write_text(json.dumps(manifest), encoding="utf-8")
    before["snapshot.json"] = (snap / "snapshot.json").read_bytes()

    def get(url: str) -> bytes:
        import urllib.request

        with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - a fake server on 127.0.0.1
            return bytes(resp.read())

    with pytest.raises(ValueError, match="not JSON"):
        catalog.update(f"{fake_catalogue}/schemas.json", snap, get, today=date(2026, 12, 2))
    assert {p.name: p.read_bytes() for p in snap.iterdir()} == before


def test_a_huge_rdf_file_is_not_parsed() -> None:
    from helpdesk.checks import dcat

    big = b"@prefix dcat: <http://www.w3.org/ns/dcat#> .\n" + b"# padding\n" * (dcat.MAX_RDF_BYTES // 10 + 1)
    report = check_file("catalogue.ttl", big)
    assert report.codes() == ["too-large"] and report.verdict == "unreadable"


def test_rdf_xml_with_a_single_typed_node_as_root_is_dcat() -> None:
    xml = (b'<dcat:Dataset xmlns:dcat="http://www.w3.org/ns/dcat#" xmlns:dct="http://purl.org/dc/terms/" '
           b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" rdf:about="http://x/d">'
           b"<dct:title>Budget</dct:title><dct:description>Budget 2024</dct:description></dcat:Dataset>")
    report = check_file("d.xml", xml)
    assert report.details["datasets"] == 1 and "metadata-not-iso19139" not in codes(report)


def test_counts_stay_exact_when_frictionless_stops_at_its_error_limit() -> None:
    from helpdesk.checks import scdl

    n = scdl.MAX_ERRORS + 500
    rows = [f"Murat,21150138200017,D{i},2024-03-01,7.5,Finances locales/Subventions,,,,,,," for i in range(n)]
    report = check_file("deliberations.csv", _deliberations(rows))
    missing = next(f for f in report.findings if f.column == "DELIB_OBJET")
    assert f"— {n} cellules" in missing.message and "au moins" not in missing.message


def test_without_csv_detective_the_checks_still_run(monkeypatch: pytest.MonkeyPatch) -> None:
    from helpdesk.checks import tables

    monkeypatch.setattr(tables, "_detective", lambda: None)
    tables._wgs84_labels.cache_clear()
    try:
        report = check_file("a.csv", b"nom,Xlong,Ylat\nAire,45.11,2.868\n")
    finally:
        tables._wgs84_labels.cache_clear()
    assert codes(report) == ["coordinates-swapped"]


def test_generic_columns_do_not_make_a_table_follow_a_schema() -> None:
    from helpdesk.checks.scdl import match_table

    generic = ["id", "nom", "latitude", "longitude", "code_commune_insee", "insee"]
    assert match_table(generic) is None  # not « fontaines à eau » nor « stationnement » for sharing these names
    fontaines = ["id", "type_fontaine", "latitude", "longitude", "code_commune_insee", "conditions_acces",
                 "accessible_pmr", "remplissage_contenant_possible"]
    found = match_table(fontaines)
    assert found is not None and found.schema.name == "datagouv/schema-fontaine-eau"
