"""The attendance table's rows, worked out once in Python rather than per cell in templates."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo

from meetings.models import AttendanceRecord


@dataclass(frozen=True)
class AttendanceRow:
    """One person's line of the attendance table."""

    name: str
    role: str
    time_in_meeting: str
    first_joined: str
    last_left: str


def duration_words(seconds: int) -> str:
    """Render a number of seconds as "1 h 05 min", "12 min 30 s" or "40 s"."""
    hours, rest = divmod(max(int(seconds), 0), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def _clock(text: str, zone: tzinfo) -> str:
    try:
        return datetime.fromisoformat(text).astimezone(zone).strftime("%H:%M")
    except (TypeError, ValueError):
        return ""


def table_rows(records: Iterable[AttendanceRecord], zone: tzinfo) -> list[AttendanceRow]:
    """Return the table's rows, times on the reader's clock."""
    rows = []
    for record in records:
        spans = record.intervals or []
        rows.append(
            AttendanceRow(
                name=record.display_name or record.email,
                role=record.role,
                time_in_meeting=duration_words(record.total_seconds),
                first_joined=_clock(spans[0][0], zone) if spans else "",
                last_left=_clock(spans[-1][1], zone) if spans else "",
            )
        )
    return rows
