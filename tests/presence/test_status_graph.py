"""My status against the real sandbox: a person signed in through the real flow sets their
availability, message and work location, and the shared presence store follows."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from accounts.models import User
from comms_portal.redis_client import get_redis
from presence import status, store
from tests.support.cast import PRIYA
from tests.support.portal_signin import sign_in_person
from tests.support.session_sandbox import control
from tests.ui.markup import elements

pytestmark = pytest.mark.django_db

URL = "/people/me/status/"


@pytest.fixture
def priya(client: Client) -> Iterator[User]:
    user = sign_in_person(PRIYA)
    client.force_login(user)
    store.forget([user.object_id])
    yield user
    # Leave the shared sandbox as Teams would: no chosen presence, no message, no location.
    client.post(URL, {"action": "reset"})
    client.post(URL, {"action": "clear_message"})
    client.post(URL, {"action": "location", "location": "clear"})
    store.forget([user.object_id])


@pytest.fixture
def no_faults() -> Iterator[None]:
    yield
    control("DELETE", "/faults")


def sandbox_presence(user_id: str) -> dict[str, object]:
    people = control("GET", f"/presence/state?ids={user_id}").json()["people"]
    return dict(people[0])


def test_setting_busy_reaches_teams_and_the_store(client: Client, priya: User) -> None:
    response = client.post(
        URL, {"action": "availability", "availability": "busy", "duration": "1h"}
    )
    assert response.status_code == 302
    assert response["Location"] == URL

    stored = store.get_one(priya.object_id)
    assert stored is not None
    assert (stored.availability, stored.activity, stored.source) == ("Busy", "Busy", "self")
    page = client.get(URL).content.decode()
    assert "You show as Busy for 1 hour, until " in page

    sandbox = sandbox_presence(priya.object_id)
    assert sandbox["availability"] == "Busy"


def test_appear_offline_and_reset(client: Client, priya: User) -> None:
    client.post(URL, {"action": "availability", "availability": "offline", "duration": "today"})
    stored = store.get_one(priya.object_id)
    assert stored is not None
    assert (stored.availability, stored.activity) == ("Offline", "OffWork")

    assert client.post(URL, {"action": "reset"}).status_code == 302
    stored = store.get_one(priya.object_id)
    assert stored is not None
    # After a reset the person's own clients decide again; the store shows what Teams says.
    assert stored.availability == sandbox_presence(priya.object_id)["availability"]


def test_status_message_with_clear_after(client: Client, priya: User) -> None:
    response = client.post(
        URL, {"action": "message", "message": "Heads down on the release", "clear_after": "4h"}
    )
    assert response.status_code == 302
    stored = store.get_one(priya.object_id)
    assert stored is not None
    assert stored.status_message == "Heads down on the release"
    assert stored.status_message_expires_at is not None

    client.post(URL, {"action": "clear_message"})
    stored = store.get_one(priya.object_id)
    assert stored is not None
    assert stored.status_message == ""


def test_work_location(client: Client, priya: User) -> None:
    client.post(URL, {"action": "location", "location": "remote"})
    stored = store.get_one(priya.object_id)
    assert stored is not None
    assert stored.work_location == "remote"

    client.post(URL, {"action": "location", "location": "office"})
    stored = store.get_one(priya.object_id)
    assert stored is not None
    assert stored.work_location == "office"


def test_throttling_is_explained_and_the_choice_kept(
    client: Client, priya: User, no_faults: None
) -> None:
    control(
        "POST",
        "/faults",
        {"path_regex": "/presence/setPresence$", "kind": "429", "count": 5, "retry_after": 120},
    )
    response = client.post(
        URL, {"action": "availability", "availability": "donotdisturb", "duration": "2h"}
    )
    assert response.status_code == 502
    html = response.content.decode()
    assert "Microsoft Teams is handling too many requests. Try again in 120 seconds." in html
    assert 'value="donotdisturb" selected' in html
    assert store.get_one(priya.object_id) is None


def test_a_server_error_is_explained(client: Client, priya: User, no_faults: None) -> None:
    control(
        "POST",
        "/faults",
        {"path_regex": "/presence/setStatusMessage$", "kind": "500", "count": 5},
    )
    response = client.post(URL, {"action": "message", "message": "Hello", "clear_after": "never"})
    assert response.status_code == 502
    html = response.content.decode()
    assert "Microsoft Teams did not take the change. Try again shortly." in html
    textarea = next(e for e in elements(html) if e.tag == "textarea")
    assert textarea.text == "Hello"


def test_a_choice_longer_than_a_session_is_held_and_renewed(client: Client, priya: User) -> None:
    now = timezone.now()
    status.set_availability(
        user=priya,
        choice="donotdisturb",
        duration="week",
        now=now,
        zone=timezone.get_current_timezone(),
    )
    held_until = float(get_redis().hget(status.HOLDS_KEY, str(priya.pk)) or 0)
    assert held_until > (now + status.SESSION_MAX).timestamp()

    def portal_session_ends() -> datetime:
        sessions = sandbox_presence(priya.object_id)["appSessions"]
        [ours] = [s for s in sessions if s["sessionId"] == settings.MICROSOFT_CLIENT_ID]  # type: ignore[attr-defined]
        return datetime.fromisoformat(
            ours["expiresDateTime"].replace("Z", "+00:00")[:26] + "+00:00"
        )

    first_end = portal_session_ends()
    # The renewal runs hourly; each run asks Graph for another full session.
    time.sleep(1.1)
    assert status.renew_held_sessions(now=timezone.now()) == 1
    assert portal_session_ends() > first_end
    assert sandbox_presence(priya.object_id)["availability"] == "DoNotDisturb"

    status.reset_availability(user=priya)
    assert get_redis().hget(status.HOLDS_KEY, str(priya.pk)) is None
    assert status.renew_held_sessions(now=timezone.now()) == 0


def test_a_hold_that_ran_out_is_dropped(priya: User) -> None:
    get_redis().hset(status.HOLDS_KEY, str(priya.pk), str(timezone.now().timestamp() - 60))
    assert status.renew_held_sessions(now=timezone.now()) == 0
    assert get_redis().hget(status.HOLDS_KEY, str(priya.pk)) is None


def selected(html: str, name: str) -> str:
    """Return the value chosen in the select ``name``."""
    return next(
        str(e.attrs["value"])
        for e in elements(html)
        if e.tag == "option"
        and "selected" in e.attrs
        and e.parent is not None
        and e.parent.attrs.get("name") == name
    )


def in_new_york(user: User) -> User:
    user.time_zone = "America/New_York"
    user.save(update_fields=["time_zone"])
    return user


def test_my_status_shows_what_was_set_and_until_when(client: Client, priya: User) -> None:
    in_new_york(priya)
    client.post(URL, {"action": "availability", "availability": "busy", "duration": "2h"})
    html = client.get(URL).content.decode()
    # The form starts from what is set, not from Available / 1 hour.
    assert selected(html, "availability") == "busy"
    assert selected(html, "duration") == "2h"
    parts = elements(html)
    until = next(e for e in parts if "data-status-until" in e.attrs)
    ends = datetime.fromisoformat(
        str(next(e for e in parts if e.parent is until).attrs["datetime"])
    )
    new_york = ZoneInfo("America/New_York")
    assert ends.utcoffset() == ends.astimezone(new_york).utcoffset()
    assert until.text == f"until {ends.astimezone(new_york):%H:%M} New York time"
    assert until.attrs["data-while-availability"] == "Busy"
    assert abs(ends - (timezone.now() + timedelta(hours=2))) < timedelta(minutes=1)


def test_today_ends_at_midnight_on_the_persons_clock(client: Client, priya: User) -> None:
    in_new_york(priya)
    client.post(
        URL, {"action": "availability", "availability": "donotdisturb", "duration": "today"}
    )
    html = client.get(URL).content.decode()
    until = next(e for e in elements(html) if "data-status-until" in e.attrs)
    assert until.text == "until 23:59 New York time"
    midnight = status.end_of_today(timezone.now(), ZoneInfo("America/New_York"))
    # Graph was given the duration to New York's midnight, not to UTC's.
    preferred = sandbox_presence(priya.object_id)["preferredPresence"]
    assert isinstance(preferred, dict)
    expires = datetime.fromisoformat(preferred["expiresDateTime"].replace("Z", "+00:00"))
    assert abs(expires - midnight) < timedelta(minutes=1)


def test_clear_at_a_time_is_that_time_in_new_york(client: Client, priya: User) -> None:
    in_new_york(priya)
    year = timezone.now().year + 1
    response = client.post(
        URL,
        {
            "action": "message",
            "message": "Back after the holidays",
            "clear_after": "custom",
            "expires_at": f"{year}-01-15T18:00",
        },
    )
    assert response.status_code == 302
    sent = sandbox_presence(priya.object_id)["statusMessage"]
    assert isinstance(sent, dict)
    # 18:00 in New York in January (EST, UTC-5) is 23:00 UTC.
    assert sent["expiryDateTime"] == {
        "dateTime": f"{year}-01-15T23:00:00.0000000",
        "timeZone": "UTC",
    }

    html = client.get(URL).content.decode()
    clears = next(e for e in elements(html) if "data-message-clears" in e.attrs)
    assert clears.text.startswith("The message clears at ")
    assert clears.text.endswith(" 15 Jan 18:00 New York time.")
    textarea = next(e for e in elements(html) if e.tag == "textarea")
    assert textarea.text == "Back after the holidays"
    assert selected(html, "clear_after") == "custom"
    assert f'value="{year}-01-15T18:00"' in html
    # With a message set, it can be cleared.
    assert "Clear message" in [e.text for e in elements(html) if e.tag == "button"]


def test_the_work_location_set_is_the_one_checked(client: Client, priya: User) -> None:
    client.post(URL, {"action": "location", "location": "office"})
    html = client.get(URL).content.decode()
    checked = [
        e.attrs["value"]
        for e in elements(html)
        if e.attrs.get("name") == "location" and "checked" in e.attrs
    ]
    assert checked == ["office"]
    assert next(e for e in elements(html) if e.attrs.get("data-field") == "work-location").text == (
        "In the office"
    )
