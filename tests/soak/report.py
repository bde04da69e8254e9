"""The soak's results: one row a scenario, printed as a table and written under var/soak/."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from comms_portal.processes import PROJECT_DIR

RESULTS_DIR = PROJECT_DIR / "var" / "soak"
COLUMNS = ("scenario", "changes made", "delivered", "lost", "converge s", "accounted", "result")


@dataclass
class Row:
    """What one scenario did and found."""

    scenario: str
    changes_made: int = 0
    delivered: int = 0
    lost: int = 0
    converge_seconds: float | None = None
    # Notifications accepted with 202, and how many of them were neither handled nor logged
    # as dropped with a reason (None where the scenario cannot know: Redis lost its data).
    accepted: int | None = None
    unaccounted: int | None = None
    passed: bool = False
    details: dict[str, Any] = field(default_factory=dict)

    def cells(self) -> list[str]:
        converge = "-" if self.converge_seconds is None else f"{self.converge_seconds:.1f}"
        accounted = (
            "n/a"
            if self.accepted is None
            else f"{self.accepted - (self.unaccounted or 0)}/{self.accepted}"
        )
        return [
            self.scenario,
            str(self.changes_made),
            str(self.delivered),
            str(self.lost),
            converge,
            accounted,
            "ok" if self.passed else "FAILED",
        ]


ROWS: list[Row] = []


def record(row: Row) -> Row:
    """Keep a scenario's row for the table at the end of the run."""
    ROWS.append(row)
    return row


def table(rows: list[Row]) -> str:
    """Return the rows as a Markdown table."""
    cells = [list(COLUMNS), *[row.cells() for row in rows]]
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |"
        for line in cells
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def write(rows: list[Row]) -> Path:
    """Write the run's rows as JSON under var/soak/; return the file."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps([asdict(row) for row in rows], indent=2))
    return path
