"""State changes of meetings: schedule, Meet now, change, cancel, look up, attendance, roster.

Each action calls Graph with the person's delegated token, then records what Graph answered;
roster changes come from meeting call events (``meetings.handlers``), are applied by
``meetings.roster`` and published on the meeting's live topic after commit.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.graph_clients import graph_for_user
from accounts.identity import FEATURE_SCOPES
from accounts.models import User
from accounts.token_store import ReauthRequired, TokenUnavailable
from comms_portal.graph import BadRequest, Forbidden, GraphClient, GraphError, NotFound, Throttled
from comms_portal.graph import meetings as graph_meetings
from comms_portal.graph.meetings import (
    CallEvent,
    MeetingParticipantInfo,
    OnlineMeeting,
)
from directory.models import Person
from meetings import roster
from meetings.models import AttendanceRecord, AttendanceReport, Invitee, Meeting

logger = logging.getLogger(__name__)

MEET_NOW_MINUTES = 30
_JOIN_URL = re.compile(r"^https://[^\s]+$")
_MEETING_ID = re.compile(r"^[0-9 ]{6,40}$")


class MeetingActionFailed(Exception):
    """Graph did not do what was asked; the message says why in words a person understands."""


def _words(error: Exception) -> str:
    if isinstance(error, ReauthRequired):
        return "Your Microsoft sign-in has expired. Sign in again, then try once more."
    if isinstance(error, Throttled):
        wait = f" in {int(error.retry_after)} seconds" if error.retry_after else " in a moment"
        return f"Microsoft Teams is handling too many requests. Try again{wait}."
    if isinstance(error, Forbidden):
        return (
            "Microsoft refused: the portal lacks permission to manage your meetings "
            "(OnlineMeetings.ReadWrite). Ask your administrator."
        )
    if isinstance(error, NotFound):
        return "Microsoft Teams no longer has that meeting."
    if isinstance(error, BadRequest):
        return f"Microsoft Teams refused the meeting: {error}"
    if isinstance(error, TokenUnavailable):
        return "The portal could not get a Microsoft sign-in token just now. Try again shortly."
    return "Microsoft Teams did not answer as expected. Try again shortly."


@contextmanager
def _graph_failures(what: str) -> Iterator[None]:
    """Turn Graph's and the token store's errors into MeetingActionFailed."""
    try:
        yield
    except (GraphError, ReauthRequired, TokenUnavailable) as error:
        logger.warning("%s failed: %s", what, error)
        raise MeetingActionFailed(_words(error)) from error


class NotOrganizer(PermissionError):
    """Only a meeting's organizer may change or cancel it."""


class UnrecognisedLookup(ValueError):
    """Text that is neither a Teams join link nor a meeting ID."""


@dataclass(frozen=True)
class MeetingPlan:
    """What a person asks for when scheduling or changing a meeting."""

    subject: str
    start: datetime
    end: datetime
    time_zone: str
    invitees: list[Person]
    passcode_required: bool = False
    lobby_scope: str = "organization"
    allowed_presenters: str = "everyone"


def graph_as(user: User) -> GraphClient:
    """Return a Graph client acting as ``user`` with the meetings permissions."""
    return graph_for_user(user.pk, FEATURE_SCOPES["meetings"])


def _attendees(people: list[Person]) -> list[dict[str, object]]:
    return [graph_meetings.attendee_json(p.graph_id, p.user_principal_name) for p in people]


def _invitee(
    meeting: Meeting, user_id: str, attendee: MeetingParticipantInfo, person: Person | None
) -> Invitee:
    return Invitee(
        meeting=meeting,
        graph_id=user_id,
        upn=attendee.upn or (person.user_principal_name if person else ""),
        display_name=person.display_name if person else (attendee.upn or ""),
        role=attendee.role or "attendee",
    )


