"""Read FAQ entries: one Markdown file each, YAML front matter between `---` lines, then the answer.

Every problem is collected as one line naming the file and the problem, so that `kb check` can list them
all at once; `KnowledgeBase.load` raises a single `KbLoadError` carrying that list.

Besides the required fields, an entry may carry its provenance: `sources` (URLs of the official pages that
back the answer), `reviewed` (the date a person last checked it against them) and `replaces` (ids of
entries merged into this one, which keep resolving through `aliases`). The loader only checks their shape;
the editorial rules (sources required, review not too old) are `knowledge_base.provenance`'s.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
FIELDS: tuple[str, ...] = ("id", "title", "tags", "questions", "lang")
OPTIONAL_FIELDS: tuple[str, ...] = ("sources", "reviewed", "replaces")
URL = re.compile(r"^https?://[^\s/?#]+\.[^\s/?#]+(?:[/?#]\S*)?$")
FENCE = "---"


class KbError(Exception):
    """Base of the errors raised by the knowledge base package."""


class KbLoadError(KbError):
    """The knowledge base could not be loaded; `errors` lists every problem found, one line each."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        count = len(self.errors)
        head = f"{count} problem{'s' if count != 1 else ''} in the knowledge base"
        super().__init__(head + (": " + "; ".join(self.errors) if self.errors else ""))


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    title: str
    tags: tuple[str, ...]
    questions: tuple[str, ...]
    lang: str
    body: str
    path: Path | None = None
    sources: tuple[str, ...] = ()
    reviewed: date | None = None
    replaces: tuple[str, ...] = ()


# libyaml's safe loader when installed: the same result, about nine times faster on the 228 entries.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

