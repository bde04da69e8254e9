"""Call records: list them, read one whole (every page of sessions and participants), PSTN logs.

https://learn.microsoft.com/graph/api/resources/callrecords-api-overview
Application permission only (``CallRecords.Read.All``). Records carry no media, only metadata
and quality figures. Enumerations are kept as Graph's text, so ``unknownFutureValue`` and
members added later pass through unharmed; every part Graph may leave out is optional.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import Field

from comms_portal.graph.errors import InvalidResponse
from comms_portal.graph.http import GraphClient, GraphResponse, quote_segment
from comms_portal.graph.models import GraphModel, parse_model
from comms_portal.graph.paging import iter_pages

# Graph's list answers 60 records a page unless asked for more with Prefer (list-callrecords).
LIST_PAGE_SIZE = 60
# getPstnCalls and getDirectRoutingCalls accept ranges of at most 90 days.
LOG_MAX_DAYS = 90


class Identity(GraphModel):
    """Someone's id and name inside an identity set."""

    # https://learn.microsoft.com/graph/api/resources/identity
    id: str | None = None
    display_name: str | None = Field(default=None, alias="displayName")
    user_principal_name: str | None = Field(default=None, alias="userPrincipalName")


class IdentitySet(GraphModel):
    """Who an identity set names: a user, a guest, a phone, an application..."""

    # https://learn.microsoft.com/graph/api/resources/identityset
    user: Identity | None = None
    guest: Identity | None = None
    phone: Identity | None = None
    application: Identity | None = None

    def main(self) -> Identity | None:
        """Return the identity that says who this is."""
        return self.user or self.guest or self.phone or self.application


class Participant(GraphModel):
    """One participant of a call record (participants_v2, organizer_v2)."""

    # https://learn.microsoft.com/graph/api/resources/callrecords-participant
    id: str
    identity: IdentitySet | None = None


class UserAgent(GraphModel):
    """An endpoint's client: platform and product family (or a service's role)."""

    # https://learn.microsoft.com/graph/api/resources/callrecords-clientuseragent
    header_value: str | None = Field(default=None, alias="headerValue")
    platform: str | None = None
    product_family: str | None = Field(default=None, alias="productFamily")
    role: str | None = None


class Feedback(GraphModel):
    """The rating a person gave after the call."""

    rating: str | None = None


class Endpoint(GraphModel):
    """A session's caller or callee: a person's client, or a service."""

    # https://learn.microsoft.com/graph/api/resources/callrecords-endpoint
    odata_type: str | None = Field(default=None, alias="@odata.type")
    name: str | None = None
    user_agent: UserAgent | None = Field(default=None, alias="userAgent")
    associated_identity: Identity | None = Field(default=None, alias="associatedIdentity")
    feedback: Feedback | None = None

    @property
    def is_service(self) -> bool:
        return (self.odata_type or "").lower().endswith("serviceendpoint")


class NetworkInfo(GraphModel):
    """The network an endpoint used for a media stream."""

    # https://learn.microsoft.com/graph/api/resources/callrecords-networkinfo
    connection_type: str | None = Field(default=None, alias="connectionType")
    wifi_band: str | None = Field(default=None, alias="wifiBand")
    wifi_signal_strength: int | None = Field(default=None, alias="wifiSignalStrength")
    subnet: str | None = None
    ip_address: str | None = Field(default=None, alias="ipAddress")
    link_speed: int | None = Field(default=None, alias="linkSpeed")
    bandwidth_low_event_ratio: float | None = Field(default=None, alias="bandwidthLowEventRatio")


class DeviceInfo(GraphModel):
    """The audio devices an endpoint used, and how they behaved."""

    # https://learn.microsoft.com/graph/api/resources/callrecords-deviceinfo
    capture_device_name: str | None = Field(default=None, alias="captureDeviceName")
    render_device_name: str | None = Field(default=None, alias="renderDeviceName")
    mic_glitch_rate: int | None = Field(default=None, alias="micGlitchRate")
    speaker_glitch_rate: int | None = Field(default=None, alias="speakerGlitchRate")
    device_glitch_event_ratio: float | None = Field(default=None, alias="deviceGlitchEventRatio")
    capture_not_functioning_event_ratio: float | None = Field(
        default=None, alias="captureNotFunctioningEventRatio"
    )


