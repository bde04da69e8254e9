"""The Graph client stays a pure library: no Django, no portal apps, no sandbox."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import comms_portal.graph

PACKAGE_DIR = Path(comms_portal.graph.__file__).resolve().parent
FORBIDDEN = (
    "django",
    "channels",
    "celery",
    "sandbox",
    "accounts",
    "directory",
    "presence",
    "meetings",
    "events",
)


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted(PACKAGE_DIR.glob("*.py")), ids=lambda p: p.name)
def test_module_imports_only_the_library_and_third_parties(path: Path) -> None:
    for name in imported_modules(path):
        top = name.split(".")[0]
        assert top not in FORBIDDEN, f"{path.name} imports {name}"
        if top == "comms_portal":
            assert name.startswith("comms_portal.graph"), f"{path.name} imports {name}"
