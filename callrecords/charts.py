"""Charts drawn on the server as SVG, readable without colour.

Every bar carries its value as text, and bars past the concern line are hatched as well as
coloured, so the chart reads the same in greyscale, high contrast or to a screen reader
(which gets the figures from the table beside each chart; the SVG itself is labelled).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from callrecords.selectors import RateRow

# Poor-stream rates above this are drawn hatched ("worth a look").
CONCERN_RATE = 0.1
WIDTH = 640
BAR_GAP = 4


def _pattern(chart_id: str) -> str:
    return (
        f'<defs><pattern id="{chart_id}-hatch" width="6" height="6" '
        'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        '<rect width="6" height="6" class="chart-bar-high"/>'
        '<line x1="0" y1="0" x2="0" y2="6" class="chart-hatch"/></pattern></defs>'
    )


def _fill(chart_id: str, row: RateRow) -> str:
    if row.rate > CONCERN_RATE:
        return f'fill="url(#{chart_id}-hatch)" class="chart-bar chart-bar-high"'
    return 'class="chart-bar"'


def rate_columns(chart_id: str, title: str, rows: Sequence[RateRow]) -> SafeString:
    """Draw the poor-stream rate over time as columns, each labelled with its percentage."""
    if not rows:
        return mark_safe('<p class="muted">No classified streams in this range.</p>')
    height, top, bottom = 220, 24, 40
    plot = height - top - bottom
    peak = max(max(row.rate for row in rows), CONCERN_RATE * 1.5)
    slot = (WIDTH - 40) / len(rows)
    bar = min(max(slot - BAR_GAP, 2), 48)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{chart_id}-title" preserveAspectRatio="xMinYMin meet">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        _pattern(chart_id),
    ]
    line_y = top + plot - plot * CONCERN_RATE / peak
    parts.append(
        f'<line x1="30" x2="{WIDTH}" y1="{line_y:.1f}" y2="{line_y:.1f}" class="chart-concern"/>'
        f'<text x="{WIDTH - 4}" y="{line_y - 4:.1f}" text-anchor="end" class="chart-note">'
        f"{CONCERN_RATE:.0%} line</text>"
    )
    label_every = max(1, len(rows) // 10)
    for index, row in enumerate(rows):
        x = 34 + index * slot
        bar_height = plot * row.rate / peak
        y = top + plot - bar_height
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{max(bar_height, 1):.1f}" '
            f"{_fill(chart_id, row)}><title>{escape(row.label)}: {escape(row.percent)} poor "
            f"({row.poor} of {row.classified})</title></rect>"
        )
        if len(rows) <= 16:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle" '
                f'class="chart-value">{row.rate:.0%}</text>'
            )
        if index % label_every == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
                f'class="chart-label">{escape(row.label)}</text>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped or a number


def rate_bars(chart_id: str, title: str, rows: Sequence[RateRow], limit: int = 12) -> SafeString:
    """Draw poor-stream rates by group as horizontal bars with the label and value as text."""
    shown = list(rows[:limit])
    if not shown:
        return mark_safe('<p class="muted">No classified streams in this range.</p>')
    row_height, label_width = 26, 230
    height = row_height * len(shown) + 8
    bar_space = WIDTH - label_width - 120
    peak = max(max(row.rate for row in shown), CONCERN_RATE * 1.5)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{chart_id}-title" preserveAspectRatio="xMinYMin meet">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        _pattern(chart_id),
    ]
    for index, row in enumerate(shown):
        y = 4 + index * row_height
        width = max(bar_space * row.rate / peak, 1)
        label = row.label if len(row.label) <= 32 else row.label[:31] + "…"
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 17}" text-anchor="end" class="chart-label">'
            f"{escape(label)}</text>"
            f'<rect x="{label_width}" y="{y + 4}" width="{width:.1f}" height="{row_height - 8}" '
            f"{_fill(chart_id, row)}><title>{escape(row.label)}: {escape(row.percent)} poor"
            f"</title></rect>"
            f'<text x="{label_width + width + 6:.1f}" y="{y + 17}" class="chart-value">'
            f"{escape(row.percent)} of {row.classified}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped or a number