class MediaStream(GraphModel):
    """One direction of one medium, with its quality figures."""

    # https://learn.microsoft.com/graph/api/resources/callrecords-mediastream
    stream_id: str | None = Field(default=None, alias="streamId")
    stream_direction: str | None = Field(default=None, alias="streamDirection")
    average_audio_degradation: float | None = Field(default=None, alias="averageAudioDegradation")
    average_jitter: timedelta | None = Field(default=None, alias="averageJitter")
    max_jitter: timedelta | None = Field(default=None, alias="maxJitter")
    average_packet_loss_rate: float | None = Field(default=None, alias="averagePacketLossRate")
    max_packet_loss_rate: float | None = Field(default=None, alias="maxPacketLossRate")
    average_round_trip_time: timedelta | None = Field(default=None, alias="averageRoundTripTime")
    max_round_trip_time: timedelta | None = Field(default=None, alias="maxRoundTripTime")
    average_ratio_of_concealed_samples: float | None = Field(
        default=None, alias="averageRatioOfConcealedSamples"
    )
    packet_utilization: int | None = Field(default=None, alias="packetUtilization")
    average_video_frame_rate: float | None = Field(default=None, alias="averageVideoFrameRate")
    average_video_frame_loss_percentage: float | None = Field(
        default=None, alias="averageVideoFrameLossPercentage"
    )
    post_fec_packet_loss_rate: float | None = Field(
        default=None, alias="postForwardErrorCorrectionPacketLossRate"
    )
    average_freeze_duration: timedelta | None = Field(default=None, alias="averageFreezeDuration")


class Media(GraphModel):
    """One medium of a segment (audio, video, screen sharing) and both ends' conditions."""

    # https://learn.microsoft.com/graph/api/resources/callrecords-media
    label: str | None = None
    caller_network: NetworkInfo | None = Field(default=None, alias="callerNetwork")
    callee_network: NetworkInfo | None = Field(default=None, alias="calleeNetwork")
    caller_device: DeviceInfo | None = Field(default=None, alias="callerDevice")
    callee_device: DeviceInfo | None = Field(default=None, alias="calleeDevice")
    streams: list[MediaStream] = Field(default_factory=list)


class Segment(GraphModel):
    """A stretch of a session between two endpoints."""

    # https://learn.microsoft.com/graph/api/resources/callrecords-segment
    id: str
    start_date_time: datetime = Field(alias="startDateTime")
    end_date_time: datetime = Field(alias="endDateTime")
    caller: Endpoint | None = None
    callee: Endpoint | None = None
    media: list[Media] = Field(default_factory=list)


class Session(GraphModel):
    """A person's (or a service's) connection to the call."""

    # https://learn.microsoft.com/graph/api/resources/callrecords-session
    id: str
    modalities: list[str] = Field(default_factory=list)
    start_date_time: datetime = Field(alias="startDateTime")
    end_date_time: datetime = Field(alias="endDateTime")
    caller: Endpoint | None = None
    callee: Endpoint | None = None
    segments: list[Segment] = Field(default_factory=list)


class CallRecord(GraphModel):
    """A call or meeting as Teams recorded it, with every session and participant."""

    # https://learn.microsoft.com/graph/api/resources/callrecords-callrecord
    id: str
    version: int
    type: str | None = None
    modalities: list[str] = Field(default_factory=list)
    start_date_time: datetime = Field(alias="startDateTime")
    end_date_time: datetime = Field(alias="endDateTime")
    last_modified_date_time: datetime | None = Field(default=None, alias="lastModifiedDateTime")
    join_web_url: str | None = Field(default=None, alias="joinWebUrl")
    organizer_v2: Participant | None = None
    participants_v2: list[Participant] = Field(default_factory=list)
    sessions: list[Session] = Field(default_factory=list)


class ListedRecord(GraphModel):
    """A record as the list answers it: enough to know whether to read it whole."""

    id: str
    version: int
    start_date_time: datetime = Field(alias="startDateTime")


class PstnCall(GraphModel):
    """One row of getPstnCalls or getDirectRoutingCalls."""

    # https://learn.microsoft.com/graph/api/resources/callrecords-pstncalllogrow
    # https://learn.microsoft.com/graph/api/resources/callrecords-directroutinglogrow
    id: str
    user_id: str | None = Field(default=None, alias="userId")
    user_principal_name: str | None = Field(default=None, alias="userPrincipalName")
    user_display_name: str | None = Field(default=None, alias="userDisplayName")
    start_date_time: datetime = Field(alias="startDateTime")
    end_date_time: datetime | None = Field(default=None, alias="endDateTime")
    duration: int | None = None
    call_type: str | None = Field(default=None, alias="callType")
    charge: float | None = None
    currency: str | None = None
    destination_name: str | None = Field(default=None, alias="destinationName")
    successful_call: bool | None = Field(default=None, alias="successfulCall")