def record_meeting(
    found: OnlineMeeting,
    *,
    organizer: User | None = None,
    time_zone: str = "",
    known: Sequence[Person] = (),
    new: bool = False,
) -> Meeting:
    """Store (or refresh) what Graph says of a meeting, invitees included (``known``: people
    already read, such as those just invited, looked up again only if Graph names others;
    ``new``: Graph has just created it, so no row of it can be stored yet)."""
    organizer_graph_id = found.organizer_id or (organizer.object_id if organizer else "")
    if organizer is None and organizer_graph_id:
        organizer = User.objects.filter(object_id__iexact=organizer_graph_id).first()
    settings = found.join_meeting_id_settings
    lobby = found.lobby_bypass_settings
    defaults = {
        "organizer": organizer,
        "organizer_graph_id": organizer_graph_id,
        "subject": (found.subject or "")[:255],
        "start": found.start_date_time,
        "end": found.end_date_time,
        "join_web_url": found.join_web_url,
        "join_meeting_id": (settings.join_meeting_id if settings else None) or "",
        "passcode": (settings.passcode if settings else None) or "",
        "external_id": found.external_id or "",
        "lobby_scope": (lobby.scope if lobby else None) or "",
        "allowed_presenters": found.allowed_presenters or "",
        "deleted_at": None,
    }
    if time_zone:
        defaults["time_zone"] = time_zone
    attendees = found.participants.attendees if found.participants else []
    # One row per invitee (the last word on a person Graph repeats wins).
    invited = {a.user_id: a for a in attendees if a.user_id}
    ids = list(invited)
    with transaction.atomic():
        if new:
            # One insert, where a read and savepoints would find nothing (an upsert all the
            # same: a row of that id is refreshed rather than refused).
            meeting = Meeting(graph_id=found.id, **defaults)
            Meeting.objects.bulk_create(
                [meeting],
                update_conflicts=True,
                unique_fields=["graph_id"],
                update_fields=[*defaults, "updated_at"],
            )
        else:
            meeting, _ = Meeting.objects.update_or_create(graph_id=found.id, defaults=defaults)
            meeting.invitees.exclude(graph_id__in=ids).delete()
        people = {person.graph_id: person for person in known}
        unknown = [one for one in ids if one not in people]
        people |= Person.objects.in_bulk(unknown, field_name="graph_id")
        # One statement for every invitee, new or known, rather than a read and a write each.
        Invitee.objects.bulk_create(
            [_invitee(meeting, key, one, people.get(key)) for key, one in invited.items()],
            update_conflicts=True,
            unique_fields=["meeting", "graph_id"],
            update_fields=["upn", "display_name", "role"],
        )
    return meeting


def schedule_meeting(*, organizer: User, plan: MeetingPlan) -> Meeting:
    """Create a Teams meeting at Graph for ``organizer`` and record it."""
    body = graph_meetings.meeting_body(
        subject=plan.subject,
        start=plan.start,
        end=plan.end,
        attendees=_attendees(plan.invitees),
        passcode_required=plan.passcode_required,
        lobby_scope=plan.lobby_scope,
        allowed_presenters=plan.allowed_presenters,
    )
    with _graph_failures("creating a meeting"):
        created = graph_meetings.create_meeting(graph_as(organizer), body)
    meeting = record_meeting(
        created, organizer=organizer, time_zone=plan.time_zone, known=plan.invitees, new=True
    )
    return meeting


def meet_now_external_id(organizer: User, person: Person, now: datetime) -> str:
    """Return the createOrGet key of a Meet now: the pair and the hour, so a second click
    opens the same meeting instead of making another."""
    key = f"{organizer.object_id.lower()}|{person.graph_id.lower()}|{now:%Y%m%d%H}"
    return "meet-now-" + hashlib.sha256(key.encode()).hexdigest()[:32]


def meet_now(*, organizer: User, person: Person, now: datetime | None = None) -> Meeting:
    """Start a meeting with ``person`` now (createOrGet: one per pair and hour)."""
    moment = now or timezone.now()
    names = f"{organizer.display_name or organizer.username} and {person.display_name}"
    body = graph_meetings.meeting_body(
        subject=f"Meet now: {names}"[:255],
        start=moment,
        end=moment + timedelta(minutes=MEET_NOW_MINUTES),
        attendees=_attendees([person]) if person.graph_id != organizer.object_id else [],
        external_id=meet_now_external_id(organizer, person, moment),
    )
    with _graph_failures("Meet now"):
        found, _ = graph_meetings.create_or_get_meeting(graph_as(organizer), body)
    meeting = record_meeting(found, organizer=organizer, time_zone=organizer.time_zone)
    return meeting


def _check_organizer(user: User, meeting: Meeting) -> None:
    if meeting.organizer_id != user.pk:
        raise NotOrganizer("Only the meeting's organizer may change or cancel it.")


def change_meeting(*, user: User, meeting: Meeting, plan: MeetingPlan) -> Meeting:
    """Change a meeting at Graph (times together, the full attendee list) and here."""
    _check_organizer(user, meeting)
    body = graph_meetings.meeting_body(
        subject=plan.subject,
        start=plan.start,
        end=plan.end,
        attendees=_attendees(plan.invitees),
        lobby_scope=plan.lobby_scope,
        allowed_presenters=plan.allowed_presenters,
    )
    with _graph_failures("changing a meeting"):
        changed = graph_meetings.update_meeting(graph_as(user), meeting.graph_id, body)
    updated = record_meeting(changed, organizer=user, time_zone=plan.time_zone, known=plan.invitees)
    # Presenters added or removed: the pages of a running call show the new roles.
    roster.refresh_roles(updated.pk)
    return updated


