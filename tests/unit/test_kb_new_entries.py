"""benchmarks/kb_new_entries.py: the FAQ without the entries of 2026-12-02, and the questions it is measured on."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from knowledge_base.evaluation import Question
from knowledge_base.loader import aliases, load_entries

ROOT = Path(__file__).resolve().parents[2]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("kb_new_entries", ROOT / "benchmarks" / "kb_new_entries.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("kb_new_entries", module)
    spec.loader.exec_module(module)
    return module


def test_every_new_entry_is_bundled_or_merged_into_one() -> None:
    script = _script()
    entries, errors = load_entries(script.BUNDLED)
    assert not errors
    known = {e.id for e in entries} | set(aliases(entries))
    assert len(script.NEW_ENTRIES) == 52 and script.NEW_ENTRIES <= known


def test_the_smaller_faq_lacks_exactly_the_new_entries(tmp_path: Path) -> None:
    script = _script()
    directory = script.without_new(script.BUNDLED, tmp_path / "entries")
    entries, errors = load_entries(directory)
    assert not errors
    bundled = {e.id for e in load_entries(script.BUNDLED)[0]}
    assert {e.id for e in entries} == bundled - script.NEW_ENTRIES
    assert len(entries) < len(bundled)


def test_questions_labelled_with_a_new_entry_are_left_out_and_out_of_scope_kept() -> None:
    script = _script()
    new_id = sorted(script.NEW_ENTRIES)[0]
    questions = [Question("a", ("csv-utf8-depuis-excel",)), Question("b", (new_id,)),
                 Question("c", ("csv-utf8-depuis-excel", new_id)), Question("d", ())]
    assert [q.q for q in script.old_and_out_of_scope(questions)] == ["a", "d"]


def test_changes_are_refused_on_the_test_split() -> None:
    script = _script()
    try:
        script.main(["--questions", str(ROOT / "tests" / "data" / "kb-eval" / "test.jsonl"), "--changes"])
    except SystemExit as exc:
        assert exc.code == 2
    else:
        raise AssertionError("--changes ran on the test split")


def test_changes_are_refused_when_the_test_split_is_among_the_files() -> None:
    script = _script()
    split = ROOT / "tests" / "data" / "kb-eval"
    try:
        script.main(["--questions", str(split / "tune.jsonl"), str(split / "test.jsonl"), "--changes"])
    except SystemExit as exc:
        assert exc.code == 2
    else:
        raise AssertionError("--changes ran on the test split")


def test_a_question_only_a_new_entry_answers_is_out_of_scope_for_the_smaller_faq(tmp_path: Path) -> None:
    script = _script()
    smaller = script.KnowledgeBase.load(script.without_new(script.BUNDLED, tmp_path / "entries"))
    new_id = sorted(script.NEW_ENTRIES - set(aliases(load_entries(script.BUNDLED)[0])))[0]
    questions = [Question("a", ("csv-utf8-depuis-excel",)), Question("b", (new_id,)),
                 Question("c", (new_id, "csv-utf8-depuis-excel")), Question("d", ())]
    seen = script.for_faq(questions, smaller)
    assert [q.expected for q in seen] == [("csv-utf8-depuis-excel",), (), ("csv-utf8-depuis-excel",), ()]


class _Decides:
    """A FAQ whose decision is written in advance, per question text (only the counting is under test)."""

    def __init__(self, given: dict[str, list[str]]) -> None:
        self.given = given

    def rank(self, query: str) -> str:
        return query

    def decide(self, ranked: str, limit: int, purpose: str) -> list[object]:
        return [type("S", (), {"id": i})() for i in self.given[ranked]]


def test_outcomes_count_a_right_a_wrong_answer_and_nothing() -> None:
    script = _script()
    kb = _Decides({"a": ["x", "y"], "b": ["y"], "c": [], "d": ["x"], "e": [], "f": ["x", "z"]})
    questions = [Question("a", ("x",)), Question("b", ("x",)), Question("c", ("x",)), Question("d", ()),
                 Question("e", ()), Question("f", ("x",), also=("z",))]
    counts = script.outcomes(kb, questions, ["chat", "mail"])
    chat = counts["chat"]
    assert chat == {"answered right": 2, "answered wrong": 2, "nothing": 2}
    # mail: right only when every entry mailed is expected (« a » mails a wrong second entry)
    assert counts["mail"] == {"answered right": 1, "answered wrong": 3, "nothing": 2}
