"""How presence is put into words on the people pages."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template

from presence import display
from presence.store import PresenceState

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("availability", "activity", "words"),
    [
        ("Busy", "InACall", "In a call"),
        ("Busy", "InAConferenceCall", "In a conference call"),
        ("DoNotDisturb", "Presenting", "Presenting"),
        ("Busy", "InAMeeting", "In a meeting"),
        ("Offline", "OffWork", "Off work"),
        ("Away", "OutOfOffice", "Out of office"),
        ("Available", "Available", ""),
        ("Busy", "Busy", ""),
        ("DoNotDisturb", "DoNotDisturb", ""),
        ("BeRightBack", "BeRightBack", ""),
        ("Away", "PresenceUnknown", ""),
        ("Busy", "SomethingNew", "SomethingNew"),
    ],
)
def test_activity_is_put_in_words_only_when_it_adds_something(
    availability: str, activity: str, words: str
) -> None:
    assert display.activity_label(availability, activity) == words


def test_availability_words_and_badge_classes_tell_do_not_disturb_from_busy() -> None:
    assert display.availability_label("DoNotDisturb") == "Do not disturb"
    assert display.availability_label("Busy") == "Busy"
    assert display.availability_class("DoNotDisturb") == "presence-donotdisturb"
    assert display.availability_class("Busy") == "presence-busy"
    assert display.availability_label(None) == "Status unknown"
    assert display.availability_class(None) == "presence-presenceunknown"


@pytest.mark.parametrize(
    ("seconds_ago", "words"),
    [
        (0, "12:00 (just now)"),
        (5, "11:59 (just now)"),
        (60, "11:59 (1 min)"),
        (59 * 60, "11:01 (59 min)"),
        (2 * 3600, "10:00 (2 h)"),
        (30 * 3600, "3 May 06:00 (1 day)"),
        (3 * 86400, "1 May 12:00 (3 days)"),
    ],
)
def test_since_says_the_clock_time_and_how_long_ago(seconds_ago: int, words: str) -> None:
    assert display.since_text(NOW.timestamp() - seconds_ago, UTC, NOW) == words


def test_since_is_on_the_readers_clock() -> None:
    began = NOW.timestamp() - 25 * 60
    assert display.since_text(began, ZoneInfo("America/New_York"), NOW) == "07:35 (25 min)"
    assert display.since_text(began, ZoneInfo("Asia/Tokyo"), NOW) == "20:35 (25 min)"
    # Already tomorrow in Auckland (UTC+12): the date is said too.
    evening = datetime(2026, 5, 4, 11, 50, tzinfo=UTC)
    later = datetime(2026, 5, 4, 12, 10, tzinfo=UTC)
    assert display.since_text(evening.timestamp(), ZoneInfo("Pacific/Auckland"), later) == (
        "4 May 23:50 (20 min)"
    )


def test_since_of_an_unknown_time_is_empty() -> None:
    assert display.since_text(0, UTC, NOW) == ""
    assert display.since_text(None, UTC, NOW) == ""


@pytest.mark.parametrize(
    ("availability", "activity", "classes"),
    [
        ("Busy", "InACall", "presence-busy presence-inacall"),
        ("Busy", "InAConferenceCall", "presence-busy presence-inaconferencecall"),
        ("DoNotDisturb", "Presenting", "presence-donotdisturb presence-presenting"),
        ("Away", "OutOfOffice", "presence-away presence-outofoffice"),
        ("Busy", "InAMeeting", "presence-busy"),
        ("BeRightBack", "BeRightBack", "presence-berightback"),
        (None, None, "presence-presenceunknown"),
    ],
)
def test_calls_presenting_and_out_of_office_get_an_icon_of_their_own(
    availability: str | None, activity: str | None, classes: str
) -> None:
    assert display.presence_classes(availability, activity) == classes


def test_work_location_words() -> None:
    assert display.work_location_label("office") == "In the office"
    assert display.work_location_label("remote") == "Working remotely"
    assert display.work_location_label("unknown") == ""
    assert display.work_location_label("") == ""


def test_template_filters_render_a_presence() -> None:
    state = PresenceState(
        person_id="x", availability="Busy", activity="InACall", work_location="remote"
    )
    template = Template(
        "{% load presence_tags %}{{ s|availability_words }}|{{ s|activity_words }}|"
        "{{ s|availability_class }}|{{ s|work_location_words }}|{{ name|initials }}"
    )
    text = template.render(Context({"s": state, "name": "Ada Lovelace"}))
    assert text == "Busy|In a call|presence-busy presence-inacall|Working remotely|AL"


def test_template_filters_render_an_unknown_presence() -> None:
    template = Template("{% load presence_tags %}{{ s|availability_words }}|{{ s|activity_words }}")
    assert template.render(Context({"s": None})) == "Status unknown|"


def test_payload_of_an_unknown_person_says_unknown() -> None:
    assert display.presence_payload(None, "abc") == {
        "person_id": "abc",
        "availability": "PresenceUnknown",
        "activity": "PresenceUnknown",
    }
