"""Template filters of the meetings pages: durations and stored times in the reader's zone."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def duration_words(seconds: int | None) -> str:
    """Render a number of seconds as "1 h 05 min", "12 min 30 s" or "40 s"."""
    total = int(seconds or 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


@register.filter
def iso_clock(text: str | None) -> str:
    """Render a stored ISO time as its clock time in the reader's zone ("14:05")."""
    if not text:
        return ""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return ""
    return moment.astimezone(timezone.get_current_timezone()).strftime("%H:%M")
