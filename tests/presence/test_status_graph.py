"""My status against the real sandbox: a person signed in through the real flow sets their
availability, message and work location, and the shared presence store follows."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime

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
    assert "You show as Busy for 1 hour." in page

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
    status.set_availability(user=priya, choice="donotdisturb", duration="week", now=now)
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
