"""Times in words and time zones, as every page shows them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.utils import timezone

from comms_portal import times

NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "just now"),
        (59, "just now"),
        (60, "1 min ago"),
        (25 * 60, "25 min ago"),
        (3 * 3600, "3 h ago"),
        (86400, "1 day ago"),
        (5 * 86400, "5 days ago"),
    ],
)
def test_how_long_ago_never_says_zero_minutes(seconds: int, words: str) -> None:
    assert times.ago_words(NOW - timedelta(seconds=seconds), NOW) == words


def test_a_moment_in_the_future_is_just_now() -> None:
    # Clocks of two machines differ a little; a moment "ahead" is not a negative age.
    assert times.ago_words(NOW + timedelta(seconds=3), NOW) == "just now"


def test_the_ago_filter_says_just_now() -> None:
    text = Template("{% load portal_times %}{{ moment|ago }}").render(
        Context({"moment": timezone.now()})
    )
    assert text == "just now"


def test_clock_times_are_on_the_readers_clock_with_the_date_on_other_days() -> None:
    new_york = ZoneInfo("America/New_York")
    assert times.clock_words(NOW, new_york, NOW) == "10:00"
    assert times.clock_words(NOW - timedelta(days=2), new_york, NOW) == "28 Nov 10:00"
    assert times.until_words(NOW + timedelta(days=4), new_york, NOW) == "Fri 4 Dec 10:00"
    with timezone.override(ZoneInfo("Asia/Tokyo")):
        text = Template("{% load portal_times %}{{ moment|clock }} {% zone_label %}").render(
            Context({"moment": NOW})
        )
    # 15:00 UTC is midnight in Tokyo, the next day there.
    assert text == "1 Dec 00:00 Tokyo time"


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("America/New_York", "New York time"),
        ("America/Argentina/Buenos_Aires", "Buenos Aires time"),
        ("Asia/Tokyo", "Tokyo time"),
        ("UTC", "UTC"),
        ("Etc/UTC", "UTC"),
    ],
)
def test_zones_are_named_as_people_say_them(name: str, label: str) -> None:
    assert times.zone_label(name) == label


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "", "   ", "europe/paris", "../../etc"])
def test_only_known_zones_are_taken(name: str) -> None:
    with pytest.raises(times.UnknownTimeZone):
        times.zone_named(name)
    assert not times.is_zone(name)


def test_known_zones_and_old_aliases_are_taken() -> None:
    assert times.zone_named("Europe/Paris").key == "Europe/Paris"
    assert times.zone_named(" UTC ").key == "UTC"
    assert times.is_zone("US/Eastern")


def test_the_offered_zones_carry_their_offset_of_the_hour() -> None:
    winter = {name: label for group in times.zone_groups(NOW) for name, label in group.zones}
    summer = {
        name: label
        for group in times.zone_groups(datetime(2026, 7, 1, tzinfo=UTC))
        for name, label in group.zones
    }
    assert winter["America/New_York"] == "New York (UTC-05:00)"
    assert summer["America/New_York"] == "New York (UTC-04:00)"
    assert winter["Asia/Kolkata"] == "Kolkata (UTC+05:30)"
    assert winter["UTC"] == "UTC (Coordinated Universal Time)"
    assert "US/Eastern" not in winter
