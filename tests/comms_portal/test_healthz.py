"""/healthz: up or down for anyone, details for admins, and cheap however often it is called."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
import redis
from django.conf import settings
from django.test import Client
from pytest_django import DjangoAssertNumQueries
from pytest_django.fixtures import Settings as SettingsWrapper

from accounts.models import User
from comms_portal.celery import WORKER_HEARTBEAT_KEY
from comms_portal.graph import shared_http_client
from comms_portal.graph_settings import portal_graph_settings

pytestmark = pytest.mark.django_db

PARTS = ["database", "redis", "worker", "graph"]
# A Redis database of their own, so every command the checks send can be told apart.
CHECKS_DB = 7
CHECKS_CLIENT = "healthz-checks"


@pytest.fixture(autouse=True)
def fresh_checks(settings: SettingsWrapper) -> None:
    """Check on every call, so each test sees the state it set up."""
    settings.HEALTHZ_CACHE_SECONDS = 0


@pytest.fixture
def redis_client() -> Iterator[redis.Redis[bytes]]:
    client: redis.Redis[bytes] = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(WORKER_HEARTBEAT_KEY)
    yield client
    client.delete(WORKER_HEARTBEAT_KEY)


@pytest.fixture
def admin() -> Client:
    client = Client()
    megan = User.objects.create(username="megan", display_name="Megan Bowen", is_portal_admin=True)
    client.force_login(megan)
    return client


@pytest.fixture
def employee() -> Client:
    client = Client()
    client.force_login(User.objects.create(username="adele", display_name="Adele Vance"))
    return client


@pytest.fixture
def graph_requests() -> Iterator[list[str]]:
    """Record each request leaving the Graph client's shared connection pool."""
    sent: list[str] = []
    hooks = shared_http_client(portal_graph_settings()).event_hooks["request"]

    def record(request: httpx.Request) -> None:
        sent.append(str(request.url))

    hooks.append(record)
    yield sent
    hooks.remove(record)


def test_anyone_learns_only_whether_each_part_is_up(
    client: Client, redis_client: redis.Redis[bytes]
) -> None:
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "down",
        "down": ["worker"],
        "checks": {part: {"up": part != "worker"} for part in PARTS},
    }
    assert settings.GRAPH_BASE_URL.encode() not in response.content


def test_a_signed_in_employee_gets_no_details(
    employee: Client, redis_client: redis.Redis[bytes]
) -> None:
    checks = employee.get("/healthz").json()["checks"]
    assert all(set(check) == {"up"} for check in checks.values())


def test_an_admin_gets_each_parts_detail(admin: Client, redis_client: redis.Redis[bytes]) -> None:
    response = admin.get("/healthz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["worker"] == {"up": False, "detail": "no worker heartbeat"}
    assert checks["redis"] == {"up": True, "detail": "ping answered"}
    assert settings.GRAPH_BASE_URL in checks["graph"]["detail"]


def test_health_is_200_with_a_fresh_worker_heartbeat(
    client: Client, redis_client: redis.Redis[bytes]
) -> None:
    redis_client.set(WORKER_HEARTBEAT_KEY, str(time.time()))
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["down"] == []


def test_a_stale_heartbeat_counts_as_a_dead_worker(
    admin: Client, redis_client: redis.Redis[bytes]
) -> None:
    redis_client.set(WORKER_HEARTBEAT_KEY, str(time.time() - 3600))
    body = admin.get("/healthz").json()
    assert body["down"] == ["worker"]
    assert "last heartbeat" in body["checks"]["worker"]["detail"]


def test_unreachable_redis_is_named_but_its_error_shown_to_admins_only(
    client: Client, admin: Client, settings: SettingsWrapper
) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    anonymous = client.get("/healthz")
    assert anonymous.status_code == 503
    assert {"redis", "worker"} <= set(anonymous.json()["down"])
    assert b"127.0.0.1:1" not in anonymous.content
    assert b"Error" not in anonymous.content

    detail = admin.get("/healthz").json()["checks"]["redis"]["detail"]
    assert detail.startswith("ConnectionError")


def test_between_checks_the_last_answer_is_given(
    client: Client, redis_client: redis.Redis[bytes], settings: SettingsWrapper
) -> None:
    assert client.get("/healthz").status_code == 503
    settings.HEALTHZ_CACHE_SECONDS = 3600
    redis_client.set(WORKER_HEARTBEAT_KEY, str(time.time()))
    assert client.get("/healthz").status_code == 503
    settings.HEALTHZ_CACHE_SECONDS = 0
    assert client.get("/healthz").status_code == 200


def _commands_of_the_checks(monitor: redis.client.Monitor, marker: str) -> list[str]:
    """Return what the checks' Redis connections sent, read from MONITOR up to ``marker``."""
    sent = []
    while True:
        command = monitor.next_command()
        text = str(command["command"])
        if marker in text:
            return sent
        if command["db"] == CHECKS_DB or CHECKS_CLIENT in text:
            sent.append(text.split(" ", 1)[0].upper())


@pytest.fixture
def checks_redis(settings: SettingsWrapper) -> redis.Redis[bytes]:
    """Point the checks at a Redis database (and connection name) that only they use."""
    server = settings.REDIS_URL.rsplit("/", 1)[0]
    settings.REDIS_URL = f"{server}/{CHECKS_DB}?client_name={CHECKS_CLIENT}"
    return redis.Redis.from_url(f"{server}/0")


def test_the_checks_reuse_pooled_connections(
    client: Client,
    checks_redis: redis.Redis[bytes],
    graph_requests: list[str],
) -> None:
    client.get("/healthz")  # opens the connections the next calls reuse
    graph_requests.clear()
    with checks_redis.monitor() as monitor:
        for _ in range(5):
            client.get("/healthz")
        checks_redis.echo("pooled-checks-done")
        sent = _commands_of_the_checks(monitor, "pooled-checks-done")
    # A new connection would first name itself and select its database.
    assert sent == ["PING", "GET"] * 5
    assert graph_requests == [f"{settings.GRAPH_BASE_URL}/$metadata"] * 5


def test_a_flood_of_calls_costs_no_query_no_redis_command_and_no_graph_request(
    client: Client,
    settings: SettingsWrapper,
    checks_redis: redis.Redis[bytes],
    graph_requests: list[str],
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    first = client.get("/healthz")
    settings.HEALTHZ_CACHE_SECONDS = 3600
    graph_requests.clear()
    with checks_redis.monitor() as monitor, django_assert_num_queries(0):
        answers = [client.get("/healthz") for _ in range(50)]
        checks_redis.echo("flood-done")
        sent = _commands_of_the_checks(monitor, "flood-done")
    assert sent == []
    assert graph_requests == []
    assert {(a.status_code, a.content) for a in answers} == {(first.status_code, first.content)}
