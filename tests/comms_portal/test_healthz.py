"""/healthz tells an operator which part is down."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis
from django.conf import settings
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper

from comms_portal.celery import WORKER_HEARTBEAT_KEY

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_client() -> Iterator[redis.Redis[bytes]]:
    client: redis.Redis[bytes] = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(WORKER_HEARTBEAT_KEY)
    yield client
    client.delete(WORKER_HEARTBEAT_KEY)


def test_health_is_503_naming_the_worker_when_no_worker_runs(
    client: Client, redis_client: redis.Redis[bytes]
) -> None:
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["down"] == ["worker"]
    assert body["checks"]["database"]["up"] is True
    assert body["checks"]["redis"]["up"] is True
    assert body["checks"]["graph"]["up"] is True


def test_health_is_200_with_a_fresh_worker_heartbeat(
    client: Client, redis_client: redis.Redis[bytes]
) -> None:
    redis_client.set(WORKER_HEARTBEAT_KEY, str(time.time()))
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_a_stale_heartbeat_counts_as_a_dead_worker(
    client: Client, redis_client: redis.Redis[bytes]
) -> None:
    redis_client.set(WORKER_HEARTBEAT_KEY, str(time.time() - 3600))
    body = client.get("/healthz").json()
    assert body["down"] == ["worker"]
    assert "last heartbeat" in body["checks"]["worker"]["detail"]


def test_health_names_redis_when_redis_is_unreachable(
    client: Client, settings: SettingsWrapper
) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    body = client.get("/healthz").json()
    assert {"redis", "worker"} <= set(body["down"])
