"""My status: every bad input is refused clearly and kept; Graph failures are explained."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from accounts.models import User
from presence.forms import StatusMessageForm
from presence.status import STATUS_MESSAGE_MAX_LENGTH, end_of_today, end_of_week, until
from tests.support.session_sandbox import control
from tests.ui.markup import elements

pytestmark = pytest.mark.django_db

URL = "/people/me/status/"
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture
def signed_in(client: Client, django_user_model: type[User]) -> Client:
    """A person signed in to the portal whose Microsoft tokens the portal does not hold."""
    user = django_user_model.objects.create(
        username="linus",
        display_name="Linus Pauling",
        object_id="7e570000-0000-4000-8000-0000000000f1",
    )
    client.force_login(user)
    return client


@pytest.fixture
def no_faults() -> Iterator[None]:
    yield
    control("DELETE", "/faults")


def errors_of(html: str) -> list[str]:
    return [e.text for e in elements(html) if "field-error" in e.classes]


def test_my_status_asks_a_signed_out_visitor_to_sign_in(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/signin/?next={URL}"


def test_my_status_offers_what_teams_offers(signed_in: Client) -> None:
    html = signed_in.get(URL).content.decode()
    options = {
        e.parent.attrs.get("name"): [] for e in elements(html) if e.tag == "option" and e.parent
    }
    for element in elements(html):
        if element.tag == "option" and element.parent is not None:
            options[element.parent.attrs.get("name")].append(element.text)
    assert options["availability"] == [
        "Available",
        "Busy",
        "Do not disturb",
        "Be right back",
        "Appear away",
        "Appear offline",
    ]
    assert options["duration"] == ["30 minutes", "1 hour", "2 hours", "Today", "This week"]
    assert options["clear_after"] == [
        "Never",
        "1 hour",
        "4 hours",
        "Today",
        "This week",
        "At a date and time",
    ]
    buttons = [e.text for e in elements(html) if e.tag == "button"]
    assert {"Set availability", "Reset status", "Set message"} <= set(buttons)
    assert "Set work location" in buttons
    # With no message set there is nothing to clear: no button for it, one tab stop fewer.
    assert "Clear message" not in buttons


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (
            {"action": "availability", "availability": "Sleeping", "duration": "1h"},
            "Choose one of the availabilities listed.",
        ),
        (
            {"action": "availability", "availability": "busy", "duration": "forever"},
            "Choose one of the durations listed.",
        ),
        ({"action": "availability", "duration": "1h"}, "This field is required."),
        (
            {
                "action": "message",
                "message": "x" * (STATUS_MESSAGE_MAX_LENGTH + 1),
                "clear_after": "never",
            },
            f"A status message can be at most {STATUS_MESSAGE_MAX_LENGTH} characters "
            f"(this one has {STATUS_MESSAGE_MAX_LENGTH + 1}).",
        ),
        (
            {"action": "message", "message": "   ", "clear_after": "never"},
            "Write a message, or use “Clear message” to remove yours.",
        ),
        (
            {"action": "message", "message": "Lunch", "clear_after": "next-year"},
            "Choose when the message clears from the list.",
        ),
        (
            {
                "action": "message",
                "message": "Lunch",
                "clear_after": "custom",
                "expires_at": "2020-01-01T12:00",
            },
            "That time has already passed; choose a later one.",
        ),
        (
            {"action": "message", "message": "Lunch", "clear_after": "custom"},
            "Choose the date and time the message clears.",
        ),
        (
            {
                "action": "message",
                "message": "Lunch",
                "clear_after": "custom",
                "expires_at": "tomorrow-ish",
            },
            "Enter a date and time such as 2026-05-04T17:30.",
        ),
        ({"action": "location", "location": "moon"}, "Choose office, remote, or clear."),
    ],
)
def test_bad_input_is_refused_with_a_clear_error_and_kept(
    signed_in: Client, data: dict[str, str], error: str
) -> None:
    response = signed_in.post(URL, data)
    assert response.status_code == 400
    html = response.content.decode()
    assert error in errors_of(html)
    # What the person typed is still there for them to fix.
    if data.get("message", "").strip():
        textarea = next(e for e in elements(html) if e.tag == "textarea")
        assert textarea.text == data["message"].strip()


def test_an_unknown_change_is_refused(signed_in: Client) -> None:
    response = signed_in.post(URL, {"action": "teleport"})
    assert response.status_code == 400
    assert "That change is not one this page offers." in response.content.decode()


def test_a_person_whose_sign_in_expired_is_told_to_sign_in_again(signed_in: Client) -> None:
    # No tokens are stored for this person, so Graph cannot be called for them.
    response = signed_in.post(
        URL, {"action": "availability", "availability": "busy", "duration": "1h"}
    )
    assert response.status_code == 502
    html = response.content.decode()
    assert "Your Microsoft sign-in has expired. Sign in again, then try once more." in html
    chosen = next(
        e
        for e in elements(html)
        if e.tag == "option"
        and "selected" in e.attrs
        and e.parent is not None
        and e.parent.attrs.get("name") == "availability"
    )
    assert chosen.text == "Busy"


def test_custom_expiry_in_the_future_is_accepted() -> None:
    now = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
    form = StatusMessageForm(
        {"message": "At the dentist", "clear_after": "custom", "expires_at": "2026-05-04T15:30"},
        now=now,
    )
    assert form.is_valid(), form.errors
    assert form.expiry() == datetime(2026, 5, 4, 15, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "utc"),
    [
        # New York is UTC-5 in winter and UTC-4 in summer: 18:00 there is 23:00Z or 22:00Z.
        ("2027-01-15T18:00", datetime(2027, 1, 15, 23, 0, tzinfo=UTC)),
        ("2027-07-15T18:00", datetime(2027, 7, 15, 22, 0, tzinfo=UTC)),
    ],
)
def test_clear_at_is_read_on_the_persons_clock(typed: str, utc: datetime) -> None:
    form = StatusMessageForm(
        {"message": "Gone home", "clear_after": "custom", "expires_at": typed},
        now=datetime(2026, 11, 30, 12, 0, tzinfo=UTC),
        zone=NEW_YORK,
    )
    assert form.is_valid(), form.errors
    assert form.expiry() == utc


def test_a_clear_at_time_the_clock_skips_is_refused_clearly() -> None:
    # 2027-03-14 02:30 never happens in New York: clocks go from 02:00 to 03:00.
    form = StatusMessageForm(
        {"message": "Night shift", "clear_after": "custom", "expires_at": "2027-03-14T02:30"},
        now=datetime(2026, 11, 30, 12, 0, tzinfo=UTC),
        zone=NEW_YORK,
    )
    assert not form.is_valid()
    assert "may be ambiguous or it may not exist" in " ".join(form.errors["expires_at"])


def test_durations_run_to_the_end_of_the_day_and_week() -> None:
    monday_noon = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
    assert until("30m", monday_noon, UTC) == monday_noon + timedelta(minutes=30)
    assert until("2h", monday_noon, UTC) == monday_noon + timedelta(hours=2)
    assert end_of_today(monday_noon, UTC) == datetime(2026, 5, 4, 23, 59, 59, tzinfo=UTC)
    assert end_of_week(monday_noon, UTC) == datetime(2026, 5, 10, 23, 59, 59, tzinfo=UTC)
    sunday = datetime(2026, 5, 10, 8, 0, tzinfo=UTC)
    assert end_of_week(sunday, UTC) == datetime(2026, 5, 10, 23, 59, 59, tzinfo=UTC)
    with pytest.raises(ValueError, match="unknown duration"):
        until("fortnight", monday_noon, UTC)


def test_today_and_this_week_end_at_midnight_on_the_persons_clock() -> None:
    # Monday 4 May 2026, 02:00 UTC: still Sunday evening in New York, Monday morning in Tokyo.
    now = datetime(2026, 5, 4, 2, 0, tzinfo=UTC)
    assert until("today", now, NEW_YORK) == datetime(2026, 5, 4, 3, 59, 59, tzinfo=UTC)
    assert until("week", now, NEW_YORK) == datetime(2026, 5, 4, 3, 59, 59, tzinfo=UTC)
    assert until("today", now, TOKYO) == datetime(2026, 5, 4, 14, 59, 59, tzinfo=UTC)
    assert until("week", now, TOKYO) == datetime(2026, 5, 10, 14, 59, 59, tzinfo=UTC)
    # A week that starts on summer time (UTC-4) ends on winter time (UTC-5) at 23:59:59
    # there: New York's clocks go back on Sunday 1 November 2026.
    summer_monday = datetime(2026, 10, 26, 12, 0, tzinfo=UTC)
    assert until("week", summer_monday, NEW_YORK) == datetime(2026, 11, 2, 4, 59, 59, tzinfo=UTC)
