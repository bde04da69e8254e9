"""The Graph permissions each portal feature needs, as Graph's documentation lists them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PermissionKind = Literal["delegated", "application"]


@dataclass(frozen=True)
class Permission:
    """One Graph permission and what the portal does with it."""

    name: str
    kind: PermissionKind
    purpose: str
    # Optional permissions unlock one extra path; the feature works without them.
    required: bool = True


@dataclass(frozen=True)
class DocLink:
    """A page of Graph's documentation, by its title."""

    title: str
    url: str


@dataclass(frozen=True)
class Feature:
    """A portal feature, the Graph pages that state its permissions, and the permissions."""

    key: str
    title: str
    docs: tuple[DocLink, ...]
    permissions: tuple[Permission, ...]


def _delegated(name: str, purpose: str, *, required: bool = True) -> Permission:
    return Permission(name, "delegated", purpose, required)


def _application(name: str, purpose: str, *, required: bool = True) -> Permission:
    return Permission(name, "application", purpose, required)


FEATURES: tuple[Feature, ...] = (
    Feature(
        key="directory",
        title="Sign-in and directory",
        docs=(
            DocLink("Get user", "https://learn.microsoft.com/graph/api/user-get"),
            DocLink("user: delta", "https://learn.microsoft.com/graph/api/user-delta"),
        ),
        permissions=(
            _delegated("User.Read", "Sign people in and read their own profile"),
            _application("User.Read.All", "Keep the people directory in sync"),
        ),
    ),
    Feature(
        key="presence",
        title="Presence",
        docs=(
            DocLink("Get presence", "https://learn.microsoft.com/graph/api/presence-get"),
            DocLink(
                "cloudCommunications: getPresencesByUserId",
                "https://learn.microsoft.com/graph/api/cloudcommunications-getpresencesbyuserid",
            ),
            DocLink(
                "presence: setPresence",
                "https://learn.microsoft.com/graph/api/presence-setpresence",
            ),
            DocLink("List users", "https://learn.microsoft.com/graph/api/user-list"),
        ),
        permissions=(
            _delegated("Presence.Read.All", "See and subscribe to colleagues' presence"),
            _delegated("Presence.ReadWrite", "Set a person's own status and message"),
            _delegated("User.ReadBasic.All", "List colleagues on the people wall"),
            _application("Presence.Read.All", "Poll presence in batches between notifications"),
            _application("User.Read.All", "Know whom to show on the people wall"),
        ),
    ),
    Feature(
        key="meetings",
        title="Online meetings",
        docs=(
            DocLink(
                "Create onlineMeeting",
                "https://learn.microsoft.com/graph/api/application-post-onlinemeetings",
            ),
            DocLink("Get onlineMeeting", "https://learn.microsoft.com/graph/api/onlinemeeting-get"),
        ),
        permissions=(
            _delegated("OnlineMeetings.ReadWrite", "Create, change and cancel a person's meetings"),
            _application(
                "OnlineMeetings.Read.All", "Read meetings in the background (with an access policy)"
            ),
        ),
    ),
    Feature(
        key="attendance",
        title="Attendance reports",
        docs=(
            DocLink(
                "List meetingAttendanceReports",
                "https://learn.microsoft.com/graph/api/meetingattendancereport-list",
            ),
        ),
        permissions=(
            _delegated("OnlineMeetingArtifact.Read.All", "Show organisers who attended"),
            _application(
                "OnlineMeetingArtifact.Read.All",
                "Collect reports after meetings end (with an access policy)",
            ),
        ),
    ),
    Feature(
        key="events",
        title="Webinars and town halls",
        docs=(
            DocLink(
                "Create virtualEventWebinar",
                "https://learn.microsoft.com/graph/api/virtualeventsroot-post-webinars",
            ),
            DocLink(
                "List webinars",
                "https://learn.microsoft.com/graph/api/virtualeventsroot-list-webinars",
            ),
        ),
        permissions=(
            _delegated("VirtualEvent.ReadWrite", "Plan, publish and cancel events"),
            _application("VirtualEvent.Read.All", "Follow events and registrations"),
        ),
    ),
    Feature(
        key="callrecords",
        title="Call records",
        docs=(
            DocLink(
                "Get callRecord", "https://learn.microsoft.com/graph/api/callrecords-callrecord-get"
            ),
            DocLink(
                "List callRecords",
                "https://learn.microsoft.com/graph/api/callrecords-cloudcommunications-list-callrecords",
            ),
        ),
        permissions=(_application("CallRecords.Read.All", "Read call quality and history"),),
    ),
    Feature(
        key="calls",
        title="Calls",
        docs=(
            DocLink("Create call", "https://learn.microsoft.com/graph/api/application-post-calls"),
        ),
        permissions=(
            _application("Calls.Initiate.All", "Place one-to-one calls"),
            _application("Calls.JoinGroupCall.All", "Join meetings and group calls"),
            _application("Calls.AccessMedia.All", "Play prompts and record responses"),
            _application(
                "Calls.JoinGroupCallAsGuest.All",
                "Join meetings as a guest instead of as the app",
                required=False,
            ),
        ),
    ),
    Feature(
        key="calldelegation",
        title="Call delegation",
        docs=(
            DocLink(
                "List delegates",
                "https://learn.microsoft.com/graph/api/callsettings-list-delegates"
                "?view=graph-rest-beta",
            ),
        ),
        permissions=(
            _delegated(
                "CallDelegation.Read", "Show a person's delegates and pass their callers on"
            ),
        ),
    ),
)
