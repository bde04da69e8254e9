"""Writing whole call records into the normalized tables, fast.

A record becomes plain rows (tuples), tied together by their positions in the batch. On
PostgreSQL the batch's ids are taken from the tables' sequences in one query per table and
the rows go in with COPY; elsewhere (SQLite, for development) they go through Django's
bulk_create, one table after another. Either way no model instance is built per row when it
need not be: at a thousand records a second that is most of the cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, models
from django.utils import timezone

from callrecords import quality, rollups
from callrecords.models import (
    CallEndpoint,
    CallParticipant,
    CallRecord,
    CallSegment,
    CallSession,
    CallStream,
)
from comms_portal.graph.callrecords import CallRecord as GraphCallRecord
from comms_portal.graph.callrecords import DeviceInfo, Endpoint, MediaStream, NetworkInfo

CALL_COLUMNS = (
    "graph_id", "version", "call_type", "modalities", "start", "end", "last_modified",
    "join_web_url", "organizer_id", "organizer_name", "streams_classified", "streams_poor",
    "stored_at",
)  # fmt: skip
PARTICIPANT_COLUMNS = (
    "call_id", "person_id", "display_name", "call_start", "verdict", "cause", "detail",
)  # fmt: skip
ENDPOINT_COLUMNS = (
    "call_id", "is_service", "person_id", "display_name", "platform", "product_family",
    "network", "wifi_signal", "subnet", "capture_device", "render_device", "mic_glitch_rate",
    "device_glitch_ratio", "feedback",
)  # fmt: skip
SESSION_COLUMNS = ("call_id", "graph_id", "modalities", "start", "end")
SEGMENT_COLUMNS = ("call_id", "session_id", "graph_id", "start", "end", "caller_id", "callee_id")
STREAM_COLUMNS = (
    "call_id", "segment_id", "sender_id", "media_label", "modality", "direction", "jitter_ms",
    "packet_loss", "round_trip_ms", "concealed_ratio", "mos_degradation", "packet_utilization",
    "video_frame_rate", "video_frame_loss_pct", "post_fec_loss", "verdict", "reasons",
    "call_start", "call_type", "network", "subnet", "device", "client", "person_id",
    "person_name",
)  # fmt: skip
# Which columns point at which table's rows of the same batch (by position).
REFERENCES: dict[str, dict[str, str]] = {
    "participants": {"call_id": "calls"},
    "endpoints": {"call_id": "calls"},
    "sessions": {"call_id": "calls"},
    "segments": {
        "call_id": "calls",
        "session_id": "sessions",
        "caller_id": "endpoints",
        "callee_id": "endpoints",
    },
    "streams": {"call_id": "calls", "segment_id": "segments", "sender_id": "endpoints"},
}
# The tables whose rows others point at: their ids are needed before the rows that point.
REFERENCED = frozenset(target for columns in REFERENCES.values() for target in columns.values())
TABLES: tuple[tuple[str, type[models.Model], tuple[str, ...]], ...] = (
    ("calls", CallRecord, CALL_COLUMNS),
    ("participants", CallParticipant, PARTICIPANT_COLUMNS),
    ("endpoints", CallEndpoint, ENDPOINT_COLUMNS),
    ("sessions", CallSession, SESSION_COLUMNS),
    ("segments", CallSegment, SEGMENT_COLUMNS),
    ("streams", CallStream, STREAM_COLUMNS),
)


@dataclass
class Batch:
    """Rows of several records; foreign keys hold positions in the referenced list."""

    rows: dict[str, list[list[Any]]] = field(
        default_factory=lambda: {name: [] for name, _, _ in TABLES}
    )

    def add(self, table: str, row: list[Any]) -> int:
        """Append a row and return its position."""
        rows = self.rows[table]
        rows.append(row)
        return len(rows) - 1


def _ms(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds() * 1000


def _text(value: str | None, limit: int) -> str:
    return (value or "")[:limit]


def _endpoint(
    batch: Batch,
    endpoints: list[list[Any]],
    call: int,
    endpoint: Endpoint | None,
    network: NetworkInfo | None,
    device: DeviceInfo | None,
) -> tuple[int, list[Any]]:
    identity = endpoint.associated_identity if endpoint else None
    agent = endpoint.user_agent if endpoint else None
    is_service = bool(endpoint and endpoint.is_service)
    product = _text((agent.product_family or agent.role) if agent else None, 64)
    platform = _text(agent.platform if agent else None, 64)
    row = [
        call,
        is_service,
        _text(identity.id if identity else None, 64),
        _text(identity.display_name if identity else None, 256),
        platform,
        product,
        quality.network_kind(
            network.connection_type if network else None, network.wifi_band if network else None
        ),
        network.wifi_signal_strength if network else None,
        _text(network.subnet if network else None, 64),
        _text(device.capture_device_name if device else None, 256),
        _text(device.render_device_name if device else None, 256),
        device.mic_glitch_rate if device else None,
        device.device_glitch_event_ratio if device else None,
        _text(endpoint.feedback.rating if endpoint and endpoint.feedback else None, 32),
    ]
    endpoints.append(row)
    return batch.add("endpoints", row), row


def _client(endpoint_row: list[Any]) -> str:
    if endpoint_row[1]:
        return "Teams service"
    return quality.client_words(endpoint_row[5], endpoint_row[4])[:128]


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


def add_record(batch: Batch, record: GraphCallRecord, now: datetime) -> None:
    """Turn one Graph record into rows of ``batch``."""
    organizer = (
        record.organizer_v2.identity.main()
        if record.organizer_v2 and record.organizer_v2.identity
        else None
    )
    call_type = _text(record.type or "unknown", 32)
    call_row: list[Any] = [
        record.id,
        record.version,
        call_type,
        _text(",".join(record.modalities), 200),
        record.start_date_time,
        record.end_date_time,
        record.last_modified_date_time,
        record.join_web_url or "",
        _text(record.organizer_v2.id if record.organizer_v2 else None, 64),
        _text(organizer.display_name if organizer else None, 256),
        0,
        0,
        now,
    ]
    call = batch.add("calls", call_row)
    seen: set[str] = set()
    participant_rows: list[list[Any]] = []
    for participant in record.participants_v2:
        if participant.id in seen:
            continue
        seen.add(participant.id)
        identity = participant.identity.main() if participant.identity else None
        row: list[Any] = [
            call,
            _text(participant.id, 64),
            _text(identity.display_name if identity else None, 256),
            record.start_date_time,
            quality.UNCLASSIFIED,
            "",
            "",
        ]
        participant_rows.append(row)
        batch.add("participants", row)
    endpoints: list[list[Any]] = []
    judged: list[JudgedStream] = []
    classified = poor = 0
    for session in record.sessions:
        session_index = batch.add(
            "sessions",
            [
                call,
                _text(session.id, 64),
                _text(",".join(session.modalities), 200),
                session.start_date_time,
                session.end_date_time,
            ],
        )
        for segment in session.segments:
            media = segment.media
            # An endpoint's network and device are reported per medium; the first that says
            # (normally the audio) describes it.
            caller, caller_row = _endpoint(
                batch,
                endpoints,
                call,
                segment.caller or session.caller,
                next((m.caller_network for m in media if m.caller_network), None),
                next((m.caller_device for m in media if m.caller_device), None),
            )
            callee, callee_row = _endpoint(
                batch,
                endpoints,
                call,
                segment.callee or session.callee,
                next((m.callee_network for m in media if m.callee_network), None),
                next((m.callee_device for m in media if m.callee_device), None),
            )
            segment_index = batch.add(
                "segments",
                [
                    call,
                    session_index,
                    _text(segment.id, 64),
                    segment.start_date_time,
                    segment.end_date_time,
                    caller,
                    callee,
                ],
            )
            for medium in media:
                modality = quality.modality_of(medium.label)
                for stream in medium.streams:
                    backwards = (stream.stream_direction or "") == "calleeToCaller"
                    sender, sender_row = (callee, callee_row) if backwards else (caller, caller_row)
                    # Whose stream it is for the dashboard: the sender's, unless the sender is
                    # a meeting server; then the person receiving it.
                    subject = sender_row
                    if sender_row[1]:
                        subject = caller_row if backwards else callee_row
                    figures = _figures(modality, stream)
                    verdict = quality.classify(figures)
                    if verdict.verdict != quality.UNCLASSIFIED:
                        classified += 1
                    if verdict.verdict == quality.POOR:
                        poor += 1
                    if verdict.verdict != quality.UNCLASSIFIED:
                        judged.append(
                            JudgedStream(subject[2], verdict.verdict, figures, verdict.reasons,
                                         subject[6])
                        )  # fmt: skip
                    batch.add(
                        "streams",
                        [
                            call,
                            segment_index,
                            sender,
                            _text(medium.label, 64),
                            modality,
                            _text(stream.stream_direction, 32),
                            figures.jitter_ms,
                            figures.packet_loss,
                            figures.round_trip_ms,
                            figures.concealed_ratio,
                            figures.mos_degradation,
                            stream.packet_utilization,
                            figures.video_frame_rate,
                            figures.video_frame_loss_pct,
                            figures.post_fec_loss,
                            verdict.verdict,
                            ",".join(verdict.reasons),
                            record.start_date_time,
                            call_type,
                            subject[6],
                            subject[8],
                            subject[9],
                            _client(subject),
                            subject[2],
                            subject[3],
                        ],
                    )
    call_row[10] = classified
    call_row[11] = poor
    sides = [(e[2], e[6], e[7], e[12]) for e in endpoints]
    for row in participant_rows:
        row[4], row[5], row[6] = judge_for(row[1], judged, sides)


@dataclass(frozen=True)
class JudgedStream:
    """A classified stream, as a participant's verdict on the call reads it."""

    person_id: str  # whose stream it is (as the dashboard counts it)
    verdict: str  # good or poor
    figures: quality.Figures
    reasons: tuple[str, ...]
    network: str


