"""Loading FAQ entries: one Markdown file each, every problem reported with its file."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from knowledge_base import Entry, KbError, KbLoadError, KnowledgeBase, check, load_entries
from knowledge_base.loader import aliases, parse_entry

BUNDLED = Path(__file__).resolve().parents[2] / "knowledge_base" / "entries"

GOOD = """---
id: csv-utf8
title: Comment enregistrer un CSV en UTF-8 ?
tags: [csv, encodage]
questions:
  - Mon CSV perd ses accents
  - Quel encodage choisir ?
lang: fr
---
Choisissez **CSV UTF-8** dans la liste des types.
"""


def write(directory: Path, name: str, text: str | bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_valid_entry_is_parsed(tmp_path: Path) -> None:
    path = write(tmp_path, "csv-utf8.md", GOOD)
    entries, errors = load_entries(tmp_path)
    assert errors == []
    assert entries == [Entry(id="csv-utf8", title="Comment enregistrer un CSV en UTF-8 ?", tags=("csv", "encodage"),
                             questions=("Mon CSV perd ses accents", "Quel encodage choisir ?"), lang="fr",
                             body="Choisissez **CSV UTF-8** dans la liste des types.", path=path)]
    assert check(tmp_path) == []


def one_error(text: str, name: str = "csv-utf8.md") -> str:
    entry, errors = parse_entry(text, name)
    assert entry is None
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"{name}: ")
    return errors[0]


@pytest.mark.parametrize("field", ["id", "title", "tags", "questions", "lang"])
def test_missing_field(field: str) -> None:
    lines = [line for line in GOOD.splitlines() if not line.startswith(f"{field}:")]
    if field == "questions":
        lines = [line for line in lines if not line.startswith("  - ")]
    assert f"missing field '{field}'" in one_error("\n".join(lines))


@pytest.mark.parametrize(("old", "new", "field"), [
    ("tags: [csv, encodage]", "tags: csv", "tags"),
    ("tags: [csv, encodage]", "tags: [csv, 3]", "tags"),
    ("  - Mon CSV perd ses accents\n  - Quel encodage choisir ?", "  - {a: b}", "questions"),
    ("title: Comment enregistrer un CSV en UTF-8 ?", "title: 42", "title"),
    ("lang: fr", "lang: ''", "lang"),
])
def test_wrong_type(old: str, new: str, field: str) -> None:
    assert f"field '{field}' must be" in one_error(GOOD.replace(old, new))


def test_id_must_match_the_file_name() -> None:
    assert "does not match the file name (expected 'autre-nom')" in one_error(GOOD, "autre-nom.md")


@pytest.mark.parametrize("bad_id", ["CSV-UTF8", "csv_utf8", "csv utf8", "csv--utf8", "-csv", "éte"])
def test_id_must_be_a_slug(bad_id: str) -> None:
    assert "is not a slug" in one_error(GOOD.replace("id: csv-utf8", f"id: {bad_id}"))


def test_yaml_error_names_the_line() -> None:
    broken = GOOD.replace("tags: [csv, encodage]", "tags: [csv, encodage")
    message = one_error(broken)
    assert "YAML error at line" in message
    line = int(message.split("at line ")[1].split(":")[0])
    assert 4 <= line <= 6  # the unclosed list opens on line 4 of the file


def test_empty_body() -> None:
    assert "empty body" in one_error(GOOD.split("---\nChoisissez")[0] + "---\n\n   \n")


def test_no_front_matter() -> None:
    assert "no front matter" in one_error("Juste une réponse sans en-tête.\n")
    assert "no front matter" in one_error("---\nid: csv-utf8\n")


def test_unknown_field() -> None:
    assert "unknown field 'question'" in one_error(GOOD.replace("lang: fr", "lang: fr\nquestion: oups"))


def test_duplicate_id_across_files(tmp_path: Path) -> None:
    write(tmp_path, "csv-utf8.md", GOOD)
    write(tmp_path, "csv-utf8-bis.md", GOOD)
    entries, errors = load_entries(tmp_path)
    assert [e.id for e in entries] == ["csv-utf8"]
    assert any("csv-utf8-bis.md: duplicate id 'csv-utf8' (also in csv-utf8.md)" in e for e in errors)


def test_not_utf8(tmp_path: Path) -> None:
    write(tmp_path, "csv-utf8.md", GOOD.encode("latin-1").replace(b"UTF-8", "é".encode("latin-1")))
    _, errors = load_entries(tmp_path)
    assert errors and errors[0].startswith("csv-utf8.md: not valid UTF-8")


def test_missing_or_empty_directory(tmp_path: Path) -> None:
    assert check(tmp_path / "nope") == [f"{tmp_path / 'nope'}: not a directory"]
    assert check(tmp_path) == [f"{tmp_path}: no entry (*.md) found"]


def test_every_problem_is_listed_once_in_one_error(tmp_path: Path) -> None:
    write(tmp_path, "csv-utf8.md", GOOD)
    write(tmp_path, "sans-titre.md", GOOD.replace("id: csv-utf8", "id: sans-titre").replace(
        "title: Comment enregistrer un CSV en UTF-8 ?\n", ""))
    write(tmp_path, "yaml-casse.md", GOOD.replace("id: csv-utf8", "id: yaml-casse\n  : :"))
    write(tmp_path, "vide.md", "---\nid: vide\ntitle: T\ntags: []\nquestions: []\nlang: fr\n---\n")
    write(tmp_path, "notes.txt", "not an entry")
    with pytest.raises(KbLoadError) as caught:
        KnowledgeBase.load(tmp_path)
    errors = caught.value.errors
    assert len(errors) == 3
    assert {e.split(":")[0] for e in errors} == {"sans-titre.md", "yaml-casse.md", "vide.md"}
    assert "3 problems" in str(caught.value)
    assert isinstance(caught.value, KbError)
    assert check(tmp_path) == errors


def test_bundled_knowledge_base_is_valid() -> None:
    assert check(BUNDLED) == []


# --- provenance fields: sources, reviewed, replaces -------------------------------------------------------

SOURCED = GOOD.replace("lang: fr\n", """lang: fr
sources:
  - https://guides.data.gouv.fr/guides/guide-qualite
  - https://www.legifrance.gouv.fr/codes/article_lc/LEGIARTI000033219003
