"""Online meetings: create, createOrGet, find, update, delete; attendance; call events."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from pydantic import Field

from comms_portal.graph.errors import InvalidResponse
from comms_portal.graph.http import GraphClient, GraphResponse, quote_segment
from comms_portal.graph.models import GraphModel, parse_model
from comms_portal.graph.paging import iter_items


class IdentityUser(GraphModel):
    """The user part of an identitySet."""

    # https://learn.microsoft.com/graph/api/resources/identity
    id: str | None = None
    display_name: str | None = Field(default=None, alias="displayName")


class IdentitySet(GraphModel):
    """Who someone is (only users matter to the portal)."""

    # https://learn.microsoft.com/graph/api/resources/identityset
    user: IdentityUser | None = None


class MeetingParticipantInfo(GraphModel):
    """An organizer or attendee of a meeting."""

    # https://learn.microsoft.com/graph/api/resources/meetingparticipantinfo
    identity: IdentitySet | None = None
    upn: str | None = None
    role: str | None = None

    @property
    def user_id(self) -> str | None:
        return self.identity.user.id if self.identity and self.identity.user else None


class MeetingParticipants(GraphModel):
    """The organizer and the attendees."""

    # https://learn.microsoft.com/graph/api/resources/meetingparticipants
    organizer: MeetingParticipantInfo | None = None
    attendees: list[MeetingParticipantInfo] = Field(default_factory=list)


class JoinMeetingIdSettings(GraphModel):
    """The meeting ID and passcode people type to join."""

    # https://learn.microsoft.com/graph/api/resources/joinmeetingidsettings
    join_meeting_id: str | None = Field(default=None, alias="joinMeetingId")
    passcode: str | None = None
    is_passcode_required: bool | None = Field(default=None, alias="isPasscodeRequired")


class LobbyBypassSettings(GraphModel):
    """Who skips the lobby."""

    # https://learn.microsoft.com/graph/api/resources/lobbybypasssettings
    scope: str | None = None
    is_dial_in_bypass_enabled: bool | None = Field(default=None, alias="isDialInBypassEnabled")


class OnlineMeeting(GraphModel):
    """A Teams online meeting."""

    # https://learn.microsoft.com/graph/api/resources/onlinemeeting
    id: str = Field(min_length=1)
    subject: str | None = None
    start_date_time: datetime = Field(alias="startDateTime")
    end_date_time: datetime = Field(alias="endDateTime")
    join_web_url: str = Field(alias="joinWebUrl", min_length=1)
    external_id: str | None = Field(default=None, alias="externalId")
    participants: MeetingParticipants | None = None
    join_meeting_id_settings: JoinMeetingIdSettings | None = Field(
        default=None, alias="joinMeetingIdSettings"
    )
    lobby_bypass_settings: LobbyBypassSettings | None = Field(
        default=None, alias="lobbyBypassSettings"
    )
    allowed_presenters: str | None = Field(default=None, alias="allowedPresenters")

    @property
    def organizer_id(self) -> str | None:
        return (
            self.participants.organizer.user_id
            if self.participants and (self.participants.organizer)
            else None
        )

    @property
    def attendee_ids(self) -> list[str]:
        if self.participants is None:
            return []
        return [a.user_id for a in self.participants.attendees if a.user_id]

    @property
    def join_meeting_id(self) -> str | None:
        settings = self.join_meeting_id_settings
        return settings.join_meeting_id if settings else None

    @property
    def passcode(self) -> str | None:
        settings = self.join_meeting_id_settings
        return settings.passcode if settings else None


class AttendanceInterval(GraphModel):
    """One stretch of time someone spent in a meeting."""

    # https://learn.microsoft.com/graph/api/resources/attendanceinterval
    join_date_time: datetime = Field(alias="joinDateTime")
    leave_date_time: datetime = Field(alias="leaveDateTime")
    duration_in_seconds: int = Field(alias="durationInSeconds", ge=0)


class AttendanceIdentity(GraphModel):
    id: str | None = None
    display_name: str | None = Field(default=None, alias="displayName")


class AttendanceRecord(GraphModel):
    """Someone's attendance of one meeting session."""

    # https://learn.microsoft.com/graph/api/resources/attendancerecord
    email_address: str | None = Field(default=None, alias="emailAddress")
    total_attendance_in_seconds: int = Field(default=0, alias="totalAttendanceInSeconds", ge=0)
    role: str | None = None
    identity: AttendanceIdentity | None = None
    attendance_intervals: list[AttendanceInterval] = Field(
        default_factory=list, alias="attendanceIntervals"
    )


