"""Dependencies point inwards: checked on the import statements of every module."""

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


def test_knowledge_base_is_standalone() -> None:
    assert offenders("knowledge_base", ("helpdesk", "channels")) == []


def test_channels_and_web_never_touch_the_database() -> None:
    assert offenders("channels", ("helpdesk.db", "sqlalchemy", "sqlmodel")) == []
    assert offenders("helpdesk.web", ("helpdesk.db", "sqlalchemy", "sqlmodel")) == []


def test_channels_do_not_import_each_other_or_the_web() -> None:
    assert offenders("channels/email", ("channels.telegram", "helpdesk.web")) == []
    assert offenders("channels/telegram", ("channels.email", "helpdesk.web")) == []


def test_the_check_catches_a_violation(tmp_path: Path) -> None:
    # Guard against a test that cannot fail: the import walker must see a real import.
    names = imports_of("helpdesk.app")
    assert any("helpdesk.db.tables" in n for n in names.values())


ENTRY_POINTS = ("helpdesk/cli.py", "helpdesk/cli_mail.py", "helpdesk/cli_sla.py", "helpdesk/bootstrap.py")


def test_only_entry_points_import_the_composition_root() -> None:
    bad = [o for o in offenders("helpdesk", ("helpdesk.bootstrap",)) + offenders("channels", ("helpdesk.bootstrap",))
           if not o.startswith(ENTRY_POINTS)]
    assert bad == []


def test_no_module_level_registries_or_extras_bag() -> None:
    texts = {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8")
             for p in list((ROOT / "helpdesk").rglob("*.py")) + list((ROOT / "channels").rglob("*.py"))}
    assert [f for f, t in texts.items() if "_FACTORIES" in t or ".extras" in t or "global " in t] == []
