"""Call records, normalized: calls, participants, sessions, segments, endpoints and streams.

Only metadata and quality figures are kept, never media. Streams carry copies of the call's
start and type and of their sending endpoint's network, device, client and person, so the
dashboard groups one table instead of joining five.
"""

from __future__ import annotations

from datetime import datetime

from django.db import models


class CallRecordQuerySet(models.QuerySet["CallRecord"]):
    """Reads of the calls, chainable."""

    def started_between(self, since: datetime, until: datetime) -> CallRecordQuerySet:
        """Calls that started in ``[since, until)``."""
        return self.filter(start__gte=since, start__lt=until)

    def with_person(self, person_id: str) -> CallRecordQuerySet:
        """Calls one person took part in (by Graph id)."""
        return self.filter(participants__person_id=person_id)


class CallRecord(models.Model):
    """One call or meeting, at the latest version the portal read."""

    graph_id = models.CharField(max_length=64, unique=True)
    version = models.BigIntegerField()
    call_type = models.CharField(max_length=32)
    modalities = models.CharField(max_length=200, blank=True)  # comma-separated
    start = models.DateTimeField()
    end = models.DateTimeField()
    last_modified = models.DateTimeField(null=True, blank=True)
    join_web_url = models.TextField(blank=True)
    organizer_id = models.CharField(max_length=64, blank=True)
    organizer_name = models.CharField(max_length=256, blank=True)
    streams_classified = models.IntegerField(default=0)
    streams_poor = models.IntegerField(default=0)
    stored_at = models.DateTimeField(auto_now=True)

    objects = CallRecordQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["start"], name="callrec_start"),
            models.Index(fields=["-streams_poor", "start"], name="callrec_poor_start"),
        ]

    def __str__(self) -> str:
        return f"call record {self.graph_id} v{self.version}"


class CallParticipant(models.Model):
    """Someone who took part in a call (participants_v2)."""

    call = models.ForeignKey(CallRecord, on_delete=models.CASCADE, related_name="participants")
    person_id = models.CharField(max_length=64)
    display_name = models.CharField(max_length=256, blank=True)
    call_start = models.DateTimeField()
    # The call judged from this person's side, once, when the record is stored (see
    # storage.judge_for): good, poor or unclassified; the likely cause (a key of
    # quality.CAUSES, or empty); and the first of their own poor streams explained.
    verdict = models.CharField(max_length=16, default="unclassified")
    cause = models.CharField(max_length=16, blank=True)
    detail = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["person_id", "call_start"], name="callrec_part_person")]

    def __str__(self) -> str:
        return f"{self.display_name or self.person_id} in {self.call_id}"


class CallEndpoint(models.Model):
    """One end of a segment: a person's client with its network and device, or a service."""

    call = models.ForeignKey(CallRecord, on_delete=models.CASCADE, related_name="endpoints")
    is_service = models.BooleanField(default=False)
    person_id = models.CharField(max_length=64, blank=True)
    display_name = models.CharField(max_length=256, blank=True)
    platform = models.CharField(max_length=64, blank=True)
    product_family = models.CharField(max_length=64, blank=True)
    network = models.CharField(max_length=32, blank=True)  # see quality.network_kind
    wifi_signal = models.IntegerField(null=True, blank=True)
    subnet = models.CharField(max_length=64, blank=True)
    capture_device = models.CharField(max_length=256, blank=True)
    render_device = models.CharField(max_length=256, blank=True)
    mic_glitch_rate = models.IntegerField(null=True, blank=True)
    device_glitch_ratio = models.FloatField(null=True, blank=True)
    feedback = models.CharField(max_length=32, blank=True)

    def __str__(self) -> str:
        return self.display_name or ("service" if self.is_service else "endpoint")


class CallSession(models.Model):
    """A connection between two endpoints during a call."""

    call = models.ForeignKey(CallRecord, on_delete=models.CASCADE, related_name="sessions")
    graph_id = models.CharField(max_length=64)
    modalities = models.CharField(max_length=200, blank=True)
    start = models.DateTimeField()
    end = models.DateTimeField()

    def __str__(self) -> str:
        return f"session {self.graph_id}"


class CallSegment(models.Model):
    """A stretch of a session."""

    call = models.ForeignKey(CallRecord, on_delete=models.CASCADE, related_name="segments")
    # Segments, endpoints and streams go with their call (by call_id); the links between them
    # need no index of their own and no cascade of their own.
    session = models.ForeignKey(
        CallSession, on_delete=models.DO_NOTHING, db_index=False, related_name="segments"
    )
    graph_id = models.CharField(max_length=64)
    start = models.DateTimeField()
    end = models.DateTimeField()
    caller = models.ForeignKey(
        CallEndpoint, null=True, on_delete=models.DO_NOTHING, db_index=False, related_name="+"
    )
    callee = models.ForeignKey(
        CallEndpoint, null=True, on_delete=models.DO_NOTHING, db_index=False, related_name="+"
    )

    def __str__(self) -> str:
        return f"segment {self.graph_id}"


