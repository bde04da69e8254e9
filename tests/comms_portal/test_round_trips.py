"""Reads fetched together give what each queryset gives alone, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import models, transaction

from accounts.models import User
from comms_portal.round_trips import fetch_together
from meetings.models import AttendanceRecord, AttendanceReport, Invitee, Meeting, RosterEntry

pytestmark = pytest.mark.django_db

START = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def meeting() -> Meeting:
    organizer = User.objects.create(username="adele", display_name="Adele Vance", object_id="a-1")
    meeting = Meeting.objects.create(
        graph_id="m1",
        organizer=organizer,
        organizer_graph_id="a-1",
        subject="Review",
        start=START,
        end=START + timedelta(hours=1),
        join_web_url="https://teams.microsoft.com/l/meetup-join/m1",
    )
    Invitee.objects.create(meeting=meeting, graph_id="g-ada", role="presenter")
    Invitee.objects.create(meeting=meeting, graph_id="g-alan", role="attendee")
    for index, name in enumerate(["Ada", "Alan", "Hedy"]):
        RosterEntry.objects.create(
            meeting=meeting,
            participant_id=f"p-{name}",
            graph_id=f"g-{name.lower()}",
            display_name=name,
            joined_at=START + timedelta(minutes=index),
            event_at=START + timedelta(minutes=index),
        )
    report = AttendanceReport.objects.create(
        meeting=meeting, graph_id="r1", started_at=START, ended_at=START, participant_count=1
    )
    AttendanceRecord.objects.create(
        report=report,
        display_name="Ada",
        email="ada@example.org",
        role="Presenter",
        total_seconds=60,
        intervals=[[START.isoformat(), START.isoformat(), 1]],
    )
    return meeting


def _shown(row: object) -> object:
    """A model instance by its field values (model equality looks at the primary key only)."""
    if isinstance(row, models.Model):
        return {name: value for name, value in vars(row).items() if name != "_state"}
    return row


def test_each_read_gives_what_it_gives_alone(meeting: Meeting) -> None:
    reads = [
        Meeting.objects.select_for_update().filter(pk=meeting.pk),
        RosterEntry.objects.filter(meeting=meeting, participant_id__in=["p-Ada", "p-Hedy"]),
        Invitee.objects.filter(meeting=meeting).values_list("graph_id", "role"),
        RosterEntry.objects.filter(meeting=meeting).values_list("display_name", flat=True),
        # A JSON field comes back decoded, as the ORM decodes it.
        AttendanceRecord.objects.filter(report__meeting=meeting),
    ]
    with transaction.atomic():
        together = fetch_together(*reads)
        alone = [list(read) for read in reads]
    assert [[_shown(row) for row in rows] for rows in together] == [
        [_shown(row) for row in rows] for rows in alone
    ]
    (locked,), roster, invitations, names, (record,) = together
    assert locked.subject == "Review" and locked.start == START
    assert sorted(entry.display_name for entry in roster) == ["Ada", "Hedy"]
    assert all(entry.joined_at.tzinfo is not None for entry in roster)
    assert sorted(invitations) == [("g-ada", "presenter"), ("g-alan", "attendee")]
    assert sorted(names) == ["Ada", "Alan", "Hedy"]
    assert record.intervals == [[START.isoformat(), START.isoformat(), 1]]


def test_a_read_finding_nothing_gives_an_empty_list(meeting: Meeting) -> None:
    found = fetch_together(
        Meeting.objects.filter(pk=meeting.pk + 1),
        RosterEntry.objects.filter(meeting=meeting, participant_id__in=["p-nobody"]),
    )
    assert found == [[], []]


def test_reads_of_another_shape_are_refused(meeting: Meeting) -> None:
    with pytest.raises(ValueError, match="values_list"):
        fetch_together(Meeting.objects.all(), Meeting.objects.values("subject"))
