"""Pooled relevance judgments: further entries that also answer a labelled question.

A question was labelled with the entry its writer had in mind; another entry may answer it as well (two
entries on neighbouring topics, or an entry written after the question). As in IR evaluation campaigns
(TREC pooling), the entries that the engine or plain BM25 ranked above the label (their top three; the
first one for an out-of-scope question) were shown to blind judges, with the question and the entry's
title and answer but not the label, the rank or which system proposed it; each pair got « yes » (that
entry answers the question), « partial » or « no ». Only « yes » counts: such an entry becomes an
alternative right answer of that question, when it is in the FAQ being measured. An out-of-scope question
with a « yes » is answerable in a FAQ that holds that entry and stays out of scope in one that does not.

Judgments are JSON lines `{"q": question text, "id": entry id, "verdict": "yes"|"partial"|"no", "why": ...}`.
Pairs that were never pooled count as wrong, so a later engine that ranks an unjudged entry first is not
helped by the judgments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from knowledge_base.evaluation import Question, read_json_lines
from knowledge_base.loader import KbError

VERDICTS = ("yes", "partial", "no")


def load_judgments(path: Path | str) -> dict[str, tuple[str, ...]]:
    """Question text -> the entry ids judged « yes » for it (in file order); KbError naming a bad line."""
    source = Path(path)
    accepted: dict[str, list[str]] = {}
    for number, row in read_json_lines(source):
        if not (isinstance(row, dict) and isinstance(row.get("q"), str) and isinstance(row.get("id"), str)
                and row.get("verdict") in VERDICTS):
            raise KbError(f"{source.name}:{number}: expected {{\"q\": text, \"id\": entry id, "
                          "\"verdict\": \"yes\"|\"partial\"|\"no\"}}")
        if row["verdict"] == "yes":
            ids = accepted.setdefault(row["q"], [])
            if row["id"] not in ids:
                ids.append(row["id"])
    return {q: tuple(ids) for q, ids in accepted.items()}


def with_judgments(questions: Sequence[Question], judged: dict[str, tuple[str, ...]]) -> list[Question]:
    """The questions with the entries judged « yes » for them as alternative right answers (`also`)."""
    return [replace(q, also=tuple(x for x in judged.get(q.q, ()) if x not in q.expected)) for q in questions]
