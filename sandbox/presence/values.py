"""The presence vocabulary Graph documents, and parsers for its durations and time zones."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# https://learn.microsoft.com/graph/api/resources/presence (availability and activity values)
AVAILABILITIES = (
    "Available",
    "AvailableIdle",
    "Away",
    "BeRightBack",
    "Busy",
    "BusyIdle",
    "DoNotDisturb",
    "Offline",
    "PresenceUnknown",
)
ACTIVITIES = (
    "Available",
    "AvailableInactive",  # the first fading stage of an app session (presence-setpresence)
    "Away",
    "BeRightBack",
    "Busy",
    "DoNotDisturb",
    "InACall",
    "InAConferenceCall",
    "Inactive",
    "InAMeeting",
    "Offline",
    "OffWork",
    "OutOfOffice",
    "PresenceUnknown",
    "Presenting",
    "UrgentInterruptionsOnly",
)

# https://learn.microsoft.com/graph/api/presence-setpresence (supported combinations)
SET_PRESENCE_PAIRS = frozenset(
    {
        ("Available", "Available"),
        ("Busy", "InACall"),
        ("Busy", "InAConferenceCall"),
        ("Away", "Away"),
        ("DoNotDisturb", "Presenting"),
    }
)
# https://learn.microsoft.com/graph/api/presence-setuserpreferredpresence (supported combinations)
PREFERRED_PAIRS = frozenset(
    {
        ("Available", "Available"),
        ("Busy", "Busy"),
        ("DoNotDisturb", "DoNotDisturb"),
        ("BeRightBack", "BeRightBack"),
        ("Away", "Away"),
        ("Offline", "OffWork"),
    }
)

# https://learn.microsoft.com/graph/api/presence-setpresence (timeout, expiration, keep alive)
SESSION_MIN_SECONDS = 5 * 60
SESSION_MAX_SECONDS = 4 * 60 * 60
SESSION_DEFAULT_SECONDS = 5 * 60
FADE_STEP_SECONDS = 5 * 60
# https://learn.microsoft.com/graph/api/presence-setuserpreferredpresence (default expiration)
PREFERRED_SHORT_DEFAULT = timedelta(days=1)  # DoNotDisturb and Busy
PREFERRED_LONG_DEFAULT = timedelta(days=7)  # every other state
# No maximum is documented, so any duration is taken that ends by the last moment a Graph
# dateTime can carry (9999-12-31T23:59:59Z); what lies beyond cannot be represented.
LATEST_TIMESTAMP = 253_402_300_799.0

# https://learn.microsoft.com/graph/api/resources/userworklocation
WORK_LOCATION_TYPES = ("unspecified", "office", "remote", "timeOff")

# Microsoft's time-zone names (as Outlook and Graph use them) for the zones we expect;
# IANA names are accepted as they are.
WINDOWS_ZONES = {
    "utc": "UTC",
    "coordinated universal time": "UTC",
    "pacific standard time": "America/Los_Angeles",
    "mountain standard time": "America/Denver",
    "central standard time": "America/Chicago",
    "eastern standard time": "America/New_York",
    "gmt standard time": "Europe/London",
    "greenwich standard time": "Atlantic/Reykjavik",
    "w. europe standard time": "Europe/Berlin",
    "romance standard time": "Europe/Paris",
    "central europe standard time": "Europe/Budapest",
    "central european standard time": "Europe/Warsaw",
    "e. europe standard time": "Europe/Chisinau",
    "fle standard time": "Europe/Kiev",
    "india standard time": "Asia/Kolkata",
    "china standard time": "Asia/Shanghai",
    "tokyo standard time": "Asia/Tokyo",
    "aus eastern standard time": "Australia/Sydney",
}

_DURATION = re.compile(
    r"^P(?!$)(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$",
    re.IGNORECASE,
)
_LOCAL_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}(?::\d{2})?)(?:\.(\d{1,7}))?$")


class InvalidValue(ValueError):
    """A value outside the documented vocabulary or format; the message says which."""


def _canonical(value: object, allowed: tuple[str, ...], name: str) -> str:
    if not isinstance(value, str):
        raise InvalidValue(f"'{name}' must be a string.")
    for candidate in allowed:
        if candidate.lower() == value.lower():
            return candidate
    raise InvalidValue(f"'{value}' is not a valid {name}.")


def canonical_availability(value: object) -> str:
    """Return the documented spelling of an availability value (case-insensitive)."""
    return _canonical(value, AVAILABILITIES, "availability")


def canonical_activity(value: object) -> str:
    """Return the documented spelling of an activity value (case-insensitive)."""
    return _canonical(value, ACTIVITIES, "activity")


def canonical_work_location_type(value: object) -> str:
    """Return the documented spelling of a workLocationType value (case-insensitive)."""
    return _canonical(value, WORK_LOCATION_TYPES, "workLocationType")


def parse_duration(text: object, name: str = "expirationDuration") -> timedelta:
    """Parse an ISO 8601 duration such as ``PT1H`` or ``P1DT30M``."""
    if not isinstance(text, str):
        raise InvalidValue(f"'{name}' must be an ISO 8601 duration string such as PT1H.")
    match = _DURATION.match(text.strip())
    if match is None:
        raise InvalidValue(f"'{text}' is not a valid ISO 8601 duration for '{name}'.")
    parts = {key: float(value) for key, value in match.groupdict().items() if value is not None}
    try:
        return timedelta(
            days=parts.get("days", 0),
            hours=parts.get("hours", 0),
            minutes=parts.get("minutes", 0),
            seconds=parts.get("seconds", 0),
        )
    except (OverflowError, ValueError) as exc:
        raise InvalidValue(f"'{text}' is too long a duration for '{name}'.") from exc


def resolve_time_zone(name: object) -> ZoneInfo:
    """Return the zone for a Windows or IANA time-zone name."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidValue("'timeZone' must be a time-zone name such as UTC.")
    key = WINDOWS_ZONES.get(name.strip().lower(), name.strip())
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidValue(f"'{name}' is not a time zone this service knows.") from exc


