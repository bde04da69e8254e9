"""Charts drawn on the server as SVG (no script, no third-party code): attendance over a session."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from events.models import Attendance, Session

WIDTH, HEIGHT, PAD = 600, 200, 32
BUCKETS = 24


def attendance_chart(session: Session, records: Sequence[Attendance]) -> SafeString:
    """Draw how many people were in the session over its time, as bars, with a text summary."""
    start, end = session.starts_at, session.ends_at
    for record in records:
        if record.joined_at and record.joined_at < start:
            start = record.joined_at
        if record.left_at and record.left_at > end:
            end = record.left_at
    span = max((end - start).total_seconds(), 60.0)
    step = span / BUCKETS
    counts = []
    for index in range(BUCKETS):
        middle = start + timedelta(seconds=step * (index + 0.5))
        counts.append(
            sum(
                1
                for r in records
                if r.joined_at is not None
                and r.left_at is not None
                and r.joined_at <= middle < r.left_at
            )
        )
    peak = max(counts) if counts else 0
    bar_width = (WIDTH - 2 * PAD) / BUCKETS
    scale = (HEIGHT - 2 * PAD) / peak if peak else 0
    bars = format_html_join(
        "",
        '<rect class="chart-bar" x="{}" y="{}" width="{}" height="{}"></rect>',
        (
            (
                f"{PAD + index * bar_width + 1:.1f}",
                f"{HEIGHT - PAD - count * scale:.1f}",
                f"{bar_width - 2:.1f}",
                f"{count * scale:.1f}",
            )
            for index, count in enumerate(counts)
        ),
    )
    summary = f"Attendance over the session: at most {peak} people at once, {len(records)} in all."
    return format_html(
        '<svg class="attendance-chart" viewBox="0 0 {w} {h}" role="img" aria-label="{s}">'
        '<line class="chart-axis" x1="{p}" y1="{base}" x2="{right}" y2="{base}"></line>'
        "{bars}"
        '<text class="chart-label" x="{p}" y="{label_y}">0</text>'
        '<text class="chart-label" x="{p}" y="{top}">{peak}</text>'
        "</svg>",
        w=WIDTH,
        h=HEIGHT,
        s=summary,
        p=PAD,
        base=HEIGHT - PAD,
        right=WIDTH - PAD,
        bars=bars,
        label_y=HEIGHT - PAD + 16,
        top=PAD - 8,
        peak=peak,
    )
