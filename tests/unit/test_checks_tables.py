"""Table checks: CSV (encoding, separator, header, columns, types, identifiers), XLSX, ODS, SCDL schemas."""

from __future__ import annotations

import pytest

from helpdesk.checks import Report, check_file
from helpdesk.checks.identifiers import insee_problem, luhn_ok, siren_problem, siret_problem
from tests.support.checks_samples import ods, sample, subventions_xlsx


def found(report: Report) -> list[tuple[str, int | None, str | None]]:
    return [(f.code, f.row, f.column) for f in report.findings]


def test_good_budget_csv_has_no_finding_and_matches_the_scdl_budget_schema() -> None:
    report = check_file("budget-ok.csv", sample("budget-ok.csv"))
    assert report.kind == "table"
    assert report.findings == []
    assert report.details["schema"] == "SCDL Budget 0.8.3"
    assert report.details["encoding"] == "UTF-8" and report.details["separator"] == "virgule"
    assert report.details["rows"] == 4


def test_faulty_budget_csv_reports_every_problem_where_it_is() -> None:
    report = check_file("budget-faulty.csv", sample("budget-faulty.csv"))
    assert found(report) == [
        ("separator", None, None),
        ("siret-invalid", 3, "BGT_SIRET"),
        ("whitespace", 3, "BGT_NOM"),
        ("decimal-comma", 2, "BGT_MTPREV"),
        ("mixed-types", 4, "BGT_MTPREV"),
        ("date-format", 2, "DATE_VOTE"),
        ("empty-column", 1, "Commentaire"),
        ("schema-field-missing", None, "BGT_CONTNAT_LABEL"),
        ("constraint-error", 3, "BGT_NATDEC"),
        ("constraint-error", 3, "BGT_OPBUDG"),
    ]
    by_code = {f.code: f for f in report.findings}
    assert by_code["separator"].severity.value == "info"
    assert "13 chiffres" in by_code["siret-invalid"].message
    assert "« 15/03/2024 »" in by_code["date-format"].message
    assert "« NC »" in by_code["mixed-types"].message
    assert "« réel », « ordre »" in report.findings[-1].message
    assert len(report.to_fix) == 7


def test_windows_1252_file_is_detected_with_the_first_line_that_is_not_utf8() -> None:
    report = check_file("subventions.csv", sample("subventions-windows-1252.csv"))
    # The official 2.1.1 schema wants idBeneficiaire or rnaBeneficiaire on every row (one-of-required).
    assert found(report) == [("encoding", 2, None), ("custom-check-error", 2, "idBeneficiaire, rnaBeneficiaire")]
    assert "windows-1252" in report.findings[0].message and "Château" not in report.findings[0].message
    assert report.details["schema"] == "SCDL Subventions 2.1.1"


def test_utf8_with_bom_is_accepted_without_a_finding() -> None:
    report = check_file("a.csv", "\ufeffnom,valeur\nÉcole,1\n".encode())
    assert found(report) == []
    assert report.details["encoding"] == "UTF-8 avec BOM"


def test_xlsx_with_merged_title_second_sheet_text_dates_and_lost_zero() -> None:
    report = check_file("subventions.xlsx", subventions_xlsx())
    assert [(f.code, f.row, f.column, f.element) for f in report.findings] == [
        ("multiple-sheets", None, None, None),
        ("merged-header", 1, None, None),
        ("decimal-comma", 5, "montant", None),
        ("date-format", 4, "dateConvention", None),
        ("insee-invalid", 5, "code_insee", None),
    ]
    assert "A1:E1" in report.findings[1].message and "5 cellules fusionnées" in report.findings[1].message
    assert report.details["columns"] == ["nomBeneficiaire", "idBeneficiaire", "montant", "dateConvention",
                                         "code_insee"]


def test_ods_is_read_with_repeated_empty_rows_capped() -> None:
    data = ods([["commune", "code_insee", "population"], ["Murat", "15138", 1850.0], ["Allanche", "15001", "NC"],
                ["Marcenat", "15114", 498.0], ["Ségur", "1518", 210.0], ["Riom", "15162", 640.0]])
    report = check_file("communes.ods", data)
    assert found(report) == [("insee-invalid", 5, "code_insee"), ("mixed-types", 3, "population")]


def test_ods_merged_title_row() -> None:
    data = ods([["commune", "code_insee"], ["Murat", "15138"], ["Allanche", "15001"]], title="Communes du Cantal")
    report = check_file("communes.ods", data)
    assert [(f.code, f.row, f.element) for f in report.findings] == [("merged-header", 1, None)]
    assert "A1:B1" in report.findings[0].message
    assert report.details["columns"] == ["commune", "code_insee"]


