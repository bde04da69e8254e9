"""Collect call records from Graph and store them: one by id, healed by list, PSTN, purge.

Every write is idempotent by (id, version): a record is stored when the portal has none of
that id or an older version, replacing the older one whole; an equal or older version is
ignored. Records arrive in batches and are written with bulk inserts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.graph_clients import graph_for_app
from callrecords import quality
from callrecords.models import (
    BuildingSubnet,
    CallEndpoint,
    CallParticipant,
    CallRecord,
    CallSegment,
    CallSession,
    CallStream,
    PstnCall,
)
from comms_portal.graph import GraphClient, NotFound
from comms_portal.graph.callrecords import (
    CallRecord as GraphCallRecord,
)
from comms_portal.graph.callrecords import (
    DeviceInfo,
    Endpoint,
    MediaStream,
    NetworkInfo,
    get_call_record,
    get_direct_routing_calls,
    get_pstn_calls,
    list_call_records,
)

logger = logging.getLogger(__name__)

STORE_BATCH = 200
VERSION_LOOKUP_BATCH = 500


@dataclass
class StoreReport:
    """What storing a batch did."""

    created: int = 0
    replaced: int = 0
    ignored: int = 0

    def add(self, other: StoreReport) -> None:
        self.created += other.created
        self.replaced += other.replaced
        self.ignored += other.ignored


@dataclass
class HealReport:
    """What a pass over the list did."""

    listed: int = 0
    fetched: int = 0
    expired: int = 0
    stored: StoreReport = field(default_factory=StoreReport)


def _ms(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds() * 1000


def _endpoint_row(
    call: CallRecord, endpoint: Endpoint | None, network: NetworkInfo | None,
    device: DeviceInfo | None,
) -> CallEndpoint:  # fmt: skip
    identity = endpoint.associated_identity if endpoint else None
    agent = endpoint.user_agent if endpoint else None
    return CallEndpoint(
        call=call,
        is_service=bool(endpoint and endpoint.is_service),
        person_id=(identity.id or "") if identity else "",
        display_name=((identity.display_name or "") if identity else "")[:256],
        platform=((agent.platform or "") if agent else "")[:64],
        product_family=((agent.product_family or agent.role or "") if agent else "")[:64],
        network=quality.network_kind(
            network.connection_type if network else None, network.wifi_band if network else None
        ),
        wifi_signal=network.wifi_signal_strength if network else None,
        subnet=((network.subnet or "") if network else "")[:64],
        capture_device=((device.capture_device_name or "") if device else "")[:256],
        render_device=((device.render_device_name or "") if device else "")[:256],
        mic_glitch_rate=device.mic_glitch_rate if device else None,
        device_glitch_ratio=device.device_glitch_event_ratio if device else None,
        feedback=((endpoint.feedback.rating or "") if endpoint and endpoint.feedback else "")[:32],
    )


def _figures(modality: str, stream: MediaStream) -> quality.Figures:
    return quality.Figures(
        modality=modality,
        jitter_ms=_ms(stream.average_jitter),
        packet_loss=stream.average_packet_loss_rate,
        round_trip_ms=_ms(stream.average_round_trip_time),
        concealed_ratio=stream.average_ratio_of_concealed_samples,
        mos_degradation=stream.average_audio_degradation,
        video_frame_rate=stream.average_video_frame_rate,
        video_frame_loss_pct=stream.average_video_frame_loss_percentage,
        post_fec_loss=stream.post_fec_packet_loss_rate,
    )


def _client_label(endpoint: CallEndpoint) -> str:
    if endpoint.is_service:
        return "Teams service"
    return quality.client_words(endpoint.product_family, endpoint.platform)


@dataclass
class _Rows:
    calls: list[CallRecord] = field(default_factory=list)
    participants: list[CallParticipant] = field(default_factory=list)
    sessions: list[tuple[CallSession, list[tuple[CallSegment, list[CallStream]]]]] = field(
        default_factory=list
    )
    endpoints: list[CallEndpoint] = field(default_factory=list)


def _rows_of(record: GraphCallRecord, rows: _Rows) -> None:
    """Turn one Graph record into unsaved rows (endpoints before the rows that point at them)."""
    organizer = (
        record.organizer_v2.identity.main()
        if record.organizer_v2 and record.organizer_v2.identity
        else None
    )
    call = CallRecord(
        graph_id=record.id,
        version=record.version,
        call_type=(record.type or "unknown")[:32],
        modalities=",".join(record.modalities)[:200],
        start=record.start_date_time,
        end=record.end_date_time,
        last_modified=record.last_modified_date_time,
        join_web_url=record.join_web_url or "",
        organizer_id=(record.organizer_v2.id if record.organizer_v2 else "")[:64],
        organizer_name=((organizer.display_name or "") if organizer else "")[:256],
    )
    rows.calls.append(call)
    seen: set[str] = set()
    for participant in record.participants_v2:
        if participant.id in seen:
            continue
        seen.add(participant.id)
        identity = participant.identity.main() if participant.identity else None
        rows.participants.append(
            CallParticipant(
                call=call,
                person_id=participant.id[:64],
                display_name=((identity.display_name or "") if identity else "")[:256],
                call_start=record.start_date_time,
            )
        )
    classified = poor = 0
    for session in record.sessions:
        session_row = CallSession(
            call=call,
            graph_id=session.id[:64],
            modalities=",".join(session.modalities)[:200],
            start=session.start_date_time,
            end=session.end_date_time,
        )
        segments: list[tuple[CallSegment, list[CallStream]]] = []
        for segment in session.segments:
            caller_ep = segment.caller or session.caller
            callee_ep = segment.callee or session.callee
            # An endpoint's network and device are reported per medium; the first that says
            # (normally the audio) describes it.
            media = segment.media
            caller_net = next((m.caller_network for m in media if m.caller_network), None)
            callee_net = next((m.callee_network for m in media if m.callee_network), None)
            caller_dev = next((m.caller_device for m in media if m.caller_device), None)
            callee_dev = next((m.callee_device for m in media if m.callee_device), None)
            caller = _endpoint_row(call, caller_ep, caller_net, caller_dev)
            callee = _endpoint_row(call, callee_ep, callee_net, callee_dev)
            rows.endpoints.extend((caller, callee))
            segment_row = CallSegment(
                call=call,
                session=session_row,
                graph_id=segment.id[:64],
                start=segment.start_date_time,
                end=segment.end_date_time,
                caller=caller,
                callee=callee,
            )
            streams: list[CallStream] = []
            for medium in media:
                modality = quality.modality_of(medium.label)
                for stream in medium.streams:
                    backwards = (stream.stream_direction or "") == "calleeToCaller"
                    sender = callee if backwards else caller
                    # Whose stream it is for the dashboard: the sender's, unless the sender is
                    # a meeting server; then the person receiving it.
                    subject = (caller if backwards else callee) if sender.is_service else sender
                    figures = _figures(modality, stream)
                    verdict = quality.classify(figures)
                    if verdict.verdict != quality.UNCLASSIFIED:
                        classified += 1
                    if verdict.verdict == quality.POOR:
                        poor += 1
                    streams.append(
                        CallStream(
                            call=call,
                            segment=segment_row,
                            sender=sender,
                            media_label=(medium.label or "")[:64],
                            modality=modality,
                            direction=(stream.stream_direction or "")[:32],
                            jitter_ms=figures.jitter_ms,
                            packet_loss=figures.packet_loss,
                            round_trip_ms=figures.round_trip_ms,
                            concealed_ratio=figures.concealed_ratio,
                            mos_degradation=figures.mos_degradation,
                            packet_utilization=stream.packet_utilization,
                            video_frame_rate=figures.video_frame_rate,
                            video_frame_loss_pct=figures.video_frame_loss_pct,
                            post_fec_loss=figures.post_fec_loss,
                            verdict=verdict.verdict,
                            reasons=",".join(verdict.reasons),
                            call_start=record.start_date_time,
                            call_type=call.call_type,
                            network=subject.network,
                            subnet=subject.subnet,
                            device=subject.capture_device,
                            client=_client_label(subject)[:128],
                            person_id=subject.person_id,
                            person_name=subject.display_name,
                        )
                    )
            segments.append((segment_row, streams))
        rows.sessions.append((session_row, segments))
    call.streams_classified = classified
    call.streams_poor = poor


def _chunks(items: Iterable[str], size: int) -> Iterator[list[str]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def stored_versions(graph_ids: Iterable[str]) -> dict[str, int]:
    """Return the version stored for each of ``graph_ids`` the portal holds."""
    found: dict[str, int] = {}
    for chunk in _chunks(graph_ids, VERSION_LOOKUP_BATCH):
        found.update(
            CallRecord.objects.filter(graph_id__in=chunk).values_list("graph_id", "version")
        )
    return found


def store_records(records: Sequence[GraphCallRecord]) -> StoreReport:
    """Store records newer than what the portal holds, replacing older versions whole."""
    report = StoreReport()
    newest: dict[str, GraphCallRecord] = {}
    for record in records:
        if record.id not in newest or newest[record.id].version < record.version:
            newest[record.id] = record
    report.ignored += len(records) - len(newest)
    try:
        with transaction.atomic():
            report.add(_store_newest(list(newest.values())))
    except IntegrityError:
        # Another worker stored one of them meanwhile: go one by one, each deciding afresh.
        for record in newest.values():
            try:
                with transaction.atomic():
                    report.add(_store_newest([record]))
            except IntegrityError:
                report.ignored += 1
    return report


def _store_newest(records: list[GraphCallRecord]) -> StoreReport:
    report = StoreReport()
    held = dict(
        CallRecord.objects.select_for_update()
        .filter(graph_id__in=[r.id for r in records])
        .values_list("graph_id", "version")
    )
    wanted = [r for r in records if r.id not in held or held[r.id] < r.version]
    report.ignored = len(records) - len(wanted)
    replaced = [r.id for r in wanted if r.id in held]
    report.replaced = len(replaced)
    report.created = len(wanted) - len(replaced)
    if replaced:
        CallRecord.objects.filter(graph_id__in=replaced).delete()
    if not wanted:
        return report
    rows = _Rows()
    for record in wanted:
        _rows_of(record, rows)
    CallRecord.objects.bulk_create(rows.calls, batch_size=STORE_BATCH)
    for participant in rows.participants:
        participant.call_id = participant.call.pk
    CallParticipant.objects.bulk_create(rows.participants, batch_size=1000)
    for endpoint in rows.endpoints:
        endpoint.call_id = endpoint.call.pk
    CallEndpoint.objects.bulk_create(rows.endpoints, batch_size=1000)
    sessions = [session for session, _ in rows.sessions]
    for session in sessions:
        session.call_id = session.call.pk
    CallSession.objects.bulk_create(sessions, batch_size=1000)
    segments: list[CallSegment] = []
    streams: list[CallStream] = []
    for _, parts in rows.sessions:
        for segment, segment_streams in parts:
            segment.call_id = segment.call.pk
            segment.session_id = segment.session.pk
            segment.caller_id = segment.caller.pk if segment.caller else None
            segment.callee_id = segment.callee.pk if segment.callee else None
            segments.append(segment)
            streams.extend(segment_streams)
    CallSegment.objects.bulk_create(segments, batch_size=1000)
    for stream in streams:
        stream.call_id = stream.call.pk
        stream.segment_id = stream.segment.pk
        stream.sender_id = stream.sender.pk if stream.sender else None
    CallStream.objects.bulk_create(streams, batch_size=1000)
    return report


def collect_record(*, graph_id: str, client: GraphClient | None = None) -> StoreReport:
    """Read one record whole from Graph and store it; a record gone (404) is skipped."""
    graph = client or graph_for_app()
    try:
        record = get_call_record(graph, graph_id)
    except NotFound:
        logger.info("call record %s is gone (older than 30 days, or not written yet)", graph_id)
        return StoreReport(ignored=1)
    return store_records([record])


def heal(
    *, since: datetime, until: datetime | None = None, client: GraphClient | None = None
) -> HealReport:
    """List records by start time and read whole those missing here or newer at Graph."""
    graph = client or graph_for_app()
    report = HealReport()
    for listed_batch in _batched(
        list_call_records(graph, since=since, until=until, page_size=1000)
    ):
        report.listed += len(listed_batch)
        held = stored_versions(item.id for item in listed_batch)
        fetched: list[GraphCallRecord] = []
        for item in listed_batch:
            if held.get(item.id, -1) >= item.version:
                continue
            try:
                fetched.append(get_call_record(graph, item.id))
            except NotFound:
                report.expired += 1
        report.fetched += len(fetched)
        report.stored.add(store_records(fetched))
    return report


def _batched(items: Iterable[object], size: int = STORE_BATCH) -> Iterator[list]:  # type: ignore[type-arg]
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def heal_recent(*, now: datetime | None = None) -> HealReport:
    """Heal the records of the last CALLRECORDS_HEAL_HOURS hours (later versions included)."""
    moment = now or timezone.now()
    return heal(since=moment - timedelta(hours=settings.CALLRECORDS_HEAL_HOURS))


def pull_pstn_usage(*, since: datetime, until: datetime, client: GraphClient | None = None) -> int:
    """Store the PSTN and direct-routing calls of a range (idempotent); return rows read."""
    graph = client or graph_for_app()
    count = 0
    for source, rows in (
        ("pstn", get_pstn_calls(graph, since=since, until=until)),
        ("direct", get_direct_routing_calls(graph, since=since, until=until)),
    ):
        batch = [
            PstnCall(
                graph_id=row.id[:64],
                source=source,
                person_id=(row.user_id or "")[:64],
                user_principal_name=(row.user_principal_name or "")[:256],
                display_name=(row.user_display_name or "")[:256],
                start=row.start_date_time,
                duration_seconds=row.duration or 0,
                call_type=(row.call_type or "")[:64],
                charge=row.charge,
                currency=(row.currency or "")[:8],
                destination=(row.destination_name or "")[:128],
                successful=row.successful_call,
            )
            for row in rows
        ]
        count += len(batch)
        PstnCall.objects.bulk_create(
            batch,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["source", "graph_id"],
            update_fields=["duration_seconds", "charge", "successful", "call_type"],
        )
    return count


def pull_recent_pstn_usage(*, now: datetime | None = None) -> int:
    """Pull the last two days of PSTN and direct-routing calls (run daily)."""
    moment = now or timezone.now()
    return pull_pstn_usage(since=moment - timedelta(days=2), until=moment)


def purge_expired(*, now: datetime | None = None) -> int:
    """Delete calls and PSTN rows older than CALLRECORDS_RETENTION_DAYS; return calls deleted."""
    moment = now or timezone.now()
    cutoff = moment - timedelta(days=settings.CALLRECORDS_RETENTION_DAYS)
    deleted = 0
    while True:
        ids = list(CallRecord.objects.filter(start__lt=cutoff).values_list("pk", flat=True)[:500])
        if not ids:
            break
        CallRecord.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
    PstnCall.objects.filter(start__lt=cutoff).delete()
    return deleted


def map_subnet(*, subnet: str, building: str) -> BuildingSubnet:
    """Count calls from ``subnet`` (an address or a range) as made in ``building``."""
    mapping, _ = BuildingSubnet.objects.update_or_create(
        subnet=subnet, defaults={"building": building}
    )
    return mapping


def unmap_subnet(*, mapping_id: str) -> bool:
    """Remove one subnet mapping; False when there was none of that id."""
    if not mapping_id.isdigit():
        return False
    return BuildingSubnet.objects.filter(pk=int(mapping_id)).delete()[0] > 0
