"""The attendance page's table and timeline, built in one pass over plain columns.

A report may hold thousands of people: the table's rows are written here as escaped HTML in
one loop (a template would resolve and escape every cell one by one), from the columns
rolled up when the report was stored, and only the people the timeline draws bring their
intervals.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from html import escape

from django.utils.safestring import SafeString, mark_safe

from meetings import selectors, services, timeline
from meetings.models import AttendanceReport
from meetings.selectors import AttendanceLine


@dataclass(frozen=True)
class AttendanceSheet:
    """What the attendance page shows of one report."""

    table_body: SafeString
    people: int
    timeline: timeline.Timeline
    timeline_left_out: int


def duration_words(seconds: int) -> str:
    """Render a number of seconds as "1 h 05 min", "12 min 30 s" or "40 s"."""
    hours, rest = divmod(max(int(seconds), 0), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def clock(moment: datetime | None, zone: tzinfo) -> str:
    """Return "HH:MM" of ``moment`` on the reader's clock, or "" when unknown."""
    if moment is None:
        return ""
    local = moment.astimezone(zone)
    return f"{local.hour:02d}:{local.minute:02d}"


def table_body(lines: Iterable[AttendanceLine], zone: tzinfo) -> SafeString:
    """Return the table's rows as HTML, times on the reader's clock."""
    rows = [
        f'<tr><th scope="row">{escape(line.name)}</th><td>{escape(line.role)}</td>'
        f"<td>{duration_words(line.total_seconds)}</td><td>{clock(line.first_joined, zone)}</td>"
        f"<td>{clock(line.last_left, zone)}</td></tr>"
        for line in lines
    ]
    return mark_safe("\n".join(rows))  # noqa: S308 - every text above is escaped


@dataclass(frozen=True)
class SortHeader:
    """One column heading of the attendance table: what pressing it asks for, and its state."""

    key: str
    title: str
    # The ``sort`` value the heading's button sends: this column, the other way round when
    # it is the column sorted by now.
    request: str
    aria_sort: str  # "ascending", "descending" or "" for columns not sorted by


# Headings in the table's order; a first press sorts names and roles A to Z, numbers and
# times from the largest or latest.
SORT_HEADINGS = (
    ("name", "Name", ""),
    ("role", "Role", ""),
    ("time", "Time in the meeting", "-"),
    ("joined", "Joined", "-"),
    ("left", "Left", "-"),
)


def chosen_sort(requested: str | None) -> str:
    """Return the ``sort`` asked for when it names a column, else longest first."""
    if requested and requested.removeprefix("-") in selectors.ATTENDANCE_SORT_FIELDS:
        return requested
    return selectors.LONGEST_FIRST


def sort_headers(sort: str) -> list[SortHeader]:
    """Return the table's headings for a table sorted by ``sort``."""
    key, descending = sort.removeprefix("-"), sort.startswith("-")
    headers = []
    for column, title, first_press in SORT_HEADINGS:
        if column == key:
            request = column if descending else f"-{column}"
            state = "descending" if descending else "ascending"
        else:
            request, state = f"{first_press}{column}", ""
        headers.append(SortHeader(column, title, request, state))
    return headers


def attendance_sheet(
    report: AttendanceReport, zone: tzinfo, timeline_people: int, sort: str = ""
) -> AttendanceSheet:
    """Return the report's table of everyone (in ``sort`` order) and the timeline of the
    longest stayers."""
    services.roll_up_attendance(report)
    lines = list(selectors.attendance_lines(report, chosen_sort(sort)))
    drawn = selectors.timeline_records(report, timeline_people)
    return AttendanceSheet(
        table_body=table_body(lines, zone),
        people=len(lines),
        timeline=timeline.build(report, drawn, zone),
        timeline_left_out=len(lines) - len(drawn),
    )
