"""Reads of meetings for pages: a person's meetings, one meeting they may see, reports."""

from __future__ import annotations

from datetime import datetime

from accounts.models import User
from meetings.models import AttendanceReport, Meeting, MeetingQuerySet


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
    return reports.prefetch_related("records").first()
