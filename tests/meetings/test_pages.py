"""Scheduling, Meet now, lookup, change, cancel and the calendar file, through the pages and
the sandbox's Graph: what the page answers, what Graph holds, what the portal stored."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import icalendar
import pytest

from directory.models import Person
from meetings.models import Meeting
from tests.meetings.conftest import form_data, signed_in, tomorrow_at
from tests.support.cast import GRACE, PRIYA, TOMAS
from tests.support.session_sandbox import control, control_url
from tests.ui.markup import find_all

pytestmark = pytest.mark.django_db(transaction=True)


def at_graph(meeting: Meeting) -> dict[str, Any]:
    """Return the meeting as the sandbox holds it."""
    body: dict[str, Any] = control("GET", f"/meetings/{meeting.graph_id}").json()["meeting"]
    return body


def gone_from_graph(meeting: Meeting) -> bool:
    return httpx.get(f"{control_url()}/meetings/{meeting.graph_id}").status_code == 400


@pytest.fixture
def no_faults() -> Iterator[None]:
    yield
    control("DELETE", "/faults")


def test_a_scheduled_meeting_is_made_at_graph_with_its_invitees_and_shown_to_them(
    people: dict[str, Person],
) -> None:
    priya, browser = signed_in(PRIYA)
    start = tomorrow_at(10)
    sent = form_data(
        start,
        time_zone="Europe/Paris",
        invitees=f"{people['tomas'].graph_id}",
        passcode_required="on",
    )
    response = browser.post("/meetings/new/", sent)
    assert response.status_code == 302, response.content.decode()[:2000]
    meeting = Meeting.objects.get()
    assert response["Location"] == f"/meetings/{meeting.pk}/"
    remote = at_graph(meeting)
    assert remote["subject"] == "Design review"
    # 10:00 in Paris is 09:00 or 08:00 UTC depending on the season.
    paris = start.replace(tzinfo=zoneinfo.ZoneInfo("Europe/Paris"))
    assert datetime.fromisoformat(remote["startDateTime"]) == paris.astimezone(UTC)
    assert [a["upn"] for a in remote["participants"]["attendees"]] == [TOMAS]
    assert remote["joinMeetingIdSettings"]["isPasscodeRequired"] is True
    assert meeting.organizer == priya and meeting.time_zone == "Europe/Paris"
    assert meeting.join_meeting_id == remote["joinMeetingIdSettings"]["joinMeetingId"]
    assert list(meeting.invitees.values_list("graph_id", flat=True)) == [people["tomas"].graph_id]

    page = browser.get(response["Location"]).content.decode()
    assert meeting.join_web_url.replace("&", "&amp;") in page
    assert meeting.passcode in page
    # The invitee sees it among their meetings and may open it; someone else may not.
    _, tomas_browser = signed_in(TOMAS)
    mine = tomas_browser.get("/meetings/").content.decode()
    assert [a.text for a in find_all(mine, "a", class_="meeting-link")] == ["Design review"]
    assert tomas_browser.get(f"/meetings/{meeting.pk}/").status_code == 200
    assert tomas_browser.get(f"/meetings/{meeting.pk}/edit/").status_code == 404
    _, grace_browser = signed_in(GRACE)
    assert grace_browser.get(f"/meetings/{meeting.pk}/").status_code == 404
    assert grace_browser.get(f"/meetings/{meeting.pk}/meeting.ics").status_code == 404


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"subject": ""}, "subject", "This field is required."),
        ({"end_time": "09:00"}, "end_time", "The meeting must end after it starts"),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "is not a time zone the portal knows"),
        ({"invitees": "not a person"}, "invitees", "is not a person id"),
        (
            {"invitees": "00000000-0000-4000-8000-000000000000"},
            "invitees",
            "is not a person in the directory",
        ),
        ({"day": "2020-01-01"}, "start_time", "That time has passed"),
        ({"day": "someday"}, "day", "Enter a valid date."),
        ({"lobby_scope": "martians"}, "lobby_scope", "Select a valid choice."),
        ({"subject": "x" * 256}, "subject", "at most 255 characters"),
    ],
)
def test_a_bad_meeting_form_is_answered_with_its_errors_and_makes_nothing(
    people: dict[str, Person], changes: dict[str, str], field: str, message: str
) -> None:
    _, browser = signed_in(PRIYA)
    response = browser.post("/meetings/new/", form_data(tomorrow_at(10), **changes))
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert Meeting.objects.count() == 0


def test_a_time_skipped_by_the_clock_change_is_refused(people: dict[str, Person]) -> None:
    _, browser = signed_in(PRIYA)
    data = form_data(
        tomorrow_at(10),
        day="2031-03-30",
        start_time="02:30",
        end_time="03:30",
        time_zone="Europe/Paris",
    )
    response = browser.post("/meetings/new/", data)
    assert response.status_code == 400
    assert "does not exist on 30 Mar 2031" in response.content.decode()


def test_when_graph_fails_the_form_says_so_and_keeps_what_was_typed(
    people: dict[str, Person], no_faults: None
) -> None:
    _, browser = signed_in(PRIYA)
    control(
        "POST",
        "/faults",
        {"path": "/v1.0/me/onlineMeetings", "kind": "500", "method": "POST"},
    )
    response = browser.post("/meetings/new/", form_data(tomorrow_at(10), subject="Kept"))
    assert response.status_code == 502
    html = response.content.decode()
    assert "Microsoft Teams did not answer as expected" in html
    assert 'value="Kept"' in html
    assert Meeting.objects.count() == 0


def test_the_organizer_changes_and_cancels_a_meeting_at_graph(people: dict[str, Person]) -> None:
    _, browser = signed_in(PRIYA)
    browser.post("/meetings/new/", form_data(tomorrow_at(10)))
    meeting = Meeting.objects.get()
    form = browser.get(f"/meetings/{meeting.pk}/edit/")
    assert form.status_code == 200
    assert 'value="Design review"' in form.content.decode()
    changed = browser.post(
        f"/meetings/{meeting.pk}/edit/",
        form_data(
            tomorrow_at(14),
            subject="Design review, moved",
            invitees=f"{people['grace'].graph_id},{people['tomas'].graph_id}",
        ),
    )
    assert changed.status_code == 302
    remote = at_graph(meeting)
    assert remote["subject"] == "Design review, moved"
    assert datetime.fromisoformat(remote["startDateTime"]) == tomorrow_at(14)
    assert sorted(a["upn"] for a in remote["participants"]["attendees"]) == [GRACE, TOMAS]
    meeting.refresh_from_db()
    assert meeting.subject == "Design review, moved" and meeting.invitees.count() == 2

    _, tomas_browser = signed_in(TOMAS)
    assert tomas_browser.post(f"/meetings/{meeting.pk}/delete/").status_code == 404
    cancelled = browser.post(f"/meetings/{meeting.pk}/delete/")
    assert cancelled.status_code == 302 and cancelled["Location"] == "/meetings/"
    assert gone_from_graph(meeting)
    meeting.refresh_from_db()
    assert meeting.deleted_at is not None
    assert browser.get(f"/meetings/{meeting.pk}/").status_code == 404
    assert browser.get("/meetings/").content.decode().count("meeting-link") == 0


def test_meet_now_starts_one_meeting_per_pair_and_hour(people: dict[str, Person]) -> None:
    _priya, browser = signed_in(PRIYA)
    tomas = people["tomas"]
    first = browser.post("/meetings/meet-now/", {"person": tomas.graph_id})
    assert first.status_code == 302
    meeting = Meeting.objects.get()
    assert first["Location"] == f"/meetings/{meeting.pk}/"
    remote = at_graph(meeting)
    assert remote["externalId"] == meeting.external_id
    assert [a["upn"] for a in remote["participants"]["attendees"]] == [TOMAS]
    start = datetime.fromisoformat(remote["startDateTime"])
    assert abs(start - datetime.now(UTC)) < timedelta(minutes=2)
    again = browser.post("/meetings/meet-now/", {"person": tomas.graph_id})
    assert again["Location"] == first["Location"]
    assert Meeting.objects.count() == 1
    unknown = browser.post("/meetings/meet-now/", {"person": "nobody"})
    assert unknown.status_code == 302 and unknown["Location"] == "/people/"
    assert Meeting.objects.count() == 1


def test_a_meeting_is_found_by_its_join_link_or_meeting_id(people: dict[str, Person]) -> None:
    _, browser = signed_in(PRIYA)
    browser.post("/meetings/new/", form_data(tomorrow_at(10), invitees=people["tomas"].graph_id))
    meeting = Meeting.objects.get()
    # Tomas was told the link and the ID; the portal had not shown him the meeting yet.
    meeting.invitees.all().delete()
    _, tomas_browser = signed_in(TOMAS)
    spaced = " ".join(
        meeting.join_meeting_id[i : i + 3] for i in range(0, len(meeting.join_meeting_id), 3)
    )
    for text in (meeting.join_web_url, spaced):
        found = tomas_browser.get("/meetings/lookup/", {"q": text})
        assert found.status_code == 302, found.content.decode()[:1000]
        assert found["Location"] == f"/meetings/{meeting.pk}/"
    _, grace_browser = signed_in(GRACE)
    not_hers = grace_browser.get("/meetings/lookup/", {"q": meeting.join_web_url})
    assert not_hers.status_code == 404
    assert "No meeting you organise or are invited to" in not_hers.content.decode()
    for bad in ("hello", "", "javascript:alert(1)", "12"):
        refused = grace_browser.get("/meetings/lookup/", {"q": bad})
        assert refused.status_code == 400


def test_the_calendar_file_holds_the_meeting_and_how_to_join(people: dict[str, Person]) -> None:
    _, browser = signed_in(PRIYA)
    browser.post(
        "/meetings/new/",
        form_data(tomorrow_at(10), invitees=people["tomas"].graph_id, passcode_required="on"),
    )
    meeting = Meeting.objects.get()
    response = browser.get(f"/meetings/{meeting.pk}/meeting.ics")
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    calendar = icalendar.Calendar.from_ical(response.content)
    (event,) = calendar.walk("VEVENT")
    assert event.decoded("dtstart") == tomorrow_at(10)
    assert event.decoded("dtend") == tomorrow_at(10) + timedelta(minutes=30)
    assert str(event["summary"]) == "Design review"
    assert str(event["url"]) == meeting.join_web_url
    assert meeting.join_meeting_id in str(event["description"])
    assert meeting.passcode in str(event["description"])
    assert str(event["organizer"]) == f"mailto:{PRIYA}"
    assert str(event["attendee"]) == f"mailto:{TOMAS}"
