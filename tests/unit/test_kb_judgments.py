"""Pooled relevance judgments: alternative right answers, counted only where the FAQ holds them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge_base.evaluation import Question, answerable_here, measure
from knowledge_base.judgments import load_judgments, with_judgments
from knowledge_base.loader import KbError


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


def test_only_yes_verdicts_become_alternative_answers(tmp_path: Path) -> None:
    judged = load_judgments(_write(tmp_path / "j.jsonl", [
        {"q": "Q1", "id": "b", "verdict": "yes", "why": "same question"},
        {"q": "Q1", "id": "c", "verdict": "partial", "why": "neighbour"},
        {"q": "Q1", "id": "b", "verdict": "yes", "why": "twice"},
        {"q": "Q2", "id": "d", "verdict": "no", "why": "other topic"},
    ]))
    assert judged == {"Q1": ("b",)}
    questions = with_judgments([Question("Q1", ("a",)), Question("Q2", ())], judged)
    assert [q.also for q in questions] == [("b",), ()]


def test_a_bad_line_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path / "j.jsonl", [{"q": "Q1", "id": "b", "verdict": "maybe"}])
    with pytest.raises(KbError, match="j.jsonl:1"):
        load_judgments(path)


def test_an_alternative_counts_only_in_a_faq_that_holds_it() -> None:
    labelled = Question("Q1", ("a",), also=("new",))
    out_of_scope = Question("Q2", (), also=("new",))
    with_new, skipped = answerable_here([labelled, out_of_scope], {"a", "new"})
    assert skipped == 0 and [q.expected for q in with_new] == [("a", "new"), ("new",)]
    without, _ = answerable_here([labelled, out_of_scope], {"a"})
    assert [q.expected for q in without] == [("a",), ()]
    # the new entry first is right with it; the out-of-scope question answered by it is right too
    right = measure([(with_new[0], ["new", "a"]), (with_new[1], ["new"])])
    assert right.top_1 == 1.0 and right.answerable == 2 and right.out_of_scope == 0
    # without it the same first entries would be wrong, and the second question wants silence
    wrong = measure([(without[0], ["x"]), (without[1], ["x"])])
    assert wrong.top_1 == 0.0 and wrong.out_of_scope_given_nothing == 0.0


def test_a_question_whose_label_is_missing_is_still_skipped() -> None:
    kept, skipped = answerable_here([Question("Q1", ("gone",), also=("a",))], {"a"})
    assert kept == [] and skipped == 1
