"""What import-linter cannot say (its contracts in pyproject.toml check the layers, the independence of
the edges, the stand-alone packages and the absence of cycles): the domain uses the standard library
only, and no module keeps a registry or a bag of extras filled at run time."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imports_of(package: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for path in (ROOT / package.replace(".", "/")).rglob("*.py"):
        if "migrations" in path.parts:
            continue
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        out[str(path.relative_to(ROOT))] = names
    return out


def offenders(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{file} imports {name}"
        for file, names in imports_of(package).items()
        for name in names
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    ]


STDLIB_ONLY_ALLOWED = ("helpdesk.domain", "__future__", "dataclasses", "enum", "re", "typing", "datetime",
                       "collections", "collections.abc", "zoneinfo", "functools", "itertools", "math", "bisect",
                       "holidays")


def test_domain_is_pure() -> None:
    bad = [
        f"{file} imports {name}"
        for file, names in imports_of("helpdesk.domain").items()
        for name in names
        if not any(name == a or name.startswith(a + ".") for a in STDLIB_ONLY_ALLOWED)
    ]
    assert bad == []


def test_the_check_catches_a_violation(tmp_path: Path) -> None:
    # Guard against a test that cannot fail: the import walker must see a real import.
    names = imports_of("helpdesk.app")
    assert any("helpdesk.db.tables" in n for n in names.values())


def test_no_module_level_registries_or_extras_bag() -> None:
    texts = {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8")
             for p in list((ROOT / "helpdesk").rglob("*.py")) + list((ROOT / "channels").rglob("*.py"))}
    assert [f for f, t in texts.items() if "_FACTORIES" in t or ".extras" in t or "global " in t] == []
