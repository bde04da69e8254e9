"""The status page: the /healthz checks in words, for people; details for admins only."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis
from django.conf import settings
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper

from accounts.models import User
from comms_portal.celery import WORKER_HEARTBEAT_KEY
from tests.ui.markup import elements

pytestmark = pytest.mark.django_db

URL = "/status/"


@pytest.fixture(autouse=True)
def fresh_checks(settings: SettingsWrapper) -> None:
    settings.HEALTHZ_CACHE_SECONDS = 0


@pytest.fixture
def heartbeat() -> Iterator[redis.Redis[bytes]]:
    client: redis.Redis[bytes] = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(WORKER_HEARTBEAT_KEY)
    yield client
    client.delete(WORKER_HEARTBEAT_KEY)


def parts_of(html: str) -> dict[str, str]:
    return {str(e.attrs["data-part"]): e.text for e in elements(html) if e.attrs.get("data-part")}


def test_everything_working_is_said_plainly(client: Client, heartbeat: redis.Redis[bytes]) -> None:
    heartbeat.set(WORKER_HEARTBEAT_KEY, str(time.time()))
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert next(e for e in elements(html) if e.tag == "h1").text == "System status"
    assert "Everything is working." in html
    parts = parts_of(html)
    assert list(parts) == ["database", "redis", "worker", "graph"]
    assert all("Working" in text and "Not working" not in text for text in parts.values())
    assert parts["worker"].startswith("Background worker")


def test_a_part_down_is_named_with_what_it_stops(
    client: Client, heartbeat: redis.Redis[bytes]
) -> None:
    html = client.get(URL).content.decode()
    assert "Not everything is working: Background worker." in html
    worker = parts_of(html)["worker"]
    assert "Not working" in worker
    assert "Meanwhile: Presence and alerts stop changing until the worker runs again." in worker
    # Error texts are for admins only.
    assert "no worker heartbeat" not in html


def test_admins_also_get_each_parts_detail(heartbeat: redis.Redis[bytes]) -> None:
    admin = Client()
    admin.force_login(User.objects.create(username="megan", is_portal_admin=True))
    html = admin.get(URL).content.decode()
    assert "Detail for admins: No worker heartbeat" in parts_of(html)["worker"]


def test_the_check_time_is_on_the_readers_clock(heartbeat: redis.Redis[bytes]) -> None:
    person = Client()
    person.force_login(User.objects.create(username="aiko", time_zone="Asia/Tokyo"))
    html = person.get(URL).content.decode()
    checked = next(e for e in elements(html) if e.tag == "time")
    assert checked.text.endswith(" Tokyo time")
    assert str(checked.attrs["datetime"]).endswith("+09:00")


def test_the_footer_opens_the_status_page_and_it_links_the_json(client: Client) -> None:
    html = client.get("/").content.decode()
    assert '<a href="/status/">System status</a>' in html
    assert '<a href="/healthz">' in client.get(URL).content.decode()
