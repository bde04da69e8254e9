"""Words and small facts shown for a presence: labels, activity text, icons, "since" times.

Plain functions, so templates (through ``presence_tags``) and the wall's script (through the
label tables rendered into the page) describe presence the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import quote

from comms_portal import times
from presence.store import PresenceState

# https://learn.microsoft.com/graph/api/resources/presence (availability values)
AVAILABILITY_LABELS: dict[str, str] = {
    "Available": "Available",
    "AvailableIdle": "Available, idle",
    "Away": "Away",
    "BeRightBack": "Be right back",
    "Busy": "Busy",
    "BusyIdle": "Busy, idle",
    "DoNotDisturb": "Do not disturb",
    "Offline": "Offline",
    "PresenceUnknown": "Status unknown",
}

# https://learn.microsoft.com/graph/api/resources/presence (activity values)
ACTIVITY_LABELS: dict[str, str] = {
    "Available": "Available",
    "Away": "Away",
    "BeRightBack": "Be right back",
    "Busy": "Busy",
    "DoNotDisturb": "Do not disturb",
    "InACall": "In a call",
    "InAConferenceCall": "In a conference call",
    "Inactive": "Inactive",
    "InAMeeting": "In a meeting",
    "Offline": "Offline",
    "OffWork": "Off work",
    "OutOfOffice": "Out of office",
    "PresenceUnknown": "Status unknown",
    "Presenting": "Presenting",
    "UrgentInterruptionsOnly": "Urgent interruptions only",
    "Focusing": "Focusing",
}

WORK_LOCATION_LABELS: dict[str, str] = {
    "office": "In the office",
    "remote": "Working remotely",
    "timeOff": "Time off",
}

UNKNOWN = "PresenceUnknown"

# Activities drawn with an icon of their own whatever the availability beside them (a call,
# a presentation, out of office), so the icon tells them apart from plain Busy or Away.
SHAPED_ACTIVITIES = ("InACall", "InAConferenceCall", "Presenting", "OutOfOffice")


def availability_label(availability: str | None) -> str:
    """Return the words for a Graph availability value."""
    if not availability:
        return AVAILABILITY_LABELS[UNKNOWN]
    return AVAILABILITY_LABELS.get(availability, availability)


def activity_label(availability: str | None, activity: str | None) -> str:
    """Return the words for an activity, or "" when it only repeats the availability."""
    if not activity or activity in (availability, UNKNOWN):
        return ""
    label = ACTIVITY_LABELS.get(activity, activity)
    # "Away" next to "Away" or "Busy" next to "Busy" says nothing new.
    if label == availability_label(availability):
        return ""
    return label


def availability_class(availability: str | None) -> str:
    """Return the CSS modifier of the presence badge for an availability."""
    return "presence-" + (availability or UNKNOWN).lower()


def presence_classes(availability: str | None, activity: str | None) -> str:
    """Return the CSS modifiers of a badge or icon: the availability's, and a shaped activity's."""
    classes = availability_class(availability)
    if activity in SHAPED_ACTIVITIES and activity != availability:
        classes += f" presence-{activity.lower()}"
    return classes


def work_location_label(work_location: str | None) -> str:
    """Return the words for Graph's workLocationType ("" when unknown or unspecified)."""
    return WORK_LOCATION_LABELS.get(work_location or "", "")


def since_text(epoch_seconds: float | None, zone: tzinfo, now: datetime | None = None) -> str:
    """Say when a status began, on the clock of ``zone``, and how long ago: "14:05 (25 min)"."""
    if not epoch_seconds:
        return ""
    current = now or datetime.now(UTC)
    moment = datetime.fromtimestamp(float(epoch_seconds), UTC)
    elapsed = times.elapsed_words(max(0.0, (current - moment).total_seconds()))
    return f"{times.clock_words(moment, zone, current)} ({elapsed})"


def epoch_to_iso(epoch_seconds: float | None) -> str:
    """Return an ISO 8601 UTC timestamp for epoch seconds ("" for none)."""
    if not epoch_seconds:
        return ""
    return datetime.fromtimestamp(float(epoch_seconds), UTC).isoformat(timespec="seconds")


def presence_payload(state: PresenceState | None, person_id: str) -> dict[str, Any]:
    """Return what a browser needs to draw one person's presence (unknown when None)."""
    if state is None:
        return {"person_id": person_id, "availability": UNKNOWN, "activity": UNKNOWN}
    return state.as_payload()


def label_tables() -> dict[str, dict[str, str]]:
    """Return the label tables the wall's script uses to draw pushed updates."""
    return {
        "availability": AVAILABILITY_LABELS,
        "activity": ACTIVITY_LABELS,
        "workLocation": WORK_LOCATION_LABELS,
        "shapedActivities": {activity: activity.lower() for activity in SHAPED_ACTIVITIES},
    }


# https://learn.microsoft.com/microsoftteams/platform/concepts/build-and-test/deep-link-workflow
# ("Deep link to start a new chat", "Deep link to start an audio-video call"): Teams takes
# people by their user principal name.
TEAMS_CHAT_URL = "https://teams.microsoft.com/l/chat/0/0?users={upn}"
TEAMS_CALL_URL = "https://teams.microsoft.com/l/call/0/0?users={upn}"
TEAMS_VIDEO_CALL_URL = "https://teams.microsoft.com/l/call/0/0?users={upn}&withVideo=true"


def teams_link(template: str, upn: str) -> str:
    """Return a Teams deep link for one person (``template`` is one of the TEAMS_* URLs)."""
    # "@" stays readable; anything that would end the value (&, #, spaces) is escaped.
    return template.format(upn=quote(upn, safe="@"))


def count_text(count: int, *, text: str, close: bool) -> str:
    """Describe how many people a wall shows or a search found, for the live count."""
    people = "1 person" if count == 1 else f"{count:,} people"
    if not text:
        return f"{people} shown." if count else "No one to show."
    if not count:
        return (
            f"No one matches “{text}”. Check the spelling, or search for a job title, "
            "department or e-mail address."
        )
    if close:
        match = "is a close match" if count == 1 else "are close matches"
        return f"No exact match for “{text}”; {people} {match}."
    return f"{people} {'matches' if count == 1 else 'match'}."
