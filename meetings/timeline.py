"""The attendance timeline: where each person's time in a session falls, for an SVG."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from meetings.models import AttendanceRecord, AttendanceReport

WIDTH = 600
ROW = 28
BAR = 16


@dataclass(frozen=True)
class Bar:
    """One interval of one person, in SVG units."""

    x: float
    y: float
    width: float
    joined: datetime
    left: datetime


@dataclass(frozen=True)
class Row:
    """One person's line of the timeline."""

    name: str
    y: float
    text_y: float
    bars: list[Bar]


@dataclass(frozen=True)
class Timeline:
    """Everyone's intervals, scaled to the session's start and end."""

    width: int
    height: int
    start: datetime
    end: datetime
    rows: list[Row]


def build(report: AttendanceReport, records: Sequence[AttendanceRecord]) -> Timeline:
    """Place each record's intervals on a line scaled to the session."""
    start, end = report.started_at, report.ended_at
    for record in records:
        for joined, left, _ in record.intervals:
            start = min(start, datetime.fromisoformat(joined))
            end = max(end, datetime.fromisoformat(left))
    span = max((end - start).total_seconds(), 1.0)
    rows = []
    for index, record in enumerate(records):
        y = index * ROW
        bars = []
        for joined_text, left_text, _ in record.intervals:
            joined = datetime.fromisoformat(joined_text)
            left = datetime.fromisoformat(left_text)
            x = (joined - start).total_seconds() / span * WIDTH
            width = max((left - joined).total_seconds() / span * WIDTH, 1.0)
            bars.append(
                Bar(
                    x=round(x, 1),
                    y=y + (ROW - BAR) / 2,
                    width=round(width, 1),
                    joined=joined,
                    left=left,
                )
            )
        rows.append(
            Row(name=record.display_name or record.email, y=y, text_y=y + ROW / 2, bars=bars)
        )
    return Timeline(width=WIDTH, height=max(len(rows), 1) * ROW, start=start, end=end, rows=rows)
