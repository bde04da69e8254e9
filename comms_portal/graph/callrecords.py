"""Call records: list them, read one whole (every page of sessions and participants), PSTN logs.

https://learn.microsoft.com/graph/api/resources/callrecords-api-overview
Application permission only (``CallRecords.Read.All``). Records carry no media, only metadata
and quality figures. Enumerations are kept as Graph's text, so ``unknownFutureValue`` and
members added later pass through unharmed; every part Graph may leave out is optional. The
models (msgspec structs, decoded several times faster than pydantic validates) hold only the
fields the portal stores: each one more is decoded for every stream of every record collected.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from pydantic import Field

from comms_portal.graph.batch import MAX_BATCH_SIZE, BatchRequest, send_batch
from comms_portal.graph.errors import GraphError, InvalidResponse
from comms_portal.graph.http import GraphClient, GraphResponse, quote_segment
from comms_portal.graph.models import GraphModel, parse_model
from comms_portal.graph.paging import iter_pages

# Graph's list answers 60 records a page unless asked for more with Prefer (list-callrecords).
LIST_PAGE_SIZE = 60
# getPstnCalls and getDirectRoutingCalls accept ranges of at most 90 days.
LOG_MAX_DAYS = 90


class RecordPart(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A part of a call record: Graph's camelCase names, unknown members ignored."""


class Identity(RecordPart, frozen=True, kw_only=True):
    """Someone's id and name inside an identity set."""

    # https://learn.microsoft.com/graph/api/resources/identity
    id: str | None = None
    display_name: str | None = None


class IdentitySet(RecordPart, frozen=True, kw_only=True):
    """Who an identity set names: a user, a guest, a phone, an application..."""

    # https://learn.microsoft.com/graph/api/resources/identityset
    user: Identity | None = None
    guest: Identity | None = None
    phone: Identity | None = None
    application: Identity | None = None

    def main(self) -> Identity | None:
        """Return the identity that says who this is."""
        return self.user or self.guest or self.phone or self.application


class Participant(RecordPart, frozen=True, kw_only=True):
    """One participant of a call record (participants_v2, organizer_v2)."""

    # https://learn.microsoft.com/graph/api/resources/callrecords-participant
    id: str
    identity: IdentitySet | None = None


class UserAgent(RecordPart, frozen=True, kw_only=True):
    """An endpoint's client: platform and product family (or a service's role)."""

    # https://learn.microsoft.com/graph/api/resources/callrecords-clientuseragent
    platform: str | None = None
    product_family: str | None = None
    role: str | None = None


class Feedback(RecordPart, frozen=True, kw_only=True):
    """The rating a person gave after the call."""

    rating: str | None = None


class Endpoint(RecordPart, frozen=True, kw_only=True):
    """A session's caller or callee: a person's client, or a service."""

    # https://learn.microsoft.com/graph/api/resources/callrecords-endpoint
    odata_type: str | None = msgspec.field(default=None, name="@odata.type")
    user_agent: UserAgent | None = None
    associated_identity: Identity | None = None
    feedback: Feedback | None = None

    @property
    def is_service(self) -> bool:
        return (self.odata_type or "").lower().endswith("serviceendpoint")


class NetworkInfo(RecordPart, frozen=True, kw_only=True):
    """The network an endpoint used for a media stream."""

    # https://learn.microsoft.com/graph/api/resources/callrecords-networkinfo
    connection_type: str | None = None
    wifi_band: str | None = None
    wifi_signal_strength: int | None = None
    subnet: str | None = None


class DeviceInfo(RecordPart, frozen=True, kw_only=True):
    """The audio devices an endpoint used, and how they behaved."""

    # https://learn.microsoft.com/graph/api/resources/callrecords-deviceinfo
    capture_device_name: str | None = None
    render_device_name: str | None = None
    mic_glitch_rate: int | None = None
    device_glitch_event_ratio: float | None = None


class MediaStream(RecordPart, frozen=True, kw_only=True):
    """One direction of one medium, with its quality figures."""

    # https://learn.microsoft.com/graph/api/resources/callrecords-mediastream
    stream_direction: str | None = None
    average_audio_degradation: float | None = None
    average_jitter: timedelta | None = None
    average_packet_loss_rate: float | None = None
    average_round_trip_time: timedelta | None = None
    average_ratio_of_concealed_samples: float | None = None
    packet_utilization: int | None = None
    average_video_frame_rate: float | None = None
    average_video_frame_loss_percentage: float | None = None
    post_fec_packet_loss_rate: float | None = msgspec.field(
        default=None, name="postForwardErrorCorrectionPacketLossRate"
    )