reviewed: 2026-12-02
""")


def test_provenance_fields_are_read() -> None:
    entry, errors = parse_entry(SOURCED, "csv-utf8.md")
    assert errors == [] and entry is not None
    assert entry.sources == ("https://guides.data.gouv.fr/guides/guide-qualite",
                             "https://www.legifrance.gouv.fr/codes/article_lc/LEGIARTI000033219003")
    assert entry.reviewed == date(2026, 12, 2)
    assert entry.replaces == ()


def test_provenance_fields_are_optional_for_the_loader() -> None:
    entry, errors = parse_entry(GOOD, "csv-utf8.md")
    assert errors == [] and entry is not None
    assert (entry.sources, entry.reviewed, entry.replaces) == ((), None, ())


def test_reviewed_may_be_quoted() -> None:
    entry, _ = parse_entry(SOURCED.replace("reviewed: 2026-12-02", "reviewed: '2026-12-02'"), "csv-utf8.md")
    assert entry is not None and entry.reviewed == date(2026, 12, 2)


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("  - https://guides.data.gouv.fr/guides/guide-qualite", "  - guides.data.gouv.fr/guides/guide-qualite",
     "source 'guides.data.gouv.fr/guides/guide-qualite' is not an http(s) URL"),
    ("  - https://guides.data.gouv.fr/guides/guide-qualite", "  - javascript:alert(1)",
     "source 'javascript:alert(1)' is not an http(s) URL"),
    ("  - https://guides.data.gouv.fr/guides/guide-qualite", "  - https://www.legifrance.gouv.fr/codes/"
     "article_lc/LEGIARTI000033219003", "is listed twice"),
    ("sources:\n  - https://guides.data.gouv.fr/guides/guide-qualite\n  - https://www.legifrance.gouv.fr/codes/"
     "article_lc/LEGIARTI000033219003", "sources: https://cada.fr", "field 'sources' must be a list of URLs"),
    ("reviewed: 2026-12-02", "reviewed: 02/12/2026", "field 'reviewed' must be a date written YYYY-MM-DD"),
    ("reviewed: 2026-12-02", "reviewed: 2026-13-02", "impossible value in the front matter (month must be in"),
    ("reviewed: 2026-12-02", "reviewed: '2026-02-30'", "field 'reviewed' must be a date written YYYY-MM-DD"),
    ("reviewed: 2026-12-02", "replaces: csv-ancien", "field 'replaces' must be a list of entry ids"),
    ("reviewed: 2026-12-02", "replaces: [Csv_Ancien]", "replaced id 'Csv_Ancien' is not a slug"),
    ("reviewed: 2026-12-02", "replaces: [csv-utf8]", "an entry cannot replace itself"),
])
def test_bad_provenance_fields(old: str, new: str, expected: str) -> None:
    assert old in SOURCED
    assert expected in one_error(SOURCED.replace(old, new))


def test_replaced_ids_resolve_to_the_entry_that_absorbed_them(tmp_path: Path) -> None:
    write(tmp_path, "csv-utf8.md", SOURCED.replace("lang: fr", "lang: fr\nreplaces: [csv-encodage, csv-accents]"))
    write(tmp_path, "csv-separateur.md", SOURCED.replace("id: csv-utf8", "id: csv-separateur"))
    entries, errors = load_entries(tmp_path)
    assert errors == []
    assert aliases(entries) == {"csv-encodage": "csv-utf8", "csv-accents": "csv-utf8"}


def test_a_replaced_id_must_be_gone_and_claimed_once(tmp_path: Path) -> None:
    write(tmp_path, "csv-utf8.md", SOURCED.replace("lang: fr", "lang: fr\nreplaces: [csv-separateur, csv-vieux]"))
    write(tmp_path, "csv-separateur.md", SOURCED.replace("id: csv-utf8", "id: csv-separateur"))
    write(tmp_path, "csv-autre.md", SOURCED.replace("id: csv-utf8", "id: csv-autre").replace(
        "lang: fr", "lang: fr\nreplaces: [csv-vieux]"))
    _, errors = load_entries(tmp_path)
    assert errors == [
        "csv-utf8.md: replaces 'csv-separateur', but entry 'csv-separateur' still exists (remove csv-separateur.md)",
        "csv-utf8.md: replaces 'csv-vieux', already replaced by 'csv-autre'",
    ]
