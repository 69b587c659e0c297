"""The on-disk FAQ index cache (`knowledge_base.index_cache`): reused while nothing changed, rebuilt when an
entry changes or the file is damaged, never an error because of the cache."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from knowledge_base import KnowledgeBase, index_cache
from tests.unit.test_kb_cli import run
from tests.unit.test_kb_search import write_kb

QUERY = "Les accents de mon CSV deviennent des caractères bizarres, que faire ?"


def ids(kb: KnowledgeBase, query: str = QUERY) -> list[tuple[str, float]]:
    return [(s.id, s.score) for s in kb.search(query, purpose="staff")]


def cache_files(cache: Path) -> list[Path]:
    return sorted(cache.glob(f"{index_cache.PREFIX}*{index_cache.SUFFIX}"))


@pytest.fixture
def entries(tmp_path: Path) -> Path:
    return write_kb(tmp_path / "entries")


def forbid_building(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*_: object, **__: object) -> KnowledgeBase:
        raise AssertionError("the index was built although a valid cache file exists")

    monkeypatch.setattr(KnowledgeBase, "load", fail)


def test_second_load_reads_the_cache_and_ranks_the_same(entries: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    built = index_cache.load(entries, cache)
    assert len(cache_files(cache)) == 1
    forbid_building(monkeypatch)
    again = index_cache.load(entries, cache)
    assert ids(again) == ids(built)
    assert ids(again) and ids(again)[0][0] == "csv-encodage-utf8"
    assert [e.id for e in again.entries] == [e.id for e in built.entries]


def test_an_edited_entry_gets_a_new_index(entries: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    index_cache.load(entries, cache)
    target = entries / "csv-encodage-utf8.md"
    target.write_text(target.read_text(encoding="utf-8").replace(
        "Validata signale un problème d'encodage sur mon fichier", "Que faire de la zorglubine ?"), encoding="utf-8")
    kb = index_cache.load(entries, cache)
    assert kb.search("zorglubine", purpose="staff")[0].id == "csv-encodage-utf8"
    assert len(cache_files(cache)) == 2


@pytest.mark.parametrize("damage", [b"", b"not a pickle at all", pickle.dumps(("wrong key", "not a kb"))])
def test_a_damaged_cache_file_is_rebuilt(entries: Path, tmp_path: Path, damage: bytes) -> None:
    cache = tmp_path / "cache"
    expected = ids(index_cache.load(entries, cache))
    (path,) = cache_files(cache)
    path.write_bytes(damage)
    assert ids(index_cache.load(entries, cache)) == expected
    assert path.read_bytes() != damage  # rewritten whole
    assert ids(index_cache.load(entries, cache)) == expected


def test_an_unusable_cache_directory_only_costs_a_rebuild(entries: Path, tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x", encoding="utf-8")
    assert ids(index_cache.load(entries, not_a_dir)) == ids(KnowledgeBase.load(entries))


def test_few_cache_files_are_kept(entries: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    target = entries / "csv-encodage-utf8.md"
    original = target.read_text(encoding="utf-8")
    for i in range(index_cache.KEEP + 2):
        target.write_text(original + f"\nVersion {i}.\n", encoding="utf-8")
        index_cache.load(entries, cache)
    assert len(cache_files(cache)) == index_cache.KEEP


def test_a_cached_index_still_learns_wordings(entries: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    index_cache.load(entries, cache)
    kb = index_cache.load(entries, cache)
    done = kb.add_wordings([("csv-encodage-utf8", "Comment traiter la zorglubine ?")])
    assert done.added == 1
    assert kb.search("zorglubine", purpose="staff")[0].id == "csv-encodage-utf8"


def test_cli_search_with_a_cache_dir(entries: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = run("search", "--kb", str(entries), "--cache-dir", str(cache), "--json", "--purpose", "staff", QUERY)
    second = run("search", "--kb", str(entries), "--cache-dir", str(cache), "--json", "--purpose", "staff", QUERY)
    assert first[0] == second[0] == 0
    assert first[1] == second[1] and "csv-encodage-utf8" in first[1]
    assert len(cache_files(cache)) == 1


def test_helpdesk_kb_search_keeps_its_index_in_the_data_directory(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from helpdesk.cli import _with_index_cache

    monkeypatch.setenv("HELPDESK_DATA_DIR", str(tmp_path / "data"))
    assert _with_index_cache(["search", "--json", "q"]) == [
        "search", "--cache-dir", str(tmp_path / "data" / "cache"), "--json", "q"]
    assert _with_index_cache(["search", "--cache-dir", "x", "q"]) == ["search", "--cache-dir", "x", "q"]
    assert _with_index_cache(["check"]) == ["check"]


def test_helpdesk_kb_search_writes_its_cache_in_the_data_directory(entries: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from helpdesk.cli import main as helpdesk_main

    monkeypatch.setenv("HELPDESK_DATA_DIR", str(tmp_path / "data"))
    for _ in range(2):
        assert helpdesk_main(["kb", "search", "--kb", str(entries), "--purpose", "staff", "--json", QUERY]) == 0
        assert "csv-encodage-utf8" in capsys.readouterr().out
    assert len(cache_files(tmp_path / "data" / "cache")) == 1
