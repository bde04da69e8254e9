"""One person's presence: sessions, preferred presence, status, out of office, work location.

How the shown presence is derived follows Graph's documentation:
https://learn.microsoft.com/graph/cloud-communications-manage-presence-state

* Every Teams client and every app that called setPresence holds a session; sessions expire,
  and an app's ``Available`` session fades to ``Available/AvailableInactive`` after five
  minutes and to ``Away/Away`` five minutes later.
* With no live session the person is ``Offline``, whatever their preferred presence says.
* Otherwise a preferred presence wins over every session; among sessions
  DoNotDisturb > Busy > Available > (BeRightBack) > Away.
* Work location: manual > automatic; both layers last for the current (UTC) day.

All times are sandbox-clock timestamps (seconds since the epoch).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.graph.odata_types import format_graph_datetime
from sandbox.presence.values import FADE_STEP_SECONDS, format_sequence, format_utc_local

# Precedence among sessions; BeRightBack is not in the documented list and sits with Away's
# neighbours, above Away because the person said they are coming back.
_RANK = {"DoNotDisturb": 5, "Busy": 4, "Available": 3, "BeRightBack": 2, "Away": 1}
# What Graph shows as the expiry of a status message that never expires.
NEVER_EXPIRES = "9999-12-30T23:59:59.9999999"


@dataclass
class Session:
    """A presence session: a Teams client's (no expiry) or an app's (setPresence)."""

    availability: str
    activity: str
    set_at: float
    expires_at: float | None  # None for a Teams client, which lasts until it signs out

    @property
    def fades(self) -> bool:
        """Tell whether this is an app's Available session, which times out in stages."""
        return self.expires_at is not None and (self.availability, self.activity) == (
            "Available",
            "Available",
        )

    def state_at(self, now: float) -> tuple[str, str]:
        """Return the session's (availability, activity) at ``now``, fading included."""
        if self.fades:
            idle = now - self.set_at
            if idle >= 2 * FADE_STEP_SECONDS:
                return "Away", "Away"
            if idle >= FADE_STEP_SECONDS:
                return "Available", "AvailableInactive"
        return self.availability, self.activity

    def change_times(self) -> list[float]:
        """Return the moments at which this session changes by itself."""
        times = [] if self.expires_at is None else [self.expires_at]
        if self.fades:
            times += [self.set_at + FADE_STEP_SECONDS, self.set_at + 2 * FADE_STEP_SECONDS]
        return times


@dataclass(frozen=True)
class Preferred:
    """The user's preferred presence (setUserPreferredPresence)."""

    availability: str
    activity: str
    expires_at: float


@dataclass(frozen=True)
class StatusMessage:
    """A status message with its optional expiry and the moment it was published."""

    content: str
    content_type: str
    expires_at: float | None
    published_at: float


@dataclass(frozen=True)
class LocationSignal:
    """One work-location layer (manual or automatic), valid until ``expires_at``."""

    work_location_type: str
    place_id: str | None
    expires_at: float


@dataclass(frozen=True)
class PresenceView:
    """What a reader sees; two equal views mean nothing visible changed."""

    availability: str
    activity: str
    status: StatusMessage | None
    is_out_of_office: bool
    out_of_office_message: str | None
    work_location_type: str
    work_location_source: str
    place_id: str | None


@dataclass
class PersonPresence:
    """Everything that makes up one person's presence."""

    user_id: str
    teams: Session | None = None
    app_sessions: dict[str, Session] = field(default_factory=dict)
    preferred: Preferred | None = None
    status: StatusMessage | None = None
    is_out_of_office: bool = False
    out_of_office_message: str | None = None
    manual_location: LocationSignal | None = None
    automatic_location: LocationSignal | None = None
    sequence: int = 0
    view: PresenceView | None = None
    # When the store should look at this person again (a fade, an expiry), if ever.
    due_at: float | None = None
    # The sandbox time of the last visible change, for "since" displays in the control API.
    changed_at: float = 0.0


def end_of_day(now: float) -> float:
    """Return the timestamp of the next UTC midnight after ``now``."""
    moment = datetime.fromtimestamp(now, tz=UTC)
    midnight = datetime(moment.year, moment.month, moment.day, tzinfo=UTC) + timedelta(days=1)
    return midnight.timestamp()