class Media(RecordPart, frozen=True, kw_only=True):
    """One medium of a segment (audio, video, screen sharing) and both ends' conditions."""

    # https://learn.microsoft.com/graph/api/resources/callrecords-media
    label: str | None = None
    caller_network: NetworkInfo | None = None
    callee_network: NetworkInfo | None = None
    caller_device: DeviceInfo | None = None
    callee_device: DeviceInfo | None = None
    streams: list[MediaStream] = msgspec.field(default_factory=list)


class Segment(RecordPart, frozen=True, kw_only=True):
    """A stretch of a session between two endpoints."""

    # https://learn.microsoft.com/graph/api/resources/callrecords-segment
    id: str
    start_date_time: datetime
    end_date_time: datetime
    caller: Endpoint | None = None
    callee: Endpoint | None = None
    media: list[Media] = msgspec.field(default_factory=list)


class Session(RecordPart, frozen=True, kw_only=True):
    """A person's (or a service's) connection to the call."""

    # https://learn.microsoft.com/graph/api/resources/callrecords-session
    id: str
    modalities: list[str] = msgspec.field(default_factory=list)
    start_date_time: datetime
    end_date_time: datetime
    caller: Endpoint | None = None
    callee: Endpoint | None = None
    segments: list[Segment] = msgspec.field(default_factory=list)


class CallRecord(RecordPart, frozen=True, kw_only=True):
    """A call or meeting as Teams recorded it, with every session and participant."""

    # https://learn.microsoft.com/graph/api/resources/callrecords-callrecord
    id: str
    version: int
    type: str | None = None
    modalities: list[str] = msgspec.field(default_factory=list)
    start_date_time: datetime
    end_date_time: datetime
    last_modified_date_time: datetime | None = None
    join_web_url: str | None = None
    organizer_v2: Participant | None = msgspec.field(default=None, name="organizer_v2")
    participants_v2: list[Participant] = msgspec.field(default_factory=list, name="participants_v2")
    sessions: list[Session] = msgspec.field(default_factory=list)


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


def _invalid(reason: str, response: GraphResponse | None) -> InvalidResponse:
    if response is not None:
        return response.invalid(reason)
    return InvalidResponse(
        f"Graph's answer does not match its documentation: {reason}.", code="invalidResponse"
    )


def _follow(client: GraphClient, link: object, response: GraphResponse | None) -> Iterator[object]:
    """Yield every item of the pages a nextLink leads to."""
    if link is None:
        return
    if not isinstance(link, str) or not client.is_own_origin(link):
        raise _invalid("a nextLink points at another host", response)
    for page in iter_pages(client, link):
        yield from page.items


def _whole(
    client: GraphClient,
    document: dict[str, Any],
    listed: dict[str, Any],
    response: GraphResponse | None,
) -> CallRecord:
    """Join a record read with its sessions and read with its participants, every page."""
    sessions = document.get("sessions") or []
    if not isinstance(sessions, list):
        raise _invalid("sessions is not a list", response)
    sessions = sessions + list(_follow(client, document.get("sessions@odata.nextLink"), response))
    participants = listed.get("participants_v2") or []
    if not isinstance(participants, list):
        raise _invalid("participants_v2 is not a list", response)
    participants = participants + list(
        _follow(client, listed.get("participants_v2@odata.nextLink"), response)
    )
    whole = {**document, "sessions": sessions, "participants_v2": participants}
    if listed.get("version") is not None and listed.get("version") != document.get("version"):
        # A new version was written between the two reads: the next notification reads it.
        try:
            whole["version"] = min(int(listed["version"]), int(document.get("version") or 0))
        except (TypeError, ValueError):
            raise _invalid("version is not a number", response) from None
    if response is None:
        record: CallRecord = parse_model(CallRecord, whole, what="call record")
    else:
        record = _parse(CallRecord, whole, response, "call record")
    return record


def get_call_record(client: GraphClient, record_id: str) -> CallRecord:
    """Read a record whole: every session with its segments, and every participant.

    Graph pages sessions (60) and participants (130) inside the record, each with its own
    nextLink, and expands one relationship a request: the record is read twice, both reads
    in one JSON batch (one round trip); further pages only when the record has them.
    A record older than 30 days (or not yet written) raises NotFound.
    """
    # https://learn.microsoft.com/graph/api/callrecords-callrecord-get
    [found] = get_call_records(client, [record_id])
    if isinstance(found, GraphError):
        raise found
    return found


