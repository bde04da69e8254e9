"""Documented Graph examples (tests/fixtures/graph/*.json) and a shape comparator.

Our answers must use the documented property names with the same JSON types; values differ
(ids, times), so only the shape is compared.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "graph"


def load_example(name: str) -> dict[str, Any]:
    """Return one example file (keys: method, url, status, request, response, source, note)."""
    example: dict[str, Any] = json.loads((EXAMPLES_DIR / name).read_text(encoding="utf-8"))
    return example


def example_names(prefix: str) -> list[str]:
    """Return the example file names starting with ``prefix``, sorted."""
    return sorted(path.name for path in EXAMPLES_DIR.glob(f"{prefix}*.json"))


def json_type(value: Any) -> str:
    """Return the JSON type name of a decoded value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def shape_differences(
    ours: Any, documented: Any, *, path: str = "$", allow_extra: bool = True
) -> list[str]:
    """List how ``ours`` differs in shape from ``documented`` (empty when they agree).

    Every documented property must be present with the same JSON type; a documented
    ``null`` accepts any type. Arrays compare their first items. With ``allow_extra`` off,
    properties the example does not show are reported too.
    """
    if documented is None:
        return []
    if json_type(ours) != json_type(documented):
        return [f"{path}: {json_type(ours)} instead of {json_type(documented)}"]
    if isinstance(documented, dict):
        problems = []
        for name, value in documented.items():
            if name not in ours:
                problems.append(f"{path}.{name}: missing")
                continue
            problems += shape_differences(
                ours[name], value, path=f"{path}.{name}", allow_extra=allow_extra
            )
        if not allow_extra:
            problems += [
                f"{path}.{name}: not documented" for name in ours if name not in documented
            ]
        return problems
    if isinstance(documented, list) and documented and ours:
        return shape_differences(ours[0], documented[0], path=f"{path}[0]", allow_extra=allow_extra)
    return []
