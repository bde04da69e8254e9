"""Meetings the portal made or looked up, their invitees, live roster and attendance."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q


class MeetingQuerySet(models.QuerySet["Meeting"]):
    """Reads of meetings, chainable."""

    def active(self) -> MeetingQuerySet:
        """Meetings not deleted."""
        return self.filter(deleted_at__isnull=True)

    def for_person(self, user_id: int, graph_id: str) -> MeetingQuerySet:
        """Meetings a person organises or is invited to."""
        return self.filter(
            Q(organizer_id=user_id) | Q(invitees__graph_id__iexact=graph_id or "-")
        ).distinct()

    def upcoming(self, now: datetime) -> MeetingQuerySet:
        """Meetings that have not ended, soonest first."""
        return self.filter(end__gt=now).order_by("start")

    def past(self, now: datetime) -> MeetingQuerySet:
        """Meetings that ended, latest first."""
        return self.filter(end__lte=now).order_by("-start")

    def to_watch(self, since: datetime, until: datetime) -> MeetingQuerySet:
        """Meetings whose call may run between ``since`` and ``until``."""
        return self.active().filter(start__lte=until, end__gte=since)


class Meeting(models.Model):
    """A Teams online meeting, as Graph last described it to the portal."""

    graph_id = models.CharField(max_length=512, unique=True)
    organizer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="organized_meetings",
    )
    organizer_graph_id = models.CharField(max_length=64)
    subject = models.CharField(max_length=255, blank=True)
    start = models.DateTimeField()
    end = models.DateTimeField()
    # The zone the organizer planned in; times are shown in each reader's own zone.
    time_zone = models.CharField(max_length=64, blank=True)
    join_web_url = models.TextField()
    join_meeting_id = models.CharField(max_length=32, blank=True, db_index=True)
    passcode = models.CharField(max_length=32, blank=True)
    external_id = models.CharField(max_length=128, blank=True)
    lobby_scope = models.CharField(max_length=40, blank=True)
    allowed_presenters = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    # The call: set by meeting call events.
    call_started_at = models.DateTimeField(null=True, blank=True)
    call_ended_at = models.DateTimeField(null=True, blank=True)
    # Raised by one at each change of the call or its roster that pages are told of: a page
    # applies changes in this order and re-reads the roster when it sees a number skipped.
    roster_version = models.PositiveBigIntegerField(default=0)
    reports_synced_at = models.DateTimeField(null=True, blank=True)

    objects = MeetingQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["start", "end"], name="meetings_start_end")]

    def __str__(self) -> str:
        return self.subject or self.graph_id

    @property
    def is_running(self) -> bool:
        return self.call_started_at is not None and (
            self.call_ended_at is None or self.call_ended_at < self.call_started_at
        )


class Invitee(models.Model):
    """A person invited to a meeting."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="invitees")
    graph_id = models.CharField(max_length=64)
    upn = models.CharField(max_length=256, blank=True)
    display_name = models.CharField(max_length=256, blank=True)
    role = models.CharField(max_length=20, default="attendee")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["meeting", "graph_id"], name="meetings_invitee_once")
        ]

    def __str__(self) -> str:
        return self.display_name or self.graph_id


class RosterEntry(models.Model):
    """Someone in a meeting's running call (or its lobby), from meeting call events."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="roster")
    participant_id = models.CharField(max_length=64)
    graph_id = models.CharField(max_length=64, blank=True)
    display_name = models.CharField(max_length=256, blank=True)
    # The person's role in the meeting as the page shows it, from the invitation; kept so
    # that a change of the invitation tells pages only of the people whose role it changed.
    role = models.CharField(max_length=20, blank=True)
    in_lobby = models.BooleanField(default=False)
    joined_at = models.DateTimeField()
    # When Graph said what this row holds: events may arrive in any order, older news is
    # ignored. A leaver's row stays (``left_at``) so that a late join does not bring them back.
    event_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "participant_id"], name="meetings_roster_participant_once"
            )
        ]

    def __str__(self) -> str:
        return self.display_name or self.participant_id


class AttendanceReport(models.Model):
    """One session's attendance report of a meeting."""

    meeting = models.ForeignKey(
        Meeting, on_delete=models.CASCADE, related_name="attendance_reports"
    )
    graph_id = models.CharField(max_length=64)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    participant_count = models.PositiveIntegerField(default=0)
    # Each record's first join, last leave and count of stretches are stored (worked out from
    # its intervals once) so the page and the CSV read plain columns, not every interval.
    records_rolled_up = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["meeting", "graph_id"], name="meetings_report_once")
        ]
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return self.graph_id


class AttendanceRecord(models.Model):
    """One person's attendance of one session: their intervals in the call."""

    report = models.ForeignKey(AttendanceReport, on_delete=models.CASCADE, related_name="records")
    graph_id = models.CharField(max_length=64, blank=True)
    display_name = models.CharField(max_length=256, blank=True)
    email = models.CharField(max_length=256, blank=True)
    role = models.CharField(max_length=40, blank=True)
    total_seconds = models.PositiveIntegerField(default=0)
    # [[join ISO, leave ISO, seconds], ...]
    intervals = models.JSONField(default=list)
    # Rolled up from ``intervals`` (see AttendanceReport.records_rolled_up).
    first_joined_at = models.DateTimeField(null=True, blank=True)
    last_left_at = models.DateTimeField(null=True, blank=True)
    times_joined = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-total_seconds", "display_name"]

    def __str__(self) -> str:
        return self.display_name or self.email

    def roll_up(self) -> AttendanceRecord:
        """Set the first join, last leave and number of stretches from the intervals."""
        spans = self.intervals or []
        self.first_joined_at = _moment(spans[0][0]) if spans else None
        self.last_left_at = _moment(spans[-1][1]) if spans else None
        self.times_joined = len(spans)
        return self


def _moment(text: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text))
    except ValueError:
        return None