class AttendanceReport(GraphModel):
    """One meeting session's attendance report."""

    # https://learn.microsoft.com/graph/api/resources/meetingattendancereport
    id: str = Field(min_length=1)
    total_participant_count: int = Field(default=0, alias="totalParticipantCount", ge=0)
    meeting_start_date_time: datetime = Field(alias="meetingStartDateTime")
    meeting_end_date_time: datetime = Field(alias="meetingEndDateTime")
    attendance_records: list[AttendanceRecord] = Field(
        default_factory=list, alias="attendanceRecords"
    )


class CallParticipant(GraphModel):
    """One roster change of a meeting call."""

    # https://learn.microsoft.com/graph/api/resources/participant
    id: str = Field(min_length=1)
    info: dict[str, Any] | None = None
    is_in_lobby: bool = Field(default=False, alias="isInLobby")
    removed_state: dict[str, Any] | None = Field(default=None, alias="removedState")

    @property
    def user(self) -> dict[str, Any]:
        identity = (self.info or {}).get("identity") or {}
        user = identity.get("user") if isinstance(identity, dict) else None
        return user if isinstance(user, dict) else {}

    @property
    def has_left(self) -> bool:
        return self.removed_state is not None


class CallEvent(GraphModel):
    """A meeting call event: callStarted, callEnded or rosterUpdated."""

    # https://learn.microsoft.com/graph/changenotifications-for-onlinemeeting
    event_type: str = Field(alias="eventType", min_length=1)
    event_date_time: datetime | None = Field(default=None, alias="eventDateTime")
    participants: list[CallParticipant] = Field(default_factory=list, alias="participants@delta")


def _meetings_path(user_id: str | None) -> str:
    return (
        "/me/onlineMeetings"
        if user_id is None
        else (f"/users/{quote_segment(user_id)}/onlineMeetings")
    )


