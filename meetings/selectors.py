"""Reads of meetings for pages: a person's meetings, one meeting they may see, reports."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db.models import F

from accounts.models import User
from meetings.models import AttendanceRecord, AttendanceReport, Meeting, MeetingQuerySet


def meetings_of(user: User) -> MeetingQuerySet:
    """Meetings ``user`` organises or is invited to, not deleted."""
    return Meeting.objects.active().for_person(user.pk, user.object_id)


def upcoming_meetings(user: User, now: datetime, limit: int = 50) -> list[Meeting]:
    """The person's meetings that have not ended, soonest first."""
    return list(meetings_of(user).upcoming(now).prefetch_related("invitees")[:limit])


def past_meetings(user: User, now: datetime, limit: int = 50) -> list[Meeting]:
    """The person's meetings that ended, latest first."""
    return list(meetings_of(user).past(now).prefetch_related("invitees")[:limit])


def meeting_for(user: User, meeting_id: int) -> Meeting | None:
    """Return the meeting if ``user`` organises it or is invited, else None."""
    return meetings_of(user).filter(pk=meeting_id).select_related("organizer").first()


def latest_report(meeting: Meeting, report_id: int | None = None) -> AttendanceReport | None:
    """Return the meeting's report ``report_id``, or its latest one."""
    reports = meeting.attendance_reports.all()
    if report_id is not None:
        reports = reports.filter(pk=report_id)
    return reports.first()


@dataclass(frozen=True)
class AttendanceLine:
    """One person's line of an attendance report, from its rolled-up columns."""

    display_name: str
    email: str
    role: str
    total_seconds: int
    first_joined: datetime | None
    last_left: datetime | None
    times_joined: int

    @property
    def name(self) -> str:
        """The name to show: the display name, else the e-mail address."""
        return self.display_name or self.email


# The columns the attendance table sorts by, as a reader names them.
ATTENDANCE_SORT_FIELDS = {
    "name": "display_name",
    "role": "role",
    "time": "total_seconds",
    "joined": "first_joined_at",
    "left": "last_left_at",
}
LONGEST_FIRST = "-time"


def attendance_lines(
    report: AttendanceReport, sort: str = LONGEST_FIRST
) -> Iterator[AttendanceLine]:
    """Everyone of a rolled-up report in ``sort`` order (a key of ATTENDANCE_SORT_FIELDS,
    "-" first for descending; longest in the meeting first by default), read a chunk at a
    time (no intervals read)."""
    descending = sort.startswith("-")
    field = ATTENDANCE_SORT_FIELDS.get(sort.removeprefix("-"), "total_seconds")
    column = F(field).desc(nulls_last=True) if descending else F(field).asc(nulls_last=True)
    rows = report.records.order_by(column, "display_name").values_list(
        "display_name",
        "email",
        "role",
        "total_seconds",
        "first_joined_at",
        "last_left_at",
        "times_joined",
    )
    for row in rows.iterator(chunk_size=500):
        yield AttendanceLine(*row)


def timeline_records(report: AttendanceReport, limit: int) -> list[AttendanceRecord]:
    """The ``limit`` people longest in the meeting, with their intervals."""
    # Not through ``report.records``: that would read each row's deferred report id back.
    return list(
        AttendanceRecord.objects.filter(report_id=report.pk)
        .order_by("-total_seconds", "display_name")
        .only("display_name", "email", "intervals")[:limit]
    )