# The two reads of a record (get_call_record): its sessions with their segments, and its
# participants; Graph does not expand both in one request.
SESSIONS_EXPANSION = "sessions($expand=segments)"
PARTICIPANTS_EXPANSION = "participants_v2"
# A JSON batch holds 20 requests: ten records, two reads each.
RECORDS_PER_BATCH = MAX_BATCH_SIZE // 2


def get_call_records(
    client: GraphClient, record_ids: Sequence[str]
) -> list[CallRecord | GraphError]:
    """Read records whole through JSON batches: each one's two reads, ten records a batch.

    Returns, in the order asked, each record or the error its reads met (NotFound for a
    record older than 30 days); pages beyond the first are read as get_call_record does.
    """
    # https://learn.microsoft.com/graph/json-batching
    requests = []
    for record_id in record_ids:
        path = f"/communications/callRecords/{quote_segment(record_id)}"
        requests.append(
            BatchRequest(
                "GET", f"{path}?$expand={SESSIONS_EXPANSION}", decode=_SESSIONS_READ.decode
            )
        )
        # Of the record itself only what joins the two reads: the rest came with the sessions.
        requests.append(
            BatchRequest(
                "GET",
                f"{path}?$select=id,version&$expand={PARTICIPANTS_EXPANSION}",
                decode=_PARTICIPANTS_READ.decode,
            )
        )
    results = send_batch(client, requests)
    found: list[CallRecord | GraphError] = []
    for position in range(len(record_ids)):
        sessions, people = results[2 * position], results[2 * position + 1]
        error = sessions.error or people.error
        if error is not None:
            found.append(error)
            continue
        if not isinstance(sessions.body, SessionsRead) or not isinstance(
            people.body, ParticipantsRead
        ):
            found.append(_invalid("a batched call record is not a JSON object", None))
            continue
        try:
            found.append(_joined(client, sessions.body, people.body))
        except GraphError as failed:
            found.append(failed)
    return found


class SessionsRead(CallRecord, frozen=True, kw_only=True):
    """A record read with its sessions expanded: their first page, and the next page's link."""

    sessions_next_link: str | None = msgspec.field(default=None, name="sessions@odata.nextLink")


class ParticipantsRead(RecordPart, frozen=True, kw_only=True):
    """A record read with its participants expanded: the first page, and the next's link."""

    id: str
    version: int | None = None
    participants_v2: list[Participant] = msgspec.field(default_factory=list, name="participants_v2")
    participants_next_link: str | None = msgspec.field(
        default=None, name="participants_v2@odata.nextLink"
    )


# Each batched read decoded straight from its JSON text (no dicts in between), lax as pydantic.
_SESSIONS_READ = msgspec.json.Decoder(SessionsRead, strict=False)
_PARTICIPANTS_READ = msgspec.json.Decoder(ParticipantsRead, strict=False)


def _pages_of(client: GraphClient, link: str, kind: Any) -> list[Any]:
    """Read every page a nextLink leads to, typed as ``kind`` (a list type)."""
    try:
        found: list[Any] = msgspec.convert(list(_follow(client, link, None)), kind, strict=False)
        return found
    except msgspec.ValidationError as error:
        raise _invalid(f"a page of a call record: {error}", None) from None


def _joined(client: GraphClient, read: SessionsRead, people: ParticipantsRead) -> CallRecord:
    """Join a record's two reads (and their further pages) into the whole record."""
    sessions = read.sessions
    if read.sessions_next_link is not None:
        sessions = sessions + _pages_of(client, read.sessions_next_link, list[Session])
    participants = people.participants_v2
    if people.participants_next_link is not None:
        participants = participants + _pages_of(
            client, people.participants_next_link, list[Participant]
        )
    version = read.version
    if people.version is not None and people.version != read.version:
        # A new version was written between the two reads: the next notification reads it.
        version = min(people.version, read.version)
    return CallRecord(
        id=read.id,
        version=version,
        type=read.type,
        modalities=read.modalities,
        start_date_time=read.start_date_time,
        end_date_time=read.end_date_time,
        last_modified_date_time=read.last_modified_date_time,
        join_web_url=read.join_web_url,
        organizer_v2=read.organizer_v2,
        participants_v2=participants,
        sessions=sessions,
    )


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
    "get_call_records",
    "get_direct_routing_calls",
    "get_pstn_calls",
    "list_call_records",
]
