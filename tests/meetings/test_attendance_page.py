"""The attendance page and CSV from stored reports: times on the reader's clock, the timeline
capped, cells a spreadsheet would run as formulas made inert, other reports not found."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.identity import FEATURE_SCOPES, SIGN_IN_SCOPES
from accounts.models import User
from meetings.attendance import duration_words
from meetings.models import AttendanceRecord, AttendanceReport, Meeting
from meetings.views import CSV_ROWS_PER_CHUNK, TIMELINE_PEOPLE

pytestmark = pytest.mark.django_db

START = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def organizer() -> User:
    return User.objects.create(
        username="adele",
        display_name="Adele Vance",
        object_id="a-1",
        time_zone="America/New_York",
        granted_scopes=" ".join([*SIGN_IN_SCOPES, *FEATURE_SCOPES["meetings"]]),
    )


def report_with(organizer: User, people: int, name: str = "Person") -> AttendanceReport:
    meeting = Meeting.objects.create(
        graph_id="m1",
        organizer=organizer,
        organizer_graph_id="a-1",
        subject="Review",
        start=START,
        end=START + timedelta(hours=1),
        join_web_url="https://teams.microsoft.com/l/meetup-join/m1",
        reports_synced_at=timezone.now(),
    )
    report = AttendanceReport.objects.create(
        meeting=meeting,
        graph_id="r1",
        started_at=START,
        ended_at=START + timedelta(hours=1),
        participant_count=people,
    )
    AttendanceRecord.objects.bulk_create(
        AttendanceRecord(
            report=report,
            display_name=f"{name} {index}",
            email=f"p{index}@example.org",
            role="Attendee",
            total_seconds=3600 - index,
            intervals=[
                [START.isoformat(), (START + timedelta(seconds=3600 - index)).isoformat(), 1]
            ],
        )
        for index in range(people)
    )
    return report


def browser_of(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_times_are_on_the_readers_clock_and_the_timeline_keeps_the_longest_stayers(
    organizer: User,
) -> None:
    report = report_with(organizer, TIMELINE_PEOPLE + 5)
    html = browser_of(organizer).get(f"/meetings/{report.meeting_id}/attendance/").content.decode()
    # 09:00 UTC is 04:00 in New York in March 2030 (before the clocks change on 10 March).
    assert "<td>04:00</td>" in html
    assert html.count('class="timeline-bar"') == TIMELINE_PEOPLE
    assert f"the table and the CSV have all {TIMELINE_PEOPLE + 5}" in html
    assert html.count('<tr><th scope="row">') == TIMELINE_PEOPLE + 5


def test_the_csv_makes_formula_cells_inert_and_uses_the_readers_zone(organizer: User) -> None:
    report = report_with(organizer, 1, name="=HYPERLINK(1)")
    response = browser_of(organizer).get(
        f"/meetings/{report.meeting_id}/attendance/{report.pk}.csv"
    )
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][4] == "First joined (America/New_York)"
    assert rows[1][0] == "'=HYPERLINK(1) 0"
    assert rows[1][4] == "2030-03-04 04:00:00"


def test_the_csv_has_everyone_longest_first_across_its_chunks(organizer: User) -> None:
    people = CSV_ROWS_PER_CHUNK + 5
    report = report_with(organizer, people)
    response = browser_of(organizer).get(
        f"/meetings/{report.meeting_id}/attendance/{report.pk}.csv"
    )
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row[0] for row in rows[1:]] == [f"Person {index}" for index in range(people)]
    assert {row[6] for row in rows[1:]} == {"1"}


def test_a_report_of_another_meeting_or_none_at_all_is_not_found(organizer: User) -> None:
    report = report_with(organizer, 1)
    client = browser_of(organizer)
    assert (
        client.get(f"/meetings/{report.meeting_id}/attendance/", {"report": "999"}).status_code
        == 404
    )
    assert client.get(f"/meetings/{report.meeting_id}/attendance/999.csv").status_code == 404
    empty = client.get(f"/meetings/{report.meeting_id}/attendance/", {"report": "abc"})
    assert empty.status_code == 200


@pytest.mark.parametrize(
    ("seconds", "words"), [(0, "0 s"), (45, "45 s"), (750, "12 min 30 s"), (3900, "1 h 05 min")]
)
def test_durations_read_as_words(seconds: int, words: str) -> None:
    assert duration_words(seconds) == words


def names_in(html: str) -> list[str]:
    """The table's names, top to bottom."""
    return [row.split("<", 1)[0] for row in html.split('<tr><th scope="row">')[1:]]


def test_the_table_sorts_by_the_heading_pressed_and_says_how(organizer: User) -> None:
    report = report_with(organizer, 3)
    AttendanceRecord.objects.filter(display_name="Person 0").update(display_name="Zoe")
    page = f"/meetings/{report.meeting_id}/attendance/"
    longest = browser_of(organizer).get(page).content.decode()
    assert names_in(longest) == ["Zoe", "Person 1", "Person 2"]
    # Time is the column sorted by; pressing it asks for the shortest first.
    assert '<th scope="col" aria-sort="descending">' in longest
    assert 'name="sort" value="time">Time in the meeting' in longest
    by_name = browser_of(organizer).get(page, {"report": report.pk, "sort": "name"}).content
    html = by_name.decode()
    assert names_in(html) == ["Person 1", "Person 2", "Zoe"]
    assert "sorted by name, ascending" in html
    # Pressed again, the same heading turns the order round.
    assert 'name="sort" value="-name">Name' in html
    reversed_names = browser_of(organizer).get(page, {"sort": "-name"}).content.decode()
    assert names_in(reversed_names) == ["Zoe", "Person 2", "Person 1"]


def test_an_unknown_sort_falls_back_to_longest_first(organizer: User) -> None:
    report = report_with(organizer, 2)
    response = browser_of(organizer).get(
        f"/meetings/{report.meeting_id}/attendance/", {"sort": "-email'; DROP"}
    )
    assert response.status_code == 200
    assert names_in(response.content.decode()) == ["Person 0", "Person 1"]
