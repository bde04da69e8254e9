"""Online meetings as the sandbox keeps them, their running calls and attendance reports.

https://learn.microsoft.com/graph/api/resources/onlinemeeting
https://learn.microsoft.com/graph/api/resources/meetingattendancereport
https://learn.microsoft.com/graph/api/resources/attendancerecord
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from sandbox.graph.odata_types import format_graph_datetime

LOBBY_SCOPES = (
    "organizer",
    "organization",
    "organizationAndFederated",
    "everyone",
    "invited",
    "organizationExcludingGuests",
)
ALLOWED_PRESENTERS = ("everyone", "organization", "roleIsPresenter", "organizer")
MEETING_CHAT = ("enabled", "disabled", "limited")
ROLES = ("attendee", "presenter", "producer", "coorganizer")
AUTO_ADMITTED = {
    "organizer": "OrganizerOnly",
    "organization": "EveryoneInCompany",
    "organizationAndFederated": "EveryoneInSameAndFederatedCompany",
    "everyone": "Everyone",
    "invited": "InvitedUsers",
    "organizationExcludingGuests": "EveryoneInCompanyExcludingGuests",
}


@dataclass
class Attendee:
    """An invited person: their object id, sign-in name and role."""

    user_id: str
    upn: str
    display_name: str
    role: str = "attendee"

    def to_graph(self, tenant_id: str) -> dict[str, Any]:
        return {
            "upn": self.upn,
            "role": self.role,
            "identity": {
                "user": {
                    "id": self.user_id,
                    "displayName": self.display_name,
                    "tenantId": tenant_id,
                    "identityProvider": "AAD",
                }
            },
        }


@dataclass
class Participant:
    """Someone in (or in the lobby of) a running meeting call."""

    participant_id: str
    user_id: str
    display_name: str
    in_lobby: bool
    joined_at: datetime


@dataclass
class AttendanceReport:
    """One meeting session's attendance: who was there, when."""

    id: str
    start: datetime
    end: datetime
    # user id -> (display name, upn, role, [(join, leave)])
    records: dict[str, tuple[str, str, str, list[tuple[datetime, datetime]]]]

    def to_graph(self, *, expand: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "totalParticipantCount": len(self.records),
            "meetingStartDateTime": format_graph_datetime(self.start),
            "meetingEndDateTime": format_graph_datetime(self.end),
            "attendanceRecords": self.records_json() if expand else [],
        }
        return body

    def records_json(self) -> list[dict[str, Any]]:
        records = []
        for user_id, (name, upn, role, intervals) in self.records.items():
            spans: list[dict[str, Any]] = [
                {
                    "joinDateTime": format_graph_datetime(joined),
                    "leaveDateTime": format_graph_datetime(left),
                    "durationInSeconds": int((left - joined).total_seconds()),
                }
                for joined, left in intervals
            ]
            records.append(
                {
                    "emailAddress": upn,
                    "totalAttendanceInSeconds": sum(int(s["durationInSeconds"]) for s in spans),
                    "role": role,
                    "identity": {"id": user_id, "displayName": name, "tenantId": None},
                    "attendanceIntervals": spans,
                }
            )
        return records


@dataclass
class Call:
    """A meeting's running call: who is in it, and everyone's time in it so far."""

    started_at: datetime
    participants: dict[str, Participant] = field(default_factory=dict)
    # user id -> closed (join, leave) intervals
    intervals: dict[str, list[tuple[datetime, datetime]]] = field(default_factory=dict)
    # Simulated plan: (when, user id, action) still to do, ``join``, ``leave`` or ``end``.
    plan: list[tuple[datetime, str, str]] = field(default_factory=list)

    def participant_of(self, user_id: str) -> Participant | None:
        for participant in self.participants.values():
            if participant.user_id == user_id:
                return participant
        return None


