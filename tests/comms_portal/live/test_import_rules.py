"""The live channel is platform: it imports no feature app."""

from __future__ import annotations

from pathlib import Path

import pytest

import comms_portal.live
from tests.graph.test_import_rules import imported_modules

PACKAGE_DIR = Path(comms_portal.live.__file__).resolve().parent
FEATURE_APPS = ("presence", "meetings", "events", "calls", "callrecords", "directory", "sandbox")


@pytest.mark.parametrize("path", sorted(PACKAGE_DIR.glob("*.py")), ids=lambda p: p.name)
def test_the_live_channel_imports_no_feature_app(path: Path) -> None:
    for name in imported_modules(path):
        assert name.split(".")[0] not in FEATURE_APPS, f"{path.name} imports {name}"
