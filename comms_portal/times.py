"""Time zones and times in words: which zones people may choose, and how times read.

Every time the portal shows is in the reader's zone (activated per request by
``accounts.middleware``), and pages name that zone ("New York time"). The words here are
mirrored by the pages' scripts (static/js/presence-wall.js), so a time the server rendered
and one a script redraws read the same.
"""

from __future__ import annotations

import functools
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path

# Zones are listed under these regions, in this order; everything else (links kept for old
# systems such as "US/Eastern", "EST5EDT") is accepted but not offered.
REGIONS: dict[str, str] = {
    "Africa": "Africa",
    "America": "Americas",
    "Antarctica": "Antarctica",
    "Arctic": "Arctic",
    "Asia": "Asia",
    "Atlantic": "Atlantic Ocean",
    "Australia": "Australia",
    "Europe": "Europe",
    "Indian": "Indian Ocean",
    "Pacific": "Pacific Ocean",
}
UTC_NAME = "UTC"
# Longest IANA zone name stored for a person ("America/Argentina/ComodRivadavia" is 32).
MAX_ZONE_NAME = 64


class UnknownTimeZone(ValueError):
    """A time zone name that is not an IANA zone this server knows."""


@functools.cache
def known_zones() -> frozenset[str]:
    """Return every IANA zone name this server can use."""
    return frozenset(zoneinfo.available_timezones()) | {UTC_NAME}


def zone_named(name: str) -> zoneinfo.ZoneInfo:
    """Return the zone called ``name``; raise UnknownTimeZone, saying why, for anything else."""
    cleaned = name.strip()
    if not cleaned:
        raise UnknownTimeZone("Choose a time zone from the list.")
    if len(cleaned) > MAX_ZONE_NAME or cleaned not in known_zones():
        shown = cleaned[:MAX_ZONE_NAME]
        raise UnknownTimeZone(
            f"“{shown}” is not a time zone the portal knows; choose one from the list "
            "(IANA names such as Europe/Paris or America/New_York)."
        )
    return zoneinfo.ZoneInfo(cleaned)


def is_zone(name: str) -> bool:
    """Tell whether ``name`` is an IANA zone this server knows."""
    try:
        zone_named(name)
    except UnknownTimeZone:
        return False
    return True


def _place(name: str) -> str:
    return name.replace("_", " ")


def zone_label(name: str) -> str:
    """Return how pages name a zone: "New York time", "UTC"."""
    if name in {UTC_NAME, "Etc/UTC", "Etc/Universal", "Universal", "Zulu", "Etc/Zulu"}:
        return UTC_NAME
    if "/" not in name or name.startswith("Etc/"):
        return name
    return _place(name.rsplit("/", 1)[1]) + " time"


def _option_label(name: str, offset: str) -> str:
    # "America/Argentina/Buenos_Aires" reads "Buenos Aires, Argentina".
    parts = [_place(part) for part in name.split("/")[1:]]
    place = parts[-1] + "".join(f", {part}" for part in reversed(parts[:-1]))
    return f"{place} ({offset})"


def utc_offset(moment: datetime) -> str:
    """Return a moment's offset from UTC in words a list can show: "UTC-05:00", "UTC"."""
    delta = moment.utcoffset()
    minutes = int(delta.total_seconds() // 60) if delta is not None else 0
    if minutes == 0:
        return UTC_NAME
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def _zone_tab_names() -> list[str]:
    """Return the zones of the system's zone.tab (one per place people live), if it has one."""
    for root in zoneinfo.TZPATH:
        path = Path(root) / "zone.tab"
        if path.is_file():
            rows = path.read_text(encoding="utf-8").splitlines()
            return [row.split("\t")[2] for row in rows if row and not row.startswith("#")]
    return []


@functools.cache
def offered_zone_names() -> tuple[str, ...]:
    """Return the zones offered in the time-zone lists (those of zone.tab, else every zone)."""
    names = _zone_tab_names() or sorted(known_zones())
    return tuple(
        sorted(
            name
            for name in set(names)
            if name.split("/", 1)[0] in REGIONS and "/" in name and name in known_zones()
        )
    )


@dataclass(frozen=True)
class ZoneGroup:
    """One region of the time-zone list and its zones as (name, label) pairs."""

    region: str
    zones: tuple[tuple[str, str], ...]


@functools.lru_cache(maxsize=4)
def _zone_groups(hour: int) -> tuple[ZoneGroup, ...]:
    now = datetime.fromtimestamp(hour * 3600, UTC)
    grouped: dict[str, list[tuple[str, str]]] = {key: [] for key in REGIONS}
    for name in offered_zone_names():
        offset = utc_offset(now.astimezone(zoneinfo.ZoneInfo(name)))
        grouped[name.split("/", 1)[0]].append((name, _option_label(name, offset)))
    return (
        ZoneGroup("Universal", ((UTC_NAME, "UTC (Coordinated Universal Time)"),)),
        *(
            ZoneGroup(title, tuple(sorted(grouped[key], key=lambda pair: pair[1])))
            for key, title in REGIONS.items()
            if grouped[key]
        ),
    )


def zone_groups(now: datetime | None = None) -> tuple[ZoneGroup, ...]:
    """Return the zones people may choose, by region, labelled with their offset at ``now``."""
    moment = now or datetime.now(UTC)
    # Offsets change only at whole hours at most; every page of that hour shares one list.
    return _zone_groups(int(moment.timestamp() // 3600))


def elapsed_words(seconds: float) -> str:
    """Say how long ``seconds`` is: "just now", "25 min", "3 h", "2 days"."""
    elapsed = int(seconds)
    if elapsed < 60:
        return "just now"
    minutes = elapsed // 60
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 24:
        return f"{hours} h"
    days = hours // 24
    return "1 day" if days == 1 else f"{days} days"


def ago_words(moment: datetime, now: datetime | None = None) -> str:
    """Say how long ago ``moment`` was: "just now", "25 min ago", "2 days ago"."""
    current = now or datetime.now(UTC)
    words = elapsed_words(max(0.0, (current - moment).total_seconds()))
    return words if words == "just now" else f"{words} ago"


def clock_words(moment: datetime, zone: tzinfo, now: datetime | None = None) -> str:
    """Return a moment's clock time in ``zone``: "14:05" today, "28 Nov 14:05" on other days."""
    local = moment.astimezone(zone)
    today = (now or datetime.now(UTC)).astimezone(zone).date()
    if local.date() == today:
        return local.strftime("%H:%M")
    return f"{local.day} {local.strftime('%b %H:%M')}"


def until_words(moment: datetime, zone: tzinfo, now: datetime | None = None) -> str:
    """Return when something ends, named in ``zone``: "16:30", "Fri 4 Dec 23:59"."""
    local = moment.astimezone(zone)
    today = (now or datetime.now(UTC)).astimezone(zone).date()
    if local.date() == today:
        return local.strftime("%H:%M")
    return f"{local.strftime('%a')} {local.day} {local.strftime('%b %H:%M')}"
