"""Teams presence: reading it for one or many people, and setting one's own."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import Field

from comms_portal.graph.http import GraphClient, GraphResponse, quote_segment
from comms_portal.graph.models import DateTimeTimeZone, GraphModel, ItemBody, parse_model

# getPresencesByUserId takes at most this many ids per request.
MAX_IDS_PER_REQUEST = 650

# Pairs setPresence accepts (presence-setpresence, "Supported combinations").
SET_PRESENCE_COMBINATIONS = frozenset(
    {
        ("Available", "Available"),
        ("Busy", "InACall"),
        ("Busy", "InAConferenceCall"),
        ("Away", "Away"),
        ("DoNotDisturb", "Presenting"),
    }
)
# Pairs setUserPreferredPresence accepts (presence-setuserpreferredpresence).
PREFERRED_PRESENCE_COMBINATIONS = frozenset(
    {
        ("Available", "Available"),
        ("Busy", "Busy"),
        ("DoNotDisturb", "DoNotDisturb"),
        ("BeRightBack", "BeRightBack"),
        ("Away", "Away"),
        ("Offline", "OffWork"),
    }
)
WORK_LOCATION_TYPES = frozenset({"unspecified", "office", "remote", "timeOff"})
SESSION_EXPIRATION_RANGE = (timedelta(minutes=5), timedelta(hours=4))


class StatusMessage(GraphModel):
    """A person's note in Teams, with when it expires and was published."""

    # https://learn.microsoft.com/graph/api/resources/presencestatusmessage
    message: ItemBody | None = None
    # Both are left out when reading another person's presence.
    expiry_date_time: DateTimeTimeZone | None = Field(default=None, alias="expiryDateTime")
    published_date_time: datetime | None = Field(default=None, alias="publishedDateTime")


class OutOfOfficeSettings(GraphModel):
    """Whether a person is out of office, and their automatic reply."""

    # https://learn.microsoft.com/graph/api/resources/outofofficesettings
    message: str | None = None
    is_out_of_office: bool | None = Field(default=None, alias="isOutOfOffice")


class WorkLocation(GraphModel):
    """Where a person works today: office, remote, time off."""

    # https://learn.microsoft.com/graph/api/resources/userworklocation
    work_location_type: str | None = Field(default=None, alias="workLocationType")
    source: str | None = None
    place_id: str | None = Field(default=None, alias="placeId")


class Presence(GraphModel):
    """A person's availability and activity in Teams."""

    # https://learn.microsoft.com/graph/api/resources/presence
    id: str
    availability: str
    activity: str
    status_message: StatusMessage | None = Field(default=None, alias="statusMessage")
    out_of_office_settings: OutOfOfficeSettings | None = Field(
        default=None, alias="outOfOfficeSettings"
    )
    work_location: WorkLocation | None = Field(default=None, alias="workLocation")
    # Lexicographically sortable version stamp: a lower one is an older state.
    sequence_number: str | None = Field(default=None, alias="sequenceNumber")


def presence_from_resource_data(document: Mapping[str, Any]) -> Presence:
    """Type a presence taken from a decrypted change notification."""
    return parse_model(Presence, document, what="presence in a change notification")


def _presence(document: object, response: GraphResponse) -> Presence:
    return parse_model(
        Presence,
        document,
        what="presence",
        request_id=response.request_id,
        client_request_id=response.client_request_id,
    )


def _single_presence(response: GraphResponse) -> Presence:
    document = response.json_object()
    # One documented example wraps a single presence in "value"; accept both shapes.
    wrapped = document.get("value")
    if "id" not in document and isinstance(wrapped, list):
        if len(wrapped) != 1:
            raise response.invalid("expected exactly one presence in 'value'")
        return _presence(wrapped[0], response)
    return _presence(document, response)


def get_my_presence(client: GraphClient) -> Presence:
    """Return the signed-in person's presence."""
    # https://learn.microsoft.com/graph/api/presence-get
    return _single_presence(client.send("GET", "/me/presence"))


def get_presence(client: GraphClient, user_id: str) -> Presence:
    """Return one person's presence."""
    # https://learn.microsoft.com/graph/api/presence-get
    return _single_presence(client.send("GET", f"/users/{quote_segment(user_id)}/presence"))


def get_presences_by_user_id(client: GraphClient, user_ids: Sequence[str]) -> list[Presence]:
    """Return the presence of many people, asking 650 at a time."""
    # https://learn.microsoft.com/graph/api/cloudcommunications-getpresencesbyuserid
    if isinstance(user_ids, str):
        raise TypeError("user_ids must be a sequence of ids, not one string.")
    unique: list[str] = []
    seen: set[str] = set()
    for user_id in user_ids:
        if not isinstance(user_id, str) or not user_id.strip():
            raise ValueError(f"Every user id must be a non-empty string; got {user_id!r}.")
        if user_id not in seen:
            seen.add(user_id)
            unique.append(user_id)
    presences: list[Presence] = []
    for start in range(0, len(unique), MAX_IDS_PER_REQUEST):
        chunk = unique[start : start + MAX_IDS_PER_REQUEST]
        # A read, although sent as POST: safe to repeat after a gateway timeout.
        response = client.post(
            "/communications/getPresencesByUserId", {"ids": chunk}, retry_safe=True
        )
        values = response.json_object().get("value")
        if not isinstance(values, list):
            raise response.invalid("getPresencesByUserId returned no 'value' list")
        presences.extend(_presence(item, response) for item in values)
    return presences