def _split_front_matter(text: str) -> tuple[str, str] | None:
    """(front matter, body) or None when the file does not open with a `---` fence closed later."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != FENCE:
        return None
    for i in range(1, len(lines)):
        if lines[i].strip() == FENCE:
            return "".join(lines[1:i]), "".join(lines[i + 1 :])
    return None


def _string_list(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value):
        return tuple(v.strip() for v in value)
    return None


def parse_entry(text: str, name: str, path: Path | None = None) -> tuple[Entry | None, list[str]]:
    """Parse the text of one entry file named `name` (e.g. `budget-scdl.md`); (entry or None, errors)."""
    entry, errors, _ = _parse(text, name, path)
    return entry, errors


def _parse(text: str, name: str, path: Path | None) -> tuple[Entry | None, list[str], str | None]:
    """(entry or None, errors, the id the file declares if it declares one)."""
    parts = _split_front_matter(text)
    if parts is None:
        return None, [f"{name}: no front matter (the file must start with '---' and close it with '---')"], None
    front_text, body = parts
    try:
        front = yaml.load(front_text, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader (libyaml when present)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        where = f" at line {mark.line + 2}" if mark is not None else ""  # +1 for 0-based, +1 for the fence
        return None, [f"{name}: YAML error{where}: {problem}"], None
    except ValueError as exc:  # a well-formed but impossible value, e.g. the date 2026-13-02
        return None, [f"{name}: impossible value in the front matter ({exc})"], None
    if not isinstance(front, dict):
        return None, [f"{name}: front matter must be a mapping of fields ({', '.join(FIELDS)})"], None
    errors = [f"{name}: missing field '{f}'" for f in FIELDS if f not in front]
    errors += [f"{name}: unknown field '{k}'" for k in front if k not in FIELDS + OPTIONAL_FIELDS]
    for key in ("id", "title", "lang"):
        if key in front and not (isinstance(front[key], str) and front[key].strip()):
            errors.append(f"{name}: field '{key}' must be a non-empty string")
    lists: dict[str, tuple[str, ...]] = {}
    for key in ("tags", "questions"):
        if key in front:
            value = _string_list(front[key])
            if value is None:
                errors.append(f"{name}: field '{key}' must be a list of non-empty strings")
            else:
                lists[key] = value
    raw_id = front.get("id")
    entry_id = raw_id if isinstance(raw_id, str) and raw_id.strip() else None
    if entry_id is not None:
        stem = name.removesuffix(".md")
        if not SLUG.match(entry_id):
            errors.append(f"{name}: id '{entry_id}' is not a slug (lowercase letters, digits and hyphens)")
        elif entry_id != stem:
            errors.append(f"{name}: id '{entry_id}' does not match the file name (expected '{stem}')")
    if not body.strip():
        errors.append(f"{name}: empty body (the answer goes after the closing '---')")
    provenance, problems = _provenance(front, name, entry_id)
    errors += problems
    if errors:
        return None, errors, entry_id
    entry = Entry(id=front["id"], title=front["title"].strip(), tags=lists["tags"], questions=lists["questions"],
                  lang=front["lang"].strip(), body=body.strip(), path=path, **provenance)
    return entry, [], entry_id


def _provenance(front: dict[Any, Any], name: str, entry_id: str | None) -> tuple[dict[str, Any], list[str]]:
    """The optional `sources`, `reviewed` and `replaces` fields, shape only: (values for Entry, errors)."""
    values: dict[str, Any] = {}
    errors: list[str] = []
    if "sources" in front:
        sources = _string_list(front["sources"])
        if sources is None:
            errors.append(f"{name}: field 'sources' must be a list of URLs")
        else:
            bad = [u for u in sources if not URL.match(u)]
            errors += [f"{name}: source '{u}' is not an http(s) URL" for u in bad]
            errors += [f"{name}: source '{u}' is listed twice" for u in _repeated(sources)]
            values["sources"] = sources
    if "reviewed" in front:
        reviewed = _date(front["reviewed"])
        if reviewed is None:
            errors.append(f"{name}: field 'reviewed' must be a date written YYYY-MM-DD")
        values["reviewed"] = reviewed
    if "replaces" in front:
        replaces = _string_list(front["replaces"])
        if replaces is None:
            errors.append(f"{name}: field 'replaces' must be a list of entry ids")
        else:
            errors += [f"{name}: replaced id '{old}' is not a slug" for old in replaces if not SLUG.match(old)]
            errors += [f"{name}: an entry cannot replace itself" for old in replaces if old == entry_id]
            values["replaces"] = replaces
    return values, errors


def _date(value: Any) -> date | None:
    if isinstance(value, date):  # YAML reads an unquoted 2026-12-02 as a date (a datetime is a date too)
        return value if type(value) is date else date(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _repeated(values: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    repeated: list[str] = []
    for v in values:
        if v in seen and v not in repeated:
            repeated.append(v)
        seen.add(v)
    return repeated


def aliases(entries: Iterable[Entry]) -> dict[str, str]:
    """Old id -> id of the entry that absorbed it (from `replaces`), so that old links and labels resolve."""
    return {old: e.id for e in entries for old in e.replaces}


def _alias_problems(entries: list[Entry]) -> list[str]:
    """A replaced id must be free (its file removed) and claimed by one entry only."""
    ids = {e.id for e in entries}
    claimed: dict[str, str] = {}
    errors: list[str] = []
    for e in entries:
        name = e.path.name if e.path is not None else f"{e.id}.md"
        for old in e.replaces:
            if old in ids:
                errors.append(f"{name}: replaces '{old}', but entry '{old}' still exists (remove {old}.md)")
            elif old in claimed:
                errors.append(f"{name}: replaces '{old}', already replaced by '{claimed[old]}'")
            else:
                claimed[old] = e.id
    return errors


def load_entries(directory: Path | str) -> tuple[list[Entry], list[str]]:
    """Every `*.md` file of `directory`, sorted by name: (valid entries, errors). Duplicate ids are errors."""
    root = Path(directory)
    if not root.is_dir():
        return [], [f"{root}: not a directory"]
    entries: list[Entry] = []
    errors: list[str] = []
    seen: dict[str, str] = {}
    files = sorted(root.glob("*.md"))
    if not files:
        errors.append(f"{root}: no entry (*.md) found")
    parsed: list[tuple[Path, Entry | None, str | None]] = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            errors.append(f"{path.name}: not valid UTF-8 (byte {exc.start})")
            continue
        except OSError as exc:
            errors.append(f"{path.name}: cannot be read ({exc.strerror})")
            continue
        entry, problems, declared = _parse(text, path.name, path)
        errors.extend(problems)
        parsed.append((path, entry, declared))
    # a file whose id matches its name owns that id; a duplicate is reported on the other file
    for path, entry, declared in sorted(parsed, key=lambda p: (p[2] != p[0].stem, p[0].name)):
        if declared is not None:
            if declared in seen:
                errors.append(f"{path.name}: duplicate id '{declared}' (also in {seen[declared]})")
                continue
            seen[declared] = path.name
        if entry is not None:
            entries.append(entry)
    entries.sort(key=lambda e: e.id)
    errors += _alias_problems(entries)
    return entries, errors


def check(directory: Path | str) -> list[str]:
    """The problems of a knowledge base directory, one line each; empty when it is valid."""
    return load_entries(directory)[1]