def _parse(model: type[Any], document: object, response: GraphResponse, what: str) -> Any:
    return parse_model(
        model,
        document,
        what=what,
        request_id=response.request_id,
        client_request_id=response.client_request_id,
    )


def _utc(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("call-record times must be aware datetimes")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def list_call_records(
    client: GraphClient,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    participant_id: str | None = None,
    page_size: int | None = None,
) -> Iterator[ListedRecord]:
    """Yield the records that started in ``[since, until)``, page by page."""
    # https://learn.microsoft.com/graph/api/callrecords-cloudcommunications-list-callrecords
    clauses = []
    if since is not None:
        clauses.append(f"startDateTime ge {_utc(since)}")
    if until is not None:
        clauses.append(f"startDateTime lt {_utc(until)}")
    if participant_id is not None:
        clauses.append(f"participants_v2/any(p:p/id eq '{participant_id}')")
    params = {"$filter": " and ".join(clauses)} if clauses else None
    headers = {"Prefer": f"odata.maxpagesize={page_size}"} if page_size else None
    for page in iter_pages(client, "communications/callRecords", params=params, headers=headers):
        for item in page.items:
            yield _parse(ListedRecord, item, page.response, "call record")


def _follow(client: GraphClient, link: str | None, response: GraphResponse) -> Iterator[object]:
    """Yield every item of the pages a nextLink leads to."""
    if link is None:
        return
    if not client.is_own_origin(link):
        raise response.invalid("a nextLink points at another host")
    for page in iter_pages(client, link):
        yield from page.items


def get_call_record(client: GraphClient, record_id: str) -> CallRecord:
    """Read a record whole: every session with its segments, and every participant.

    Graph pages sessions (60) and participants (130) inside the record, each with its own
    nextLink; both expansions cannot share one request, so the record is read twice.
    A record older than 30 days (or not yet written) raises NotFound.
    """
    # https://learn.microsoft.com/graph/api/callrecords-callrecord-get
    path = f"communications/callRecords/{quote_segment(record_id)}"
    response = client.send("GET", path, params={"$expand": "sessions($expand=segments)"})
    document = response.json_object()
    sessions = document.get("sessions") or []
    if not isinstance(sessions, list):
        raise response.invalid("sessions is not a list")
    sessions = sessions + list(_follow(client, document.get("sessions@odata.nextLink"), response))
    people = client.send("GET", path, params={"$expand": "participants_v2"})
    listed = people.json_object()
    participants = listed.get("participants_v2") or []
    if not isinstance(participants, list):
        raise people.invalid("participants_v2 is not a list")
    participants = participants + list(
        _follow(client, listed.get("participants_v2@odata.nextLink"), people)
    )
    whole = {**document, "sessions": sessions, "participants_v2": participants}
    if listed.get("version") is not None and listed.get("version") != document.get("version"):
        # A new version was written between the two reads: the next notification reads it.
        whole["version"] = min(int(listed["version"]), int(document.get("version") or 0))
    record: CallRecord = _parse(CallRecord, whole, response, "call record")
    return record


def _log_rows(client: GraphClient, function: str) -> Iterator[PstnCall]:
    for page in iter_pages(client, f"communications/callRecords/{function}"):
        for item in page.items:
            yield _parse(PstnCall, item, page.response, "PSTN call log row")


def _check_range(since: datetime, until: datetime) -> None:
    if until < since or until - since > timedelta(days=LOG_MAX_DAYS):
        raise ValueError(f"the range must run forwards and span at most {LOG_MAX_DAYS} days")


def get_pstn_calls(client: GraphClient, *, since: datetime, until: datetime) -> Iterator[PstnCall]:
    """Yield the PSTN calls that started in ``[since, until]`` (both ends included)."""
    # https://learn.microsoft.com/graph/api/callrecords-callrecord-getpstncalls
    _check_range(since, until)
    yield from _log_rows(
        client, f"getPstnCalls(fromDateTime={_utc(since)},toDateTime={_utc(until)})"
    )


def get_direct_routing_calls(
    client: GraphClient, *, since: datetime, until: datetime
) -> Iterator[PstnCall]:
    """Yield the direct-routing calls that started in ``[since, until)``."""
    # https://learn.microsoft.com/graph/api/callrecords-callrecord-getdirectroutingcalls
    _check_range(since, until)
    yield from _log_rows(
        client, f"getDirectRoutingCalls(fromDateTime={_utc(since)},toDateTime={_utc(until)})"
    )


__all__ = [
    "CallRecord",
    "InvalidResponse",
    "ListedRecord",
    "PstnCall",
    "get_call_record",
    "get_direct_routing_calls",
    "get_pstn_calls",
    "list_call_records",
]
