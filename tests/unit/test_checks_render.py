"""Reports as text and JSON: the staff note, the requester's summary with FAQ links, `helpdesk check`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpdesk.checks import check_file
from helpdesk.checks.render import FAQ_BY_CODE, full_text, summary_text
from helpdesk.cli import main
from tests.support.checks_samples import DATA, sample

ENTRIES = Path(__file__).resolve().parents[2] / "knowledge_base" / "entries"
PACKAGE = Path(__file__).resolve().parents[2] / "helpdesk" / "checks"


def test_every_faq_link_points_to_a_bundled_entry() -> None:
    missing = [entry for entry in FAQ_BY_CODE.values() if not (ENTRIES / f"{entry}.md").is_file()]
    assert missing == []


def test_summary_counts_points_and_links_only_known_faq_entries() -> None:
    report = check_file("budget.csv", sample("budget-faulty.csv"))
    text = summary_text(report, ticket_ref="[#1000]", public_url="https://assistance.craig.fr/",
                        known_faq={"csv-dates-format-iso-8601", "trouver-siret-collectivite"})
    assert "7 points à corriger :" in text and "[#1000]" in text
    assert "https://assistance.craig.fr/faq/csv-dates-format-iso-8601" in text
    assert "https://assistance.craig.fr/faq/trouver-siret-collectivite" in text
    assert "validata-erreurs-frequentes" not in text  # not published here: no dead link
    assert "Séparateur point-virgule" not in text  # remarks are for staff only
    lines = [line for line in text.splitlines() if line.startswith("- ")]
    assert len(lines) == 7 and "autre(s) point(s)" not in text  # at most 8 points in the summary
    assert lines[0].startswith("- Colonne BGT_SIRET : SIRET non valide")  # errors first
    assert "- Colonne DATE_VOTE : dates au format JJ/MM/AAAA" in text
    with_validata = summary_text(report, ticket_ref="[#1000]", public_url="http://x",
                                 known_faq={"validata-erreurs-frequentes"})
    assert with_validata.count("/faq/validata-erreurs-frequentes") == 1  # one link per entry, not per point


def test_summary_for_a_clean_file() -> None:
    report = check_file("budget.csv", sample("budget-ok.csv"))
    text = summary_text(report, ticket_ref="[#7]", public_url="http://x", known_faq=set())
    assert "aucun point à corriger n'a été détecté" in text


def test_full_text_lists_every_finding_in_plain_french_without_codes() -> None:
    report = check_file("budget.csv", sample("budget-faulty.csv"))
    text = full_text([report])
    assert text.startswith("Vérification automatique de « budget.csv » (tableau, schéma SCDL Budget 0.8.3")
    assert "7 points à corriger, 3 remarques." in text.splitlines()[0]
    assert text.count("\n- ") == len(report.findings) == 10
    assert "- [à améliorer] ligne 2, colonne DATE_VOTE — Dates au format JJ/MM/AAAA" in text  # not a schema field
    assert not any(f"({code})" in text for code in report.codes())  # codes are for the JSON only


def test_unsupported_and_unreadable_files_never_read_as_fine() -> None:
    pdf = check_file("deliberation.pdf", b"%PDF-1.4")
    assert "aucun point" not in full_text([pdf]) and "format non vérifié" in full_text([pdf])
    summary = summary_text(pdf, ticket_ref="[#12]", public_url="https://x.fr", known_faq=set())
    assert "n'a pas été vérifié" in summary and "aucun point" not in summary


def test_cli_check_json_one_object_per_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(DATA / "budget-ok.csv"), "--json"]) == 0
    capsys.readouterr()
    code = main(["check", str(DATA / "budget-ok.csv"), str(DATA / "metadata-incomplete.xml"), "--json"])
    assert code == 1  # a file with errors
    out = json.loads(capsys.readouterr().out)
    assert [o["file"] for o in out] == ["budget-ok.csv", "metadata-incomplete.xml"]
    assert out[0]["findings"] == []
    first = out[1]["findings"][0]
    assert set(first) == {"code", "severity", "message", "row", "column", "element"}
    assert [o["verdict"] for o in out] == ["ok", "errors"]
    assert (first["code"], first["severity"], first["element"]) == ("inspire-element-missing", "error",
                                                                     "gmd:abstract")


def test_cli_check_text_and_unreadable_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["check", str(DATA / "subventions-windows-1252.csv")]) == 1
    assert "encodage : windows-1252" in capsys.readouterr().out
    assert main(["check", str(tmp_path / "absent.csv")]) == 2
    assert "impossible de lire" in capsys.readouterr().err
    (tmp_path / "plan.pdf").write_bytes(b"%PDF-1.4")
    assert main(["check", str(tmp_path / "plan.pdf")]) == 2


def test_checks_package_stays_free_of_storage_and_app() -> None:
    import ast

    forbidden = ("helpdesk.db", "helpdesk.app", "helpdesk.web", "sqlalchemy", "sqlmodel", "channels")
    bad = []
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            bad += [f"{path.name}: {n}" for n in names if n.startswith(forbidden)]
    assert bad == []