def cancel_meeting(*, user: User, meeting: Meeting) -> None:
    """Delete a meeting at Graph (already gone counts as done) and mark it deleted here."""
    _check_organizer(user, meeting)
    with _graph_failures("cancelling a meeting"), suppress(NotFound):
        graph_meetings.delete_meeting(graph_as(user), meeting.graph_id)
    meeting.deleted_at = timezone.now()
    meeting.save(update_fields=["deleted_at", "updated_at"])


def look_up_meeting(*, user: User, text: str) -> Meeting | None:
    """Find a meeting by its join link or meeting ID, as ``user`` may see it."""
    cleaned = text.strip()
    if not (_JOIN_URL.match(cleaned) or _MEETING_ID.match(cleaned)):
        raise UnrecognisedLookup(
            "Paste a Teams join link (https://…) or type the meeting ID (digits)."
        )
    with _graph_failures("looking a meeting up"):
        client = graph_as(user)
        if _JOIN_URL.match(cleaned):
            found = graph_meetings.find_by_join_url(client, cleaned)
        else:
            found = graph_meetings.find_by_join_meeting_id(client, cleaned.replace(" ", ""))
    if found is None:
        return None
    return record_meeting(found)


def sync_attendance(*, user: User, meeting: Meeting) -> list[AttendanceReport]:
    """Read the meeting's attendance reports from Graph (as its organizer) and store them."""
    _check_organizer(user, meeting)
    with _graph_failures("reading attendance reports"):
        client = graph_as(user)
        fetched = [
            graph_meetings.get_attendance_report(client, meeting.graph_id, listed.id)
            for listed in graph_meetings.list_attendance_reports(client, meeting.graph_id)
        ]
    reports = []
    for full in fetched:
        with transaction.atomic():
            report, _ = AttendanceReport.objects.update_or_create(
                meeting=meeting,
                graph_id=full.id,
                defaults={
                    "started_at": full.meeting_start_date_time,
                    "ended_at": full.meeting_end_date_time,
                    "participant_count": full.total_participant_count,
                    "records_rolled_up": True,
                },
            )
            report.records.all().delete()
            AttendanceRecord.objects.bulk_create(
                AttendanceRecord(
                    report=report,
                    graph_id=(record.identity.id if record.identity else None) or "",
                    display_name=(record.identity.display_name if record.identity else None) or "",
                    email=record.email_address or "",
                    role=record.role or "",
                    total_seconds=record.total_attendance_in_seconds,
                    intervals=[
                        [
                            span.join_date_time.isoformat(),
                            span.leave_date_time.isoformat(),
                            span.duration_in_seconds,
                        ]
                        for span in record.attendance_intervals
                    ],
                ).roll_up()
                for record in full.attendance_records
            )
        reports.append(report)
    meeting.reports_synced_at = timezone.now()
    meeting.save(update_fields=["reports_synced_at"])
    return reports


def roll_up_attendance(report: AttendanceReport) -> None:
    """Store each record's first join, last leave and stretches once (reports kept before
    those columns existed); the page and the CSV then read only columns."""
    if report.records_rolled_up:
        return
    stored = AttendanceRecord.objects.filter(report_id=report.pk).only("pk", "intervals")
    records = [record.roll_up() for record in stored]
    with transaction.atomic():
        AttendanceRecord.objects.bulk_update(
            records, ["first_joined_at", "last_left_at", "times_joined"], batch_size=500
        )
        AttendanceReport.objects.filter(pk=report.pk).update(records_rolled_up=True)
    report.records_rolled_up = True


def invited_people(meeting: Meeting) -> list[Person]:
    """Return the directory people invited to a meeting, in invitation order."""
    ids = list(meeting.invitees.order_by("pk").values_list("graph_id", flat=True))
    found = Person.objects.filter(graph_id__in=ids).in_bulk(field_name="graph_id")
    return [found[graph_id] for graph_id in ids if graph_id in found]


def roster_message(meeting: Meeting) -> dict[str, object]:
    """Return the meeting's whole roster now, as pages read it (see ``meetings.roster``)."""
    return roster.roster_snapshot(meeting)


def record_call_events(meeting: Meeting, events: Sequence[CallEvent]) -> int:
    """Apply a meeting's call events together; its pages hear once what changed."""
    return roster.record_call_events(meeting.pk, events)


def record_call_events_of(meeting_id: int, events: Sequence[CallEvent]) -> int | None:
    """Apply call events to the meeting ``meeting_id``; None when no such meeting is kept."""
    try:
        return roster.record_call_events(meeting_id, events)
    except Meeting.DoesNotExist:
        return None


def record_call_event(meeting: Meeting, event: CallEvent) -> None:
    """Apply one meeting call event to the stored call and roster; publish after commit."""
    roster.record_call_events(meeting.pk, [event])
