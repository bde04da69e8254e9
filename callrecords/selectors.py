"""Reads of stored call records for the dashboard, a person's calls and PSTN usage."""

from __future__ import annotations

import ipaddress
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, Max, QuerySet, Sum
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek
from django.utils import timezone

from callrecords import quality
from callrecords.models import (
    BuildingSubnet,
    CallEndpoint,
    CallParticipant,
    CallRecord,
    CallSession,
    CallStream,
    PstnCall,
    StreamRollup,
)

MODALITIES = {"audio": "Audio", "video": "Video", "vbss": "Screen sharing"}
CALL_TYPES = {"peerToPeer": "Calls between two people", "groupCall": "Meetings and group calls"}
DIMENSIONS = {
    "network": "Network type",
    "building": "Building",
    "subnet": "Subnet",
    "device": "Audio device",
    "client": "Client",
    "person": "Person",
}
WORST_CALLS = 20
# Rows of each table the dashboard shows (the rest go in the CSV).
DASHBOARD_ROWS = 25
NO_NAME = "Someone outside the directory"
PERSON_DAY_MIDDLE = timedelta(hours=12)


@dataclass(frozen=True)
class Filters:
    """What the admin chose to look at."""

    since: datetime
    until: datetime
    modality: str = ""  # "" for all, else a key of MODALITIES
    call_type: str = ""  # "" for all, else a key of CALL_TYPES
    bucket: str = "day"  # day or week


@dataclass(frozen=True)
class RateRow:
    """Poor streams out of the classified ones, for one group."""

    key: str
    label: str
    classified: int
    poor: int

    @property
    def rate(self) -> float:
        return self.poor / self.classified if self.classified else 0.0

    @property
    def percent(self) -> str:
        return quality.percent(self.rate) if self.classified else "no classified streams"


def classified_streams(filters: Filters) -> QuerySet[CallStream]:
    """The Good and Poor streams of calls that started in the filters' range."""
    streams = CallStream.objects.filter(
        call_start__gte=filters.since, call_start__lt=filters.until
    ).exclude(verdict=quality.UNCLASSIFIED)
    if filters.modality:
        streams = streams.filter(modality=filters.modality)
    if filters.call_type:
        streams = streams.filter(call_type=filters.call_type)
    return streams


def _rollups(filters: Filters, dimension: str) -> QuerySet[StreamRollup]:
    since, until = filters.since, filters.until
    if dimension == "person":
        # Counted by the UTC day: a day counts when its middle falls in the range, so the
        # range's ends are off by at most half a day on clocks far from UTC.
        since, until = since - PERSON_DAY_MIDDLE, until - PERSON_DAY_MIDDLE
    rows = StreamRollup.objects.filter(dimension=dimension, hour__gte=since, hour__lt=until)
    if dimension == "person":
        # People's rows are kept for each modality and call type and for any ("").
        return rows.filter(modality=filters.modality, call_type=filters.call_type)
    if filters.modality:
        rows = rows.filter(modality=filters.modality)
    if filters.call_type:
        rows = rows.filter(call_type=filters.call_type)
    return rows


def poor_rate_over_time(filters: Filters) -> list[RateRow]:
    """Poor-stream rate per day or week, on the viewer's clock."""
    zone = timezone.get_current_timezone()
    trunc = TruncWeek if filters.bucket == "week" else TruncDay
    rows = (
        _rollups(filters, "all")
        .annotate(period=trunc("hour", tzinfo=zone))
        .values("period")
        .annotate(total=Sum("classified"), bad=Sum("poor"))
        .order_by("period")
    )
    result = []
    for row in rows:
        if not row["total"]:
            continue
        period = row["period"]
        label = f"Week of {period:%d %b}" if filters.bucket == "week" else f"{period:%a %d %b}"
        result.append(RateRow(period.date().isoformat(), label, row["total"], row["bad"]))
    return result


def _grouped(filters: Filters, dimension: str) -> list[tuple[str, str, int, int]]:
    rows = (
        _rollups(filters, dimension)
        .values("key")
        .annotate(total=Sum("classified"), bad=Sum("poor"), name=Max("label"))
        .order_by()
    )
    return [(r["key"], r["name"] or "", r["total"], r["bad"]) for r in rows if r["total"]]


def _network_label(key: str) -> str:
    return quality.NETWORK_LABELS.get(key or "unknown", key)


