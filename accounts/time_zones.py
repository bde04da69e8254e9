"""Each person's time zone: taken from their browser on a first visit, changed by them after."""

from __future__ import annotations

from accounts.models import User
from comms_portal import times

# The browser's zone (Intl.DateTimeFormat().resolvedOptions().timeZone), set by portal.js.
BROWSER_ZONE_COOKIE = "portal_browser_zone"


def set_time_zone(*, user: User, name: str) -> str:
    """Show a person's times in zone ``name`` from now on; raise UnknownTimeZone if unknown."""
    zone = times.zone_named(name)
    user.time_zone = zone.key
    user.save(update_fields=["time_zone"])
    return zone.key


def adopt_browser_zone(*, user: User, name: str) -> bool:
    """Keep the zone a person's browser reported, unless they already have one; say if kept."""
    if user.time_zone and times.is_zone(user.time_zone):
        return False
    if not times.is_zone(name):
        return False
    user.time_zone = name.strip()
    user.save(update_fields=["time_zone"])
    return True
