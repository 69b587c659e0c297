"""Entries back to their Markdown files, with the question wordings accepted from use.

Data flow of learning from use: the app stores proposals (entry id, wording) in its database; when an
admin accepts one, the app passes the pair to `KnowledgeBase.add_wordings` (the index is refreshed at
once) and keeps it; `kb export` writes each entry with `with_wordings` applied, so that accepted wordings
become ordinary `questions:` lines of the files and survive a re-import.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

import yaml

from knowledge_base.loader import Entry


def with_wordings(entries: Sequence[Entry], pairs: Iterable[tuple[str, str]]) -> list[Entry]:
    """The entries with the accepted wordings appended to their questions (exact repeats skipped;
    pairs naming an unknown entry are ignored)."""
    extra: dict[str, list[str]] = {}
    for entry_id, wording in pairs:
        text = " ".join(wording.split())
        if text:
            extra.setdefault(entry_id, []).append(text)
    out = []
    for e in entries:
        added = [w for w in dict.fromkeys(extra.get(e.id, [])) if w not in e.questions]
        out.append(replace(e, questions=(*e.questions, *added)) if added else e)
    return out


def entry_markdown(entry: Entry) -> str:
    """The text of the entry's file: YAML front matter between `---` lines, then the answer."""
    front = {"id": entry.id, "title": entry.title, "tags": list(entry.tags), "questions": list(entry.questions),
             "lang": entry.lang}
    return "---\n" + yaml.safe_dump(front, allow_unicode=True, sort_keys=False) + "---\n" + entry.body.strip() + "\n"
