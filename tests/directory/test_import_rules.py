"""The directory is shared by every feature, so it imports none of them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import directory

PACKAGE_DIR = Path(directory.__file__).resolve().parent
FEATURE_APPS = ("presence", "meetings", "events", "calls", "callrecords", "sandbox")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize(
    "path",
    sorted(PACKAGE_DIR.rglob("*.py")),
    ids=lambda p: str(p.relative_to(PACKAGE_DIR)),
)
def test_directory_module_imports_no_feature_app(path: Path) -> None:
    for name in imported_modules(path):
        assert name.split(".")[0] not in FEATURE_APPS, f"{path.name} imports {name}"