def format_time(moment: datetime) -> str:
    """Write an aware time as Graph's UTC ISO form."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("Meeting times must be timezone-aware.")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def attendee_json(user_id: str, upn: str | None = None, role: str = "attendee") -> dict[str, Any]:
    """Return a meetingParticipantInfo for an attendee."""
    item: dict[str, Any] = {"identity": {"user": {"id": user_id}}, "role": role}
    if upn:
        item["upn"] = upn
    return item


def meeting_body(
    *,
    subject: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    attendees: list[dict[str, Any]] | None = None,
    passcode_required: bool | None = None,
    lobby_scope: str | None = None,
    allowed_presenters: str | None = None,
    external_id: str | None = None,
) -> dict[str, Any]:
    """Return the JSON of an onlineMeeting to create or change (only the given fields)."""
    body: dict[str, Any] = {}
    if subject is not None:
        body["subject"] = subject
    if (start is None) != (end is None):
        # Graph changes the times only when both come (onlinemeeting-update).
        raise ValueError("Give both start and end, or neither.")
    if start is not None and end is not None:
        body["startDateTime"] = format_time(start)
        body["endDateTime"] = format_time(end)
    if attendees is not None:
        body["participants"] = {"attendees": attendees}
    if passcode_required is not None:
        body["joinMeetingIdSettings"] = {"isPasscodeRequired": passcode_required}
    if lobby_scope is not None:
        body["lobbyBypassSettings"] = {"scope": lobby_scope}
    if allowed_presenters is not None:
        body["allowedPresenters"] = allowed_presenters
    if external_id is not None:
        body["externalId"] = external_id
    return body


def _meeting(document: object, response: GraphResponse) -> OnlineMeeting:
    return parse_model(
        OnlineMeeting,
        document,
        what="online meeting",
        request_id=response.request_id,
        client_request_id=response.client_request_id,
    )


def create_meeting(
    client: GraphClient, body: Mapping[str, Any], *, user_id: str | None = None
) -> OnlineMeeting:
    """Create a standalone meeting (not on anyone's calendar)."""
    # https://learn.microsoft.com/graph/api/application-post-onlinemeetings
    # Not retried on a timeout: a second POST would make a second meeting.
    response = client.post(_meetings_path(user_id), dict(body))
    return _meeting(response.json_object(), response)


def create_or_get_meeting(
    client: GraphClient, body: Mapping[str, Any], *, user_id: str | None = None
) -> tuple[OnlineMeeting, bool]:
    """Return the meeting with ``body``'s externalId, creating it if needed (True if made)."""
    # https://learn.microsoft.com/graph/api/onlinemeeting-createorget
    if not body.get("externalId"):
        raise ValueError("createOrGet needs an externalId.")
    # Safe to repeat: the externalId makes a second call return the same meeting.
    response = client.post(_meetings_path(user_id) + "/createOrGet", dict(body), retry_safe=True)
    return _meeting(response.json_object(), response), response.status == 201


def get_meeting(
    client: GraphClient, meeting_id: str, *, user_id: str | None = None
) -> OnlineMeeting:
    """Return one meeting by its id."""
    # https://learn.microsoft.com/graph/api/onlinemeeting-get
    response = client.send("GET", f"{_meetings_path(user_id)}/{quote_segment(meeting_id)}")
    return _meeting(response.json_object(), response)


def _find(client: GraphClient, text: str, user_id: str | None) -> OnlineMeeting | None:
    response = client.send("GET", _meetings_path(user_id), params={"$filter": text})
    document = response.json_object()
    value = document.get("value")
    if not isinstance(value, list):
        raise response.invalid("the meeting search has no 'value' list")
    return _meeting(value[0], response) if value else None


def find_by_join_url(
    client: GraphClient, join_web_url: str, *, user_id: str | None = None
) -> OnlineMeeting | None:
    """Return the meeting a join link opens, if the person may see it."""
    # https://learn.microsoft.com/graph/api/onlinemeeting-get ("the value must be URL-encoded")
    literal = quote(join_web_url, safe="").replace("'", "''")
    return _find(client, f"JoinWebUrl eq '{literal}'", user_id)


def find_by_join_meeting_id(
    client: GraphClient, join_meeting_id: str, *, user_id: str | None = None
) -> OnlineMeeting | None:
    """Return the meeting with this meeting ID (the digits people dial or type)."""
    # https://learn.microsoft.com/graph/api/onlinemeeting-get
    if not join_meeting_id.isdigit():
        raise ValueError("A meeting ID is digits only.")
    return _find(client, f"joinMeetingIdSettings/joinMeetingId eq '{join_meeting_id}'", user_id)


def update_meeting(
    client: GraphClient, meeting_id: str, body: Mapping[str, Any], *, user_id: str | None = None
) -> OnlineMeeting:
    """Change a meeting; Graph answers the whole meeting."""
    # https://learn.microsoft.com/graph/api/onlinemeeting-update
    response = client.send(
        "PATCH",
        f"{_meetings_path(user_id)}/{quote_segment(meeting_id)}",
        json_body=dict(body),
        retry_safe=True,
    )
    return _meeting(response.json_object(), response)


def delete_meeting(client: GraphClient, meeting_id: str, *, user_id: str | None = None) -> None:
    """Delete a meeting."""
    # https://learn.microsoft.com/graph/api/onlinemeeting-delete
    client.send("DELETE", f"{_meetings_path(user_id)}/{quote_segment(meeting_id)}")


def _report(document: object, response: GraphResponse) -> AttendanceReport:
    return parse_model(
        AttendanceReport,
        document,
        what="attendance report",
        request_id=response.request_id,
        client_request_id=response.client_request_id,
    )


def list_attendance_reports(
    client: GraphClient, meeting_id: str, *, user_id: str | None = None
) -> Iterator[AttendanceReport]:
    """Yield a meeting's attendance reports (one per session), without their records."""
    # https://learn.microsoft.com/graph/api/meetingattendancereport-list
    path = f"{_meetings_path(user_id)}/{quote_segment(meeting_id)}/attendanceReports"
    return iter_items(client, path, _report)


def get_attendance_report(
    client: GraphClient, meeting_id: str, report_id: str, *, user_id: str | None = None
) -> AttendanceReport:
    """Return one report with its attendance records."""
    # https://learn.microsoft.com/graph/api/meetingattendancereport-get
    path = (
        f"{_meetings_path(user_id)}/{quote_segment(meeting_id)}/attendanceReports/"
        f"{quote_segment(report_id)}"
    )
    response = client.send("GET", path, params={"$expand": "attendanceRecords"})
    return _report(response.json_object(), response)


def call_events_resource(join_web_url: str) -> str:
    """Return the subscription resource of a meeting's call events (beta)."""
    # https://learn.microsoft.com/graph/changenotifications-for-onlinemeeting
    return (
        "communications/onlineMeetings(joinWebUrl='"
        + quote(join_web_url, safe="")
        + "')/meetingCallEvents"
    )


def call_event_from_resource_data(document: Mapping[str, Any]) -> CallEvent:
    """Read a decrypted meeting call event; anything else raises InvalidResponse."""
    if str(document.get("@odata.type", "")).lower() != "#microsoft.graph.callevent":
        raise InvalidResponse(
            "The notification does not carry a callEvent.", code="invalidResponse"
        )
    return parse_model(CallEvent, document, what="meeting call event")
