"""Template filters that show times in the reader's zone, in words (``comms_portal.times``)."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from comms_portal import times

register = template.Library()


@register.filter
def ago(moment: datetime | None) -> str:
    """Render how long ago a moment was ("just now", "25 min ago")."""
    return times.ago_words(moment) if moment else ""


@register.filter
def clock(moment: datetime | None) -> str:
    """Render a moment's clock time in the reader's zone ("14:05", "28 Nov 14:05")."""
    return times.clock_words(moment, timezone.get_current_timezone()) if moment else ""


@register.filter
def until(moment: datetime | None) -> str:
    """Render when something ends, in the reader's zone ("16:30", "Fri 4 Dec 23:59")."""
    return times.until_words(moment, timezone.get_current_timezone()) if moment else ""


@register.simple_tag
def zone_label() -> str:
    """Render the name of the reader's zone ("New York time")."""
    return times.zone_label(timezone.get_current_timezone_name())


def _options(zones: tuple[tuple[str, str], ...], selected: str) -> SafeString:
    chosen = ((name, " selected" if name == selected else "", label) for name, label in zones)
    return format_html_join("", '<option value="{}"{}>{}</option>', chosen)


@functools.lru_cache(maxsize=64)
def _zone_options(selected: str, hour: int) -> SafeString:
    groups = times.zone_groups(datetime.fromtimestamp(hour * 3600, UTC))
    regions = format_html_join(
        "",
        '<optgroup label="{}">{}</optgroup>',
        ((group.region, _options(group.zones, selected)) for group in groups),
    )
    if any(name == selected for group in groups for name, _ in group.zones):
        return regions
    # The browser may have reported an old alias ("Asia/Calcutta"): offer it as it is.
    alias = ((selected, f"{times.zone_label(selected)} ({selected})"),)
    return format_html("{}{}", _options(alias, selected), regions)


@register.simple_tag
def zone_options(selected: str) -> SafeString:
    """Render the zones to choose from, by region, with ``selected`` chosen."""
    # Some four hundred options: built once an hour per zone, not on every page.
    return _zone_options(selected, int(timezone.now().timestamp() // 3600))