def test_title_line_above_the_header_in_a_csv() -> None:
    data = "Budget 2024 de la commune;;;\nnature;libellé;montant;date\n6063;Fournitures;12.5;2024-01-02\n"
    report = check_file("b.csv", data.encode())
    assert found(report) == [("separator", None, None), ("merged-header", 1, None)]
    assert report.details["columns"] == ["nature", "libellé", "montant", "date"]


def test_header_missing_duplicate_and_unnamed_columns() -> None:
    no_header = check_file("a.csv", b"6063,12.5,2024-01-02\n6064,13.5,2024-01-03\n")
    assert found(no_header) == [("header-missing", 1, None)]
    dup = check_file("b.csv", "code,Montant,montant, libellé,\n1,2,3,a,x\n4,5,6,b,y\n".encode())
    assert found(dup) == [("duplicate-column", 1, "montant"), ("whitespace", 1, "libellé"),
                          ("header-missing", 1, "colonne 5")]


def test_unquoted_separator_in_a_value_shifts_the_row() -> None:
    data = b"code,montant\n6063,12.5\n6064,1250,50\n6065,3\n"
    report = check_file("a.csv", data)
    assert found(report) == [("row-length", 3, None)]


def test_single_column_file_has_no_known_separator() -> None:
    report = check_file("a.csv", b"nom\nMurat\nAllanche\n")
    assert found(report) == [("separator", None, None)]
    assert report.findings[0].severity.value == "error"


def test_coordinates_outside_france_with_the_likely_cause() -> None:
    data = b"nom,latitude,longitude\nMairie,45.110,2.868\nEcole,2.870,45.112\nStade,6600000,700000\n"
    report = check_file("equipements.csv", data)
    assert found(report) == [("coordinates-swapped", 3, "latitude, longitude"),
                             ("coordinates-outside-france", 4, "latitude, longitude")]
    assert "inversées" in report.findings[0].message and "Lambert-93" in report.findings[1].message


def test_x_y_columns_in_lambert93_or_degrees() -> None:
    data = b"nom;X;Y\nMairie;660123.5;6445012.2\nEcole;2.868;45.110\nStade;6445012;660123\n"
    report = check_file("equipements.csv", data)
    assert [(f.code, f.row, f.column) for f in report.findings if f.code != "separator"] == [
        ("coordinates-outside-france", 4, "Y, X")]


def test_siren_siret_and_insee_rules() -> None:
    assert luhn_ok("21150138200017") and not luhn_ok("21150138200016")
    assert siret_problem("21150138200017") is None
    assert siret_problem("35600000000048") is None  # La Poste's head office: Luhn
    assert siret_problem("35600000012346") is None  # other La Poste establishments: digit sum divisible by 5
    assert siret_problem("35600000012347") is not None
    assert siret_problem("2115 0138 2000 17") == "contient des espaces"
    assert siret_problem("2,11501E+13") is not None and "scientifique" in str(siret_problem("2.11501E+13"))
    assert siren_problem("211501382") is None and siren_problem("211501383") is not None
    assert insee_problem("2A004") is None and insee_problem("01053") is None
    assert insee_problem("1053") is not None and "zéro" in str(insee_problem("1053"))
    assert insee_problem("Murat") is not None


@pytest.mark.parametrize("data", [b"", b"\n\n"])
def test_empty_table(data: bytes) -> None:
    report = check_file("vide.csv", data)
    assert "header-missing" in report.codes()


def test_date_format_is_advice_without_a_schema_and_an_error_in_a_schema_date_field() -> None:
    plain = check_file("sorties.csv", b"lieu,date\nMurat,15/03/2024\nAllanche,16/03/2024\n")
    assert [(f.code, f.severity.value) for f in plain.findings] == [("date-format", "warning")]
    assert plain.verdict == "warnings"
    header = ("nomAttribuant,idAttribuant,dateConvention,nomBeneficiaire,idBeneficiaire,objet,montant,nature,"
              "conditionsVersement")
    row = "Murat,21150138200017,12/02/2024,Asso,21150138200017,Fête,2500,aide en numéraire,unique"
    scdl = check_file("subventions.csv", f"{header}\n{row}\n".encode())
    dates = [f for f in scdl.findings if f.code == "date-format"]
    assert [(f.column, f.severity.value) for f in dates] == [("dateConvention", "error")]


def test_windows_1252_alone_is_advice_but_mixed_encodings_are_an_error() -> None:
    cp1252 = "commune,libellé\nMurat,Fête du village\n".encode("cp1252")
    report = check_file("fetes.csv", cp1252)
    assert [(f.code, f.severity.value) for f in report.findings] == [("encoding", "warning")]
    mixed = "commune,libellé\nMurat,Fête\n".encode() + "Allanche,Fête\n".encode("cp1252")
    assert [(f.code, f.severity.value) for f in check_file("fetes.csv", mixed).findings][0] == \
        ("encoding-mixed", "error")
