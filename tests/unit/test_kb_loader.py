"""Loading FAQ entries: one Markdown file each, every problem reported with its file."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge_base import Entry, KbError, KbLoadError, KnowledgeBase, check, load_entries
from knowledge_base.loader import parse_entry

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