@dataclass
class Meeting:
    """One online meeting."""

    id: str
    tenant_id: str
    organizer_id: str
    organizer_upn: str
    organizer_name: str
    subject: str | None
    start: datetime
    end: datetime
    created_at: datetime
    thread_token: str
    join_meeting_id: str
    passcode: str | None
    video_teleconference_id: str
    external_id: str | None = None
    attendees: list[Attendee] = field(default_factory=list)
    lobby_scope: str = "organization"
    dial_in_bypass: bool = False
    allowed_presenters: str = "everyone"
    allow_meeting_chat: str = "enabled"
    is_entry_exit_announced: bool = True
    allow_attendee_camera: bool = True
    allow_teamwork_reactions: bool = True
    allow_attendee_mic: bool = True
    record_automatically: bool = False
    call: Call | None = None
    reports: list[AttendanceReport] = field(default_factory=list)
    # The meeting simulator plays this meeting out when its start comes.
    simulated: bool = False

    @property
    def thread_id(self) -> str:
        return f"19:meeting_{self.thread_token}@thread.v2"

    @property
    def join_web_url(self) -> str:
        context = quote(f'{{"Tid":"{self.tenant_id}","Oid":"{self.organizer_id}"}}', safe="")
        return (
            "https://teams.microsoft.com/l/meetup-join/"
            + quote(self.thread_id, safe="")
            + "/0?context="
            + context
        )

    def invites(self, user_id: str) -> bool:
        """Tell whether ``user_id`` organises or is invited to the meeting."""
        lowered = user_id.lower()
        return lowered == self.organizer_id.lower() or any(
            a.user_id.lower() == lowered for a in self.attendees
        )

    def role_of(self, user_id: str) -> str:
        if user_id == self.organizer_id:
            return "Organizer"
        for attendee in self.attendees:
            if attendee.user_id == user_id:
                return "Presenter" if attendee.role == "presenter" else "Attendee"
        return "Attendee"

    def to_graph(self) -> dict[str, Any]:
        """Return the meeting as Graph's onlineMeeting resource."""
        return {
            "@odata.type": "#microsoft.graph.onlineMeeting",
            "id": self.id,
            "creationDateTime": format_graph_datetime(self.created_at),
            "startDateTime": format_graph_datetime(self.start),
            "endDateTime": format_graph_datetime(self.end),
            "joinWebUrl": self.join_web_url,
            "subject": self.subject,
            "externalId": self.external_id,
            # Older properties the documented examples still show.
            "isBroadcast": False,
            "autoAdmittedUsers": AUTO_ADMITTED.get(self.lobby_scope, "EveryoneInCompany"),
            "isEntryExitAnnounced": self.is_entry_exit_announced,
            "allowedPresenters": self.allowed_presenters,
            "allowMeetingChat": self.allow_meeting_chat,
            "allowAttendeeToEnableCamera": self.allow_attendee_camera,
            "allowTeamworkReactions": self.allow_teamwork_reactions,
            "allowAttendeeToEnableMic": self.allow_attendee_mic,
            "recordAutomatically": self.record_automatically,
            "videoTeleconferenceId": self.video_teleconference_id,
            "participants": {
                "organizer": {
                    "upn": self.organizer_upn,
                    "role": "presenter",
                    "identity": {
                        "user": {
                            "id": self.organizer_id,
                            "displayName": self.organizer_name,
                            "tenantId": self.tenant_id,
                            "identityProvider": "AAD",
                        }
                    },
                },
                "attendees": [a.to_graph(self.tenant_id) for a in self.attendees],
                "producers": [],
                "contributors": [],
            },
            "lobbyBypassSettings": {
                "scope": self.lobby_scope,
                "isDialInBypassEnabled": self.dial_in_bypass,
            },
            "joinMeetingIdSettings": {
                "isPasscodeRequired": self.passcode is not None,
                "joinMeetingId": self.join_meeting_id,
                "passcode": self.passcode,
            },
            "audioConferencing": {
                "conferenceId": self.join_meeting_id[:9],
                "tollNumber": "+44 20 3855 0100",
                # Ofcom's range for drama keeps the demo numbers from reaching anyone.
                "tollFreeNumber": "+44 808 157 0100",
                "dialinUrl": "https://dialin.teams.microsoft.com/"
                f"{self.tenant_id}?id={self.join_meeting_id[:9]}",
            },
            "chatInfo": {"threadId": self.thread_id, "messageId": "0", "replyChainMessageId": "0"},
            "joinInformation": {
                "content": "data:text/html,"
                + quote(f'<a href="{self.join_web_url}">Join the meeting now</a>'),
                "contentType": "html",
            },
        }


def new_meeting_id(organizer_id: str, thread_token: str) -> str:
    """Return an id in Graph's form: base64 of the organizer and the meeting's thread."""
    raw = f"1*{organizer_id}*0**19:meeting_{thread_token}@thread.v2".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def new_thread_token() -> str:
    """Return the random part of a new meeting's chat thread id."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=").replace("-", "x")
