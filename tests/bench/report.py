"""Percentiles, the printed tables and the JSON files a benchmark run leaves behind."""

from __future__ import annotations

import json
import math
import os
import platform
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parents[2] / "var" / "bench"


def percentile(values: Sequence[float], wanted: float) -> float | None:
    """Return the nearest-rank ``wanted`` percentile of ``values`` (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(wanted / 100 * len(ordered)))
    return ordered[rank - 1]


def summary_ms(seconds: Sequence[float]) -> dict[str, float | int | None]:
    """Return count, p50, p95, p99 and max of durations given in seconds, in milliseconds."""

    def ms(value: float | None) -> float | None:
        return None if value is None else round(value * 1000, 2)

    return {
        "count": len(seconds),
        "p50_ms": ms(percentile(seconds, 50)),
        "p95_ms": ms(percentile(seconds, 95)),
        "p99_ms": ms(percentile(seconds, 99)),
        "max_ms": ms(max(seconds) if seconds else None),
    }


@dataclass
class Section:
    """One benchmark's outcome: a table for people and the same data for machines."""

    name: str
    title: str
    columns: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "columns": self.columns,
            "rows": self.rows,
            "notes": self.notes,
            "details": self.details,
        }


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def format_section(section: Section) -> str:
    """Return ``section`` as a plain-text table with its notes below."""
    cells = [[_cell(row.get(column)) for column in section.columns] for row in section.rows]
    widths = [
        max([len(column), *(len(line[index]) for line in cells)])
        for index, column in enumerate(section.columns)
    ]
    lines = [section.title, "=" * len(section.title)]
    lines.append(
        "  ".join(
            column.ljust(width) for column, width in zip(section.columns, widths, strict=True)
        )
    )
    lines.append("  ".join("-" * width for width in widths))
    for line in cells:
        lines.append("  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True)))
    lines.extend(f"  * {note}" for note in section.notes)
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    """Describe where the run happened, so results from different machines are not mixed up."""
    return {
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


def write_results(
    sections: list[Section], *, run: dict[str, Any], output_dir: Path = RESULTS_DIR
) -> Path:
    """Write the run as ``<timestamp>.json`` and ``latest.json`` in ``output_dir``."""
    output_dir.mkdir(parents=True, exist_ok=True)
    finished = datetime.now(UTC)
    document = {
        **run,
        "finished_at": finished.isoformat(),
        "machine": machine(),
        "results": {section.name: section.to_json() for section in sections},
    }
    text = json.dumps(document, indent=2, sort_keys=False)
    path = output_dir / f"{finished.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(text)
    (output_dir / "latest.json").write_text(text)
    return path