def judge_for(
    person_id: str,
    streams: Sequence[JudgedStream],
    endpoints: Sequence[tuple[str, str, int | None, float | None]],
) -> tuple[str, str, str]:
    """Judge a call from one participant's side, once, when the record is stored.

    ``streams`` are the call's classified streams in the record's order; ``endpoints`` are
    its endpoints as (person id, network kind, Wi-Fi signal, device glitch ratio). Returns
    the verdict (good, poor or unclassified), the likely cause (a key of quality.CAUSES, or
    "") and the first of the person's own poor streams explained (or "").
    """
    own_poor = any(s.person_id == person_id and s.verdict == quality.POOR for s in streams)
    others_poor = any(s.person_id != person_id and s.verdict == quality.POOR for s in streams)
    # The person's endpoints by network, in the order met: the first network describes them,
    # unless a later one is one known to hurt calls.
    networks: dict[str, list[Any]] = {}
    for who, network, signal, glitch in endpoints:
        if who != person_id:
            continue
        found = networks.setdefault(network, [None, None])
        if signal is not None and (found[0] is None or signal > found[0]):
            found[0] = signal
        if glitch is not None and (found[1] is None or glitch > found[1]):
            found[1] = glitch
    chosen_network, signal, glitch = "", None, None
    for position, (network, (most_signal, most_glitch)) in enumerate(networks.items()):
        if position == 0 or network in ("wifi-24", "vpn", "mobile"):
            chosen_network, signal, glitch = network, most_signal, most_glitch
    cause = quality.likely_cause(
        own_poor=own_poor,
        network=chosen_network or "unknown",
        wifi_signal=signal,
        device_glitch=glitch,
        others_poor=others_poor,
    )
    if not streams:
        verdict = quality.UNCLASSIFIED
    elif cause is None:
        verdict = quality.GOOD
    else:
        verdict = quality.POOR
    worst = next(
        (s for s in streams if s.person_id == person_id and s.verdict == quality.POOR), None
    )
    detail = (
        quality.explain(worst.figures, list(worst.reasons), worst.network, signal)
        if worst is not None
        else ""
    )
    return verdict, cause or "", detail