def poor_rate_by(filters: Filters, dimension: str) -> list[RateRow]:
    """Poor-stream rate by network type, subnet, building, device, client or person."""
    if dimension == "building":
        grouped = _grouped(filters, "subnet")
        return _by_building(
            {"subnet": key, "classified": total, "poor": bad} for key, _, total, bad in grouped
        )
    if dimension not in ("network", "subnet", "device", "client", "person"):
        dimension = "client"
    rows = []
    for key, name, total, bad in _grouped(filters, dimension):
        if dimension == "network":
            label = _network_label(key)
        elif dimension == "person":
            label = name or NO_NAME
        else:
            label = key or "Not reported"
        rows.append(RateRow(key, label, total, bad))
    return sorted(rows, key=lambda row: (-row.rate, -row.classified, row.label))


def top_rates_by(filters: Filters, dimension: str, limit: int) -> tuple[list[RateRow], int]:
    """The first ``limit`` rows of poor_rate_by, and how many groups there are in all.

    People are thousands of groups over tens of thousands of daily rows: for them the
    database sums, orders and cuts, so only the rows shown travel. The few groups of the other
    dimensions are ordered here, as poor_rate_by does.
    """
    if dimension != "person":
        rows = poor_rate_by(filters, dimension)
        return rows[:limit], len(rows)
    grouped = (
        _rollups(filters, "person")
        .values("key")
        .annotate(total=Sum("classified"), bad=Sum("poor"), name=Max("label"))
        .order_by()
    )
    inner, params = grouped.query.sql_with_params()
    # The order of poor_rate_by: rate, then size, then the label by code point (as Python
    # compares text, whatever the database's collation).
    binary = 'COLLATE "C"' if connection.vendor == "postgresql" else "COLLATE BINARY"
    sql = (
        "SELECT grouped.key, grouped.name, grouped.total, grouped.bad, COUNT(*) OVER () "  # noqa: S608 - the ORM's own SQL and fixed words
        f"FROM ({inner}) grouped WHERE grouped.total > 0 "
        "ORDER BY CAST(grouped.bad AS DOUBLE PRECISION) / grouped.total DESC, "
        f"grouped.total DESC, COALESCE(NULLIF(grouped.name, ''), %s) {binary} LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, NO_NAME, limit])
        found = cursor.fetchall()
    rows = [RateRow(key, name or NO_NAME, total, bad) for key, name, total, bad, _ in found]
    return rows, (found[0][4] if found else 0)


def building_of(subnet: str, mappings: list[tuple[Any, str]]) -> str | None:
    """Return the building an admin mapped ``subnet`` to (exact, or inside a mapped range)."""
    try:
        address = ipaddress.ip_address(subnet)
    except ValueError:
        return None
    for network, building in mappings:
        if address in network:
            return building
    return None


def subnet_mappings() -> list[tuple[Any, str]]:
    """Return every mapping as (network, building), the narrowest first."""
    found = []
    for mapping in BuildingSubnet.objects.all():
        try:
            found.append((ipaddress.ip_network(mapping.subnet, strict=False), mapping.building))
        except ValueError:
            continue
    return sorted(found, key=lambda item: -item[0].prefixlen)


def _by_building(rows: Iterable[dict[str, Any]]) -> list[RateRow]:
    mappings = subnet_mappings()
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        building = building_of(row["subnet"], mappings) or "Not mapped to a building"
        totals[building][0] += row["classified"]
        totals[building][1] += row["poor"]
    result = [RateRow(name, name, counts[0], counts[1]) for name, counts in totals.items()]
    return sorted(result, key=lambda row: (-row.rate, -row.classified, row.label))


@dataclass(frozen=True)
class WorstCall:
    """One of the calls with the most poor streams."""

    graph_id: str
    start: datetime
    call_type: str
    organizer: str
    poor: int
    classified: int
    cause: str


def _figures_of(stream: CallStream) -> quality.Figures:
    return quality.Figures(
        modality=stream.modality,
        jitter_ms=stream.jitter_ms,
        packet_loss=stream.packet_loss,
        round_trip_ms=stream.round_trip_ms,
        concealed_ratio=stream.concealed_ratio,
        mos_degradation=stream.mos_degradation,
        video_frame_rate=stream.video_frame_rate,
        video_frame_loss_pct=stream.video_frame_loss_pct,
        post_fec_loss=stream.post_fec_loss,
    )


def explain_stream(stream: CallStream, wifi_signal: int | None = None) -> str:
    """Explain a Poor stream in words; empty for the others."""
    if stream.verdict != quality.POOR:
        return ""
    reasons = [code for code in stream.reasons.split(",") if code]
    return quality.explain(_figures_of(stream), reasons, stream.network, wifi_signal)


def worst_calls(filters: Filters, limit: int = WORST_CALLS) -> list[WorstCall]:
    """The calls with the most poor streams, each with its worst stream explained."""
    calls = CallRecord.objects.started_between(filters.since, filters.until).filter(
        streams_poor__gt=0
    )
    if filters.call_type:
        calls = calls.filter(call_type=filters.call_type)
    if filters.modality:
        calls = calls.filter(streams__modality=filters.modality, streams__verdict=quality.POOR)
        calls = calls.distinct()
    chosen = list(calls.order_by("-streams_poor", "-start")[:limit])
    first_poor: dict[int, CallStream] = {}
    streams = CallStream.objects.filter(
        call_id__in=[call.pk for call in chosen], verdict=quality.POOR
    ).select_related("sender")
    for stream in streams.order_by("call_id", "id"):
        first_poor.setdefault(stream.call_id, stream)
    result = []
    for call in chosen:
        worst = first_poor.get(call.pk)
        cause = ""
        if worst is not None:
            who = worst.person_name or "a participant"
            signal = worst.sender.wifi_signal if worst.sender else None
            cause = f"{explain_stream(worst, signal)} ({who})"
        result.append(
            WorstCall(
                graph_id=call.graph_id,
                start=call.start,
                call_type=CALL_TYPES.get(call.call_type, call.call_type),
                organizer=call.organizer_name,
                poor=call.streams_poor,
                classified=call.streams_classified,
                cause=cause,
            )
        )
    return result


@dataclass
class StreamView:
    """One stream of a timeline, in words."""

    modality: str
    direction: str
    verdict: str
    figures: str
    explanation: str


@dataclass
class SegmentView:
    start: datetime
    end: datetime
    streams: list[StreamView] = field(default_factory=list)


@dataclass
class SessionView:
    start: datetime
    end: datetime
    caller: str
    callee: str
    segments: list[SegmentView] = field(default_factory=list)


@dataclass
class Timeline:
    """A call's sessions, segments and streams, and a summary in words."""

    call: CallRecord
    sessions: list[SessionView]
    summary: str
    participants: list[str]


def _endpoint_words(endpoint: CallEndpoint | None) -> str:
    if endpoint is None:
        return "an unknown endpoint"
    if endpoint.is_service:
        return "the Teams meeting server"
    who = endpoint.display_name or "someone"
    client = quality.client_words(endpoint.product_family, endpoint.platform)
    network = quality.describe_network(endpoint.network or "unknown", endpoint.wifi_signal)
    device = f", {endpoint.capture_device}" if endpoint.capture_device else ""
    return f"{who} ({client}, {network}{device})"


def _figures_words(stream: CallStream) -> str:
    parts = []
    if stream.jitter_ms is not None:
        parts.append(f"jitter {stream.jitter_ms:.0f} ms")
    if stream.packet_loss is not None:
        parts.append(f"loss {quality.percent(stream.packet_loss)}")
    if stream.round_trip_ms is not None:
        parts.append(f"round trip {stream.round_trip_ms:.0f} ms")
    if stream.concealed_ratio is not None:
        parts.append(f"concealed {quality.percent(stream.concealed_ratio)}")
    if stream.mos_degradation is not None:
        parts.append(f"MOS degradation {stream.mos_degradation:.1f}")
    if stream.video_frame_rate is not None:
        parts.append(f"{stream.video_frame_rate:.0f} frames/s")
    return ", ".join(parts) or "no figures reported"


def call_timeline(call: CallRecord) -> Timeline:
    """Lay out a call's sessions, segments and streams, and say what went wrong."""
    endpoints = {endpoint.pk: endpoint for endpoint in CallEndpoint.objects.filter(call=call)}
    sessions = list(CallSession.objects.filter(call=call).order_by("start", "pk"))
    segments = defaultdict(list)
    for segment in call.segments.order_by("start", "pk"):
        segments[segment.session_id].append(segment)
    streams = defaultdict(list)
    for stream in CallStream.objects.filter(call=call).order_by("pk"):
        streams[stream.segment_id].append(stream)
    views = []
    problems: Counter[str] = Counter()
    for session in sessions:
        session_segments = segments.get(session.pk, [])
        first = session_segments[0] if session_segments else None
        view = SessionView(
            start=session.start,
            end=session.end,
            caller=_endpoint_words(
                endpoints.get(first.caller_id) if first and first.caller_id else None
            ),
            callee=_endpoint_words(
                endpoints.get(first.callee_id) if first and first.callee_id else None
            ),
        )
        for segment in session_segments:
            segment_view = SegmentView(start=segment.start, end=segment.end)
            for stream in streams.get(segment.pk, []):
                sender = endpoints.get(stream.sender_id) if stream.sender_id else None
                explanation = explain_stream(stream, sender.wifi_signal if sender else None)
                if explanation:
                    problems[f"{explanation} ({stream.person_name or 'a participant'})"] += 1
                direction = (
                    f"from {sender.display_name or 'the meeting server'}"
                    if sender and not sender.is_service
                    else "from the meeting server"
                )
                segment_view.streams.append(
                    StreamView(
                        modality=MODALITIES.get(stream.modality, "Other"),
                        direction=direction,
                        verdict=stream.verdict,
                        figures=_figures_words(stream),
                        explanation=explanation,
                    )
                )
            view.segments.append(segment_view)
        views.append(view)
    if problems:
        worst, count = problems.most_common(1)[0]
        summary = (
            f"{call.streams_poor} of {call.streams_classified} classified streams were poor. "
            f"Most often: {worst}" + (f", in {count} streams." if count > 1 else ".")
        )
    elif call.streams_classified:
        summary = f"All {call.streams_classified} classified streams were good."
    else:
        summary = "No stream reported enough figures to be classified."
    participants = list(
        CallParticipant.objects.filter(call=call)
        .order_by("display_name")
        .values_list("display_name", flat=True)
    )
    return Timeline(call=call, sessions=views, summary=summary, participants=participants)


@dataclass(frozen=True)
class MyCall:
    """One of a person's calls, judged from their side."""

    graph_id: str
    start: datetime
    end: datetime
    kind: str
    with_whom: str
    verdict: str  # good, poor, unclassified
    verdict_words: str
    cause: str | None
    cause_words: str
    detail: str


@dataclass(frozen=True)
class MyCalls:
    calls: list[MyCall]
    tips: list[str]
    poor: int


def my_calls(person_id: str, *, since: datetime) -> MyCalls:
    """A person's calls since ``since``, newest first, each with a verdict and likely cause.

    The verdicts were reached when each record was stored (CallParticipant.verdict, cause and
    detail): this reads the person's rows with their calls, and the names of the others.
    """
    mine = list(
        CallParticipant.objects.filter(person_id=person_id, call_start__gte=since)
        .order_by("-call_start")
        .select_related("call")
        .only(
            "verdict", "cause", "detail", "call__graph_id", "call__start", "call__end",
            "call__call_type",
        )[:500]
    )  # fmt: skip
    names: dict[int, list[str]] = defaultdict(list)
    for call_id, name, other in CallParticipant.objects.filter(
        call_id__in=[row.call_id for row in mine]
    ).values_list("call_id", "display_name", "person_id"):
        if other != person_id:
            names[call_id].append(name or "a guest")
    result = []
    causes: Counter[str] = Counter()
    for row in mine:
        call = row.call
        cause = row.cause or None
        if row.verdict == quality.UNCLASSIFIED:
            words = "Not enough figures to judge"
        elif row.verdict == quality.GOOD:
            words = "Good"
        else:
            words = "Poor"
        if cause is not None:
            causes[cause] += 1
        people = names[row.call_id]
        with_whom = ", ".join(people[:3]) + (
            f" and {len(people) - 3} more" if len(people) > 3 else ""
        )
        result.append(
            MyCall(
                graph_id=call.graph_id,
                start=call.start,
                end=call.end,
                kind="Meeting" if call.call_type == "groupCall" else "Call",
                with_whom=with_whom or "no one else",
                verdict=row.verdict,
                verdict_words=words,
                cause=cause,
                cause_words=f"Likely cause: {quality.CAUSES[cause][0]}" if cause else "",
                detail=row.detail,
            )
        )
    tips = [
        quality.CAUSES[cause][1]
        for cause, count in causes.most_common()
        if count >= 2 and quality.CAUSES[cause][1]
    ]
    return MyCalls(
        calls=result, tips=tips, poor=sum(1 for c in result if c.verdict == quality.POOR)
    )


@dataclass(frozen=True)
class UsageRow:
    month: str
    person: str
    calls: int
    minutes: int
    charge: str


def pstn_usage(*, since: datetime) -> list[UsageRow]:
    """PSTN and direct-routing minutes and calls by month and person, newest month first."""
    rows = (
        PstnCall.objects.filter(start__gte=since)
        .annotate(month=TruncMonth("start", tzinfo=timezone.get_current_timezone()))
        .values("month", "display_name", "user_principal_name", "currency")
        .annotate(calls=Count("id"), seconds=Sum("duration_seconds"), charge=Sum("charge"))
        .order_by("-month", "-seconds", "display_name")
    )
    return [
        UsageRow(
            month=f"{row['month']:%B %Y}",
            person=row["display_name"] or row["user_principal_name"] or "Unknown",
            calls=row["calls"],
            minutes=round((row["seconds"] or 0) / 60),
            charge=f"{row['charge'] or 0:.2f} {row['currency']}".strip(),
        )
        for row in rows
    ]
