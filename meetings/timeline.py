"""The attendance timeline: where each person's time in a session falls, drawn as SVG."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from html import escape

from django.utils.safestring import SafeString, mark_safe

from meetings.models import AttendanceRecord, AttendanceReport

WIDTH = 600
ROW = 28
BAR = 16


@dataclass(frozen=True)
class Timeline:
    """Everyone's intervals, scaled to the session's start and end, as SVG shapes."""

    width: int
    height: int
    start: datetime
    end: datetime
    names: list[str]
    # One <g> a person: the track and a bar a stretch, each bar titled with its times.
    shapes: SafeString


def _spans(record: AttendanceRecord) -> list[tuple[datetime, datetime]]:
    return [
        (datetime.fromisoformat(joined), datetime.fromisoformat(left))
        for joined, left, _ in record.intervals
    ]


def _hm(moment: datetime, zone: tzinfo) -> str:
    local = moment.astimezone(zone)
    return f"{local.hour:02d}:{local.minute:02d}"


def build(report: AttendanceReport, records: Sequence[AttendanceRecord], zone: tzinfo) -> Timeline:
    """Place each record's intervals on a line scaled to the session, times in ``zone``."""
    spans = [_spans(record) for record in records]
    start, end = report.started_at, report.ended_at
    for person in spans:
        for joined, left in person:
            start, end = min(start, joined), max(end, left)
    scale = WIDTH / max((end - start).total_seconds(), 1.0)
    names = [record.display_name or record.email for record in records]
    groups = []
    for index, (name, person) in enumerate(zip(names, spans, strict=True)):
        y = index * ROW
        label = escape(name)
        bars = "".join(
            f'<rect class="timeline-bar" x="{round((joined - start).total_seconds() * scale, 1)}" '
            f'y="{y + (ROW - BAR) / 2}" '
            f'width="{round(max((left - joined).total_seconds() * scale, 1.0), 1)}" '
            f'height="{BAR}" rx="3"><title>{label}: {_hm(joined, zone)}\u2013{_hm(left, zone)}'
            "</title></rect>"
            for joined, left in person
        )
        track = y + ROW / 2
        groups.append(
            f'<g><line class="timeline-track" x1="0" x2="{WIDTH}" y1="{track}" y2="{track}">'
            f"</line>{bars}</g>"
        )
    return Timeline(
        width=WIDTH,
        height=max(len(records), 1) * ROW,
        start=start,
        end=end,
        names=names,
        shapes=mark_safe("\n".join(groups)),  # noqa: S308 - names are escaped, the rest numbers
    )
