"""Meeting call events: the subscription resource's form and the notifications sent on it.

https://learn.microsoft.com/graph/changenotifications-for-onlinemeeting
``communications/onlineMeetings(joinWebUrl='{url-encoded joinWebUrl}')/meetingCallEvents``,
beta only, ``updated`` only, application permissions only (OnlineMeetings.Read.All or
OnlineMeetings.ReadWrite.All, with an application access policy for the organizer), at most
4,320 minutes, one subscription per application per meeting. Rich notifications carry a
``#microsoft.graph.callevent``: ``callStarted``, ``callEnded`` or ``rosterUpdated`` with
``participants@delta``.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from sandbox.graph.odata_types import format_graph_datetime
from sandbox.notifications import hub_of, publish

if TYPE_CHECKING:
    from sandbox.meetings.model import Meeting
    from sandbox.state import SandboxState

RESOURCE_NAME = "onlineMeetingCallEvents"
MAX_MINUTES = 4320
RESOURCE_PATTERN = r"communications/onlineMeetings\(joinWebUrl='[^']+'\)/meetingCallEvents"
_JOIN_URL = re.compile(r"joinWebUrl='(?P<url>[^']+)'", re.IGNORECASE)


def join_url_of(resource: str) -> str | None:
    """Return the (decoded) joinWebUrl a call-events resource names, or None."""
    match = _JOIN_URL.search(resource)
    return unquote(match.group("url")) if match else None


def same_join_url(one: str, other: str) -> bool:
    """Compare two joinWebUrls, whatever their percent-encoding."""
    return unquote(one).lower() == unquote(other).lower()


def call_events_resource(join_web_url: str) -> str:
    """Return the subscription resource of a meeting's call events."""
    return f"communications/onlineMeetings(joinWebUrl='{quote(join_web_url, safe='')}')" + (
        "/meetingCallEvents"
    )


def publish_call_event(
    state: SandboxState,
    meeting: Meeting,
    event_type: str,
    when: datetime,
    participants: list[dict[str, Any]] | None = None,
) -> int:
    """Notify every subscription on the meeting's call events; return how many were queued."""
    resources = {
        subscription.resource
        for subscription in hub_of(state).subscriptions.all()
        if subscription.resource_kind == RESOURCE_NAME
        and same_join_url(join_url_of(subscription.resource) or "", meeting.join_web_url)
    }
    queued = 0
    for resource in resources:
        odata_id = resource.lstrip("/")
        notification_id = str(uuid.uuid4())
        stub = {
            "@odata.id": odata_id,
            "@odata.type": "#microsoft.graph.callevent",
            "id": notification_id,
        }
        rich: dict[str, Any] = {
            **stub,
            "eventType": event_type,
            "eventDateTime": format_graph_datetime(when),
        }
        if participants is not None:
            rich["participants@delta"] = participants
        queued += publish(state, resource, "updated", stub, rich_payload=rich)
    return queued