def parse_date_time_time_zone(value: object, name: str) -> datetime:
    """Parse a ``dateTimeTimeZone`` object (``dateTime`` without offset + ``timeZone``)."""
    if not isinstance(value, dict):
        raise InvalidValue(f"'{name}' must be an object with 'dateTime' and 'timeZone'.")
    unknown = sorted(set(value) - {"dateTime", "timeZone", "@odata.type"})
    if unknown:
        raise InvalidValue(f"'{name}' has unknown properties: {', '.join(unknown)}.")
    text = value.get("dateTime")
    if not isinstance(text, str):
        raise InvalidValue(f"'{name}.dateTime' must be a string such as 2022-10-18T17:05:33.")
    match = _LOCAL_DATETIME.match(text.strip())
    if match is None:
        raise InvalidValue(
            f"'{name}.dateTime' must be a local date and time without an offset, got '{text}'."
        )
    date, clock, fraction = match.groups()
    if clock.count(":") == 1:
        clock += ":00"
    micro = (fraction or "0")[:6].ljust(6, "0")
    zone = resolve_time_zone(value.get("timeZone", "UTC"))
    try:
        local = datetime.fromisoformat(f"{date}T{clock}.{micro}")
    except ValueError as exc:
        raise InvalidValue(f"'{name}.dateTime' is not a valid date: {exc}") from exc
    return local.replace(tzinfo=zone).astimezone(UTC)


def format_utc_local(moment: datetime) -> str:
    """Format a moment as a ``dateTimeTimeZone.dateTime`` in UTC (7 fraction digits)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0"


def format_sequence(counter: int) -> str:
    """Return a lexicographically sortable ``sequenceNumber`` in the style of Graph's."""
    return f"A{counter:016d}"


# What a Teams client can report, from the documented Teams-state permutations
# (https://learn.microsoft.com/graph/cloud-communications-manage-presence-state); the control
# API forces people into these.
TEAMS_CLIENT_PAIRS = frozenset(
    {
        ("Available", "Available"),
        ("Busy", "Busy"),
        ("Busy", "InACall"),
        ("Busy", "InAConferenceCall"),
        ("Busy", "InAMeeting"),
        ("DoNotDisturb", "DoNotDisturb"),
        ("DoNotDisturb", "Presenting"),
        ("Away", "Away"),
        ("BeRightBack", "BeRightBack"),
        ("Offline", "Offline"),
        ("Offline", "OffWork"),
    }
)