class CallStream(models.Model):
    """One direction of one medium in a segment, its figures and its classification."""

    call = models.ForeignKey(CallRecord, on_delete=models.CASCADE, related_name="streams")
    segment = models.ForeignKey(
        CallSegment, on_delete=models.DO_NOTHING, db_index=False, related_name="streams"
    )
    # The endpoint that sent it; its network, device and person are copied below.
    sender = models.ForeignKey(
        CallEndpoint, null=True, on_delete=models.DO_NOTHING, db_index=False, related_name="+"
    )
    media_label = models.CharField(max_length=64, blank=True)
    modality = models.CharField(max_length=16)  # audio, video, vbss, other
    direction = models.CharField(max_length=32, blank=True)
    jitter_ms = models.FloatField(null=True)
    packet_loss = models.FloatField(null=True)  # a ratio, 0.1 = 10 %
    round_trip_ms = models.FloatField(null=True)
    concealed_ratio = models.FloatField(null=True)
    mos_degradation = models.FloatField(null=True)
    packet_utilization = models.IntegerField(null=True)
    video_frame_rate = models.FloatField(null=True)
    video_frame_loss_pct = models.FloatField(null=True)
    post_fec_loss = models.FloatField(null=True)
    verdict = models.CharField(max_length=16)  # good, poor, unclassified
    reasons = models.CharField(max_length=200, blank=True)  # comma-separated reason codes
    # Copies for grouping without joins, of the person's endpoint on this stream: the sender,
    # or the receiver when a meeting server sent it.
    call_start = models.DateTimeField()
    call_type = models.CharField(max_length=32)
    network = models.CharField(max_length=32, blank=True)
    subnet = models.CharField(max_length=64, blank=True)
    device = models.CharField(max_length=256, blank=True)
    client = models.CharField(max_length=128, blank=True)
    person_id = models.CharField(max_length=64, blank=True)
    person_name = models.CharField(max_length=256, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["call_start", "modality"], name="callrec_stream_start"),
            models.Index(fields=["person_id", "call_start"], name="callrec_stream_person"),
        ]

    def __str__(self) -> str:
        return f"{self.modality} stream {self.direction} ({self.verdict})"


class BuildingSubnet(models.Model):
    """An admin's mapping of a subnet to the building it serves (as CQD's building data)."""

    subnet = models.CharField(max_length=64, unique=True)
    building = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.subnet} → {self.building}"


class PstnCall(models.Model):
    """One PSTN or direct-routing call, from getPstnCalls / getDirectRoutingCalls."""

    SOURCES = [("pstn", "Calling Plan"), ("direct", "Direct Routing")]

    graph_id = models.CharField(max_length=64)
    source = models.CharField(max_length=16, choices=SOURCES)
    person_id = models.CharField(max_length=64, blank=True)
    user_principal_name = models.CharField(max_length=256, blank=True)
    display_name = models.CharField(max_length=256, blank=True)
    start = models.DateTimeField()
    duration_seconds = models.IntegerField(default=0)
    call_type = models.CharField(max_length=64, blank=True)
    charge = models.FloatField(null=True)
    currency = models.CharField(max_length=8, blank=True)
    destination = models.CharField(max_length=128, blank=True)
    successful = models.BooleanField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "graph_id"], name="callrec_pstn_unique")
        ]
        indexes = [models.Index(fields=["start"], name="callrec_pstn_start")]

    def __str__(self) -> str:
        return f"{self.source} call {self.graph_id}"


class StreamRollup(models.Model):
    """Good and poor streams counted per hour and per dashboard group, kept as records arrive.

    The dashboard reads these counts instead of grouping every stream of the range: with a
    hundred thousand calls a month that is a few thousand rows instead of a million.
    ``dimension`` is ``all`` (one row an hour), ``network``, ``subnet``, ``device``,
    ``client`` or ``person``; ``key`` is the group's value within it. People are counted by
    the UTC day rather than the hour, which keeps their rows few.
    """

    hour = models.DateTimeField()  # the UTC hour (for people, the UTC day) the calls started
    modality = models.CharField(max_length=16)
    call_type = models.CharField(max_length=32)
    dimension = models.CharField(max_length=16)
    key = models.CharField(max_length=256)
    label = models.CharField(max_length=256, blank=True)
    classified = models.IntegerField(default=0)
    poor = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "modality", "call_type", "dimension", "key"],
                name="callrec_rollup_unique",
            )
        ]
        indexes = [
            models.Index(fields=["dimension", "hour"], name="callrec_rollup_dim_hour"),
            # People's rows are read for one modality and call type (or any, ""): without it
            # the chart by person scans every person's rows of every modality and type.
            models.Index(
                fields=["dimension", "modality", "call_type", "hour"], name="callrec_rollup_dmt"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dimension}={self.key} at {self.hour:%Y-%m-%d %H}:00"