def _iso_duration(duration: timedelta) -> str:
    total_minutes, seconds = divmod(int(duration.total_seconds()), 60)
    hours, minutes = divmod(total_minutes, 60)
    text = "PT"
    if hours:
        text += f"{hours}H"
    if minutes:
        text += f"{minutes}M"
    if seconds or text == "PT":
        text += f"{seconds}S"
    return text


def _check_pair(
    availability: str, activity: str, allowed: frozenset[tuple[str, str]], operation: str
) -> None:
    if (availability, activity) not in allowed:
        choices = ", ".join(f"{a}/{b}" for a, b in sorted(allowed))
        raise ValueError(
            f"{operation} does not accept {availability}/{activity}; use one of: {choices}."
        )


def set_presence(
    client: GraphClient,
    user_id: str,
    *,
    session_id: str,
    availability: str,
    activity: str,
    expiration: timedelta | None = None,
) -> None:
    """Set the presence of this application's session for a person."""
    # https://learn.microsoft.com/graph/api/presence-setpresence
    _check_pair(availability, activity, SET_PRESENCE_COMBINATIONS, "setPresence")
    if not session_id.strip():
        raise ValueError("session_id must be the application's client id.")
    body: dict[str, str] = {
        "sessionId": session_id,
        "availability": availability,
        "activity": activity,
    }
    if expiration is not None:
        low, high = SESSION_EXPIRATION_RANGE
        if not low <= expiration <= high:
            raise ValueError("expiration must be between 5 minutes and 4 hours.")
        body["expirationDuration"] = _iso_duration(expiration)
    client.post(f"/users/{quote_segment(user_id)}/presence/setPresence", body)


def clear_presence(client: GraphClient, user_id: str, *, session_id: str) -> None:
    """End this application's presence session for a person."""
    # https://learn.microsoft.com/graph/api/presence-clearpresence
    if not session_id.strip():
        raise ValueError("session_id must be the application's client id.")
    client.post(
        f"/users/{quote_segment(user_id)}/presence/clearPresence", {"sessionId": session_id}
    )


def set_user_preferred_presence(
    client: GraphClient,
    user_id: str,
    *,
    availability: str,
    activity: str,
    expiration: timedelta | None = None,
) -> None:
    """Set the presence a person chose for themselves, overriding their sessions."""
    # https://learn.microsoft.com/graph/api/presence-setuserpreferredpresence
    _check_pair(availability, activity, PREFERRED_PRESENCE_COMBINATIONS, "setUserPreferredPresence")
    body = {"availability": availability, "activity": activity}
    if expiration is not None:
        if expiration <= timedelta(0):
            raise ValueError("expiration must be a positive duration.")
        body["expirationDuration"] = _iso_duration(expiration)
    client.post(f"/users/{quote_segment(user_id)}/presence/setUserPreferredPresence", body)


def clear_user_preferred_presence(client: GraphClient, user_id: str) -> None:
    """Remove the presence a person chose for themselves."""
    # https://learn.microsoft.com/graph/api/presence-clearuserpreferredpresence
    # The page asks for an empty JSON object; its example sends none. {} satisfies both.
    client.post(f"/users/{quote_segment(user_id)}/presence/clearUserPreferredPresence", {})


def set_status_message(
    client: GraphClient, user_id: str, *, message: str, expiry: datetime | None = None
) -> None:
    """Set a person's status message, optionally until ``expiry`` (a timezone-aware time)."""
    # https://learn.microsoft.com/graph/api/presence-setstatusmessage
    status: dict[str, Any] = {"message": {"content": message, "contentType": "text"}}
    if expiry is not None:
        if expiry.tzinfo is None or expiry.utcoffset() is None:
            raise ValueError("expiry must be timezone-aware.")
        # Graph's dateTime carries no offset; the time zone travels beside it.
        in_utc = expiry.astimezone(UTC).replace(tzinfo=None)
        status["expiryDateTime"] = {"dateTime": in_utc.isoformat(), "timeZone": "UTC"}
    client.post(
        f"/users/{quote_segment(user_id)}/presence/setStatusMessage", {"statusMessage": status}
    )


def set_manual_location(
    client: GraphClient, *, work_location_type: str, place_id: str | None = None
) -> None:
    """Set the signed-in person's work location for today, overriding detected ones."""
    # https://learn.microsoft.com/graph/api/presence-setmanuallocation
    if work_location_type not in WORK_LOCATION_TYPES:
        raise ValueError(
            f"work_location_type must be one of {sorted(WORK_LOCATION_TYPES)}; "
            f"got {work_location_type!r}."
        )
    body = {"workLocationType": work_location_type}
    if place_id is not None:
        body["placeId"] = place_id
    client.post("/me/presence/setManualLocation", body)


def clear_location(client: GraphClient) -> None:
    """Clear the signed-in person's manual and automatic work location for today."""
    # https://learn.microsoft.com/graph/api/presence-clearlocation
    client.send("POST", "/me/presence/clearLocation")