def drop_expired(person: PersonPresence, now: float) -> None:
    """Forget sessions, preferences, messages and locations whose time has passed."""
    for session_id in [
        key
        for key, session in person.app_sessions.items()
        if session.expires_at is not None and session.expires_at <= now
    ]:
        del person.app_sessions[session_id]
    if person.preferred is not None and person.preferred.expires_at <= now:
        person.preferred = None
    if (
        person.status is not None
        and person.status.expires_at is not None
        and person.status.expires_at <= now
    ):
        person.status = None
    if person.manual_location is not None and person.manual_location.expires_at <= now:
        person.manual_location = None
    if person.automatic_location is not None and person.automatic_location.expires_at <= now:
        person.automatic_location = None


def live_sessions(person: PersonPresence) -> list[Session]:
    """Return the Teams client session (if signed in) and the apps' sessions."""
    sessions = list(person.app_sessions.values())
    if person.teams is not None:
        sessions.append(person.teams)
    return sessions


def aggregate(person: PersonPresence, now: float) -> PresenceView:
    """Return what readers see at ``now`` (call :func:`drop_expired` first)."""
    sessions = live_sessions(person)
    if not sessions:
        availability = "Offline"
        activity = "OutOfOffice" if person.is_out_of_office else "Offline"
    elif person.preferred is not None:
        availability, activity = person.preferred.availability, person.preferred.activity
    else:

        def precedence(session: Session) -> tuple[int, bool, float]:
            shown_availability, shown_activity = session.state_at(now)
            fresh = shown_activity != "AvailableInactive"
            return _RANK.get(shown_availability, 0), fresh, session.set_at

        availability, activity = max(sessions, key=precedence).state_at(now)
    if person.is_out_of_office and activity == "Available":
        activity = "OutOfOffice"  # "Available, out of office" in the documented permutations
    location = person.manual_location or person.automatic_location
    if location is None:
        location_type, source, place_id = "unspecified", "none", None
    else:
        location_type, place_id = location.work_location_type, location.place_id
        source = "manual" if location is person.manual_location else "automatic"
    return PresenceView(
        availability=availability,
        activity=activity,
        status=person.status,
        is_out_of_office=person.is_out_of_office,
        out_of_office_message=person.out_of_office_message,
        work_location_type=location_type,
        work_location_source=source,
        place_id=place_id,
    )


def next_due(person: PersonPresence, now: float) -> float | None:
    """Return the next moment after ``now`` at which the person's presence changes by itself."""
    times: list[float] = []
    for session in live_sessions(person):
        times += session.change_times()
    if person.preferred is not None:
        times.append(person.preferred.expires_at)
    if person.status is not None and person.status.expires_at is not None:
        times.append(person.status.expires_at)
    for signal in (person.manual_location, person.automatic_location):
        if signal is not None:
            times.append(signal.expires_at)
    future = [moment for moment in times if moment > now]
    return min(future) if future else None


def status_message_json(status: StatusMessage | None, *, owner: bool) -> dict[str, Any] | None:
    """Return ``presenceStatusMessage``; expiry and publish times only for the owner."""
    if status is None:
        return None
    body: dict[str, Any] = {
        "message": {"content": status.content, "contentType": status.content_type}
    }
    # https://learn.microsoft.com/graph/api/presence-setstatusmessage (example 3): other
    # readers do not get expiryDateTime and publishedDateTime.
    if owner:
        expiry = (
            NEVER_EXPIRES
            if status.expires_at is None
            else format_utc_local(datetime.fromtimestamp(status.expires_at, tz=UTC))
        )
        body["expiryDateTime"] = {"dateTime": expiry, "timeZone": "UTC"}
        body["publishedDateTime"] = format_graph_datetime(
            datetime.fromtimestamp(status.published_at, tz=UTC)
        )
    return body


def presence_json(person: PersonPresence, *, owner: bool) -> dict[str, Any]:
    """Return the presence resource as Graph serializes it (v1.0 and beta alike)."""
    view = person.view
    assert view is not None, "the store settles every person before it is read"
    return {
        "id": person.user_id,
        "availability": view.availability,
        "activity": view.activity,
        "statusMessage": status_message_json(view.status, owner=owner),
        "outOfOfficeSettings": {
            "message": view.out_of_office_message,
            "isOutOfOffice": view.is_out_of_office,
        },
        "workLocation": {
            "workLocationType": view.work_location_type,
            "source": view.work_location_source,
            "placeId": view.place_id,
        },
        "sequenceNumber": format_sequence(person.sequence),
    }