def write(records: Sequence[GraphCallRecord]) -> None:
    """Insert these records (none of which is stored yet) and all their parts."""
    batch = Batch()
    now = timezone.now()
    for record in records:
        add_record(batch, record, now)
    # In the order of rollups.STREAM_FIELDS.
    counts = rollups.count_streams(
        (row[17], row[4], row[18], row[19], row[20], row[21], row[22], row[23], row[24], row[15])
        for row in batch.rows["streams"]
    )
    if connection.vendor == "postgresql":
        _copy(batch)
    else:
        _bulk_create(batch)
    rollups.add(*counts)


def _resolve(
    batch: Batch, ids: dict[str, list[int]], table: str, columns: tuple[str, ...]
) -> list[list[Any]]:
    """Replace positions in foreign-key columns by the referenced rows' ids."""
    references = [
        (columns.index(column), ids[target]) for column, target in REFERENCES.get(table, {}).items()
    ]
    rows = batch.rows[table]
    for row in rows:
        for position, target_ids in references:
            if row[position] is not None:
                row[position] = target_ids[row[position]]
    return rows


def _copy(batch: Batch) -> None:
    ids: dict[str, list[int]] = {}
    with connection.cursor() as cursor:
        # Every record can be read from Graph again (the heal does), so waiting for the disk
        # at each commit buys nothing: a crash loses at most the last moments of ingest, which
        # the next heal restores. The database stays consistent either way.
        cursor.execute("SET LOCAL synchronous_commit TO OFF")
        for name, model, columns in TABLES:
            rows = batch.rows[name]
            if not rows:
                ids[name] = []
                continue
            table = model._meta.db_table
            resolved = _resolve(batch, ids, name, columns)
            raw = cursor.cursor  # psycopg's own cursor, for COPY
            # No field sets db_column: each column is named as its attribute.
            if name not in REFERENCED:
                # Rows nothing in the batch points at (streams, participants: over half of
                # them) take their ids from the column's default as COPY writes them.
                names = ", ".join(f'"{column}"' for column in columns)
                with raw.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                    for row in resolved:
                        copy.write_row(row)
                continue
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, len(rows)],
            )
            ids[name] = [row[0] for row in cursor.fetchall()]
            names = ", ".join(f'"{column}"' for column in ("id", *columns))
            with raw.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                for identifier, row in zip(ids[name], resolved, strict=True):
                    copy.write_row((identifier, *row))


def _bulk_create(batch: Batch) -> None:
    ids: dict[str, list[int]] = {}
    for name, model, columns in TABLES:
        rows = _resolve(batch, ids, name, columns)
        instances = [model(**dict(zip(columns, row, strict=True))) for row in rows]
        model._default_manager.bulk_create(instances, batch_size=500)
        ids[name] = [instance.pk for instance in instances]
