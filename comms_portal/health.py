"""Checks of each part the portal depends on, for /healthz and the admin pages.

The checks use the process's pooled connections (Django's database connection, the Redis
pool, the Graph client's pool), and each process runs them at most once per
``HEALTHZ_CACHE_SECONDS``: callers in between get the last result, however many they are.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import httpx
import redis
from django.conf import settings
from django.db import connection
from django.db.utils import Error as DatabaseError

from comms_portal.celery import WORKER_HEARTBEAT_KEY
from comms_portal.graph import shared_http_client
from comms_portal.graph_settings import portal_graph_settings
from comms_portal.redis_client import get_redis

# A health check must answer fast, whatever state Redis is in.
REDIS_CHECK_TIMEOUT_SECONDS = 1.0


@dataclass(frozen=True)
class PartState:
    """Whether one part is up, with a short reason a person can act on."""

    name: str
    up: bool
    detail: str


def check_database() -> PartState:
    """Run a trivial query on the default database."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return PartState("database", False, f"{type(exc).__name__}: {exc}")
    return PartState("database", True, connection.vendor)


def check_redis() -> PartState:
    """Ping Redis."""
    try:
        get_redis(timeout=REDIS_CHECK_TIMEOUT_SECONDS).ping()
    except redis.RedisError as exc:
        return PartState("redis", False, f"{type(exc).__name__}: {exc}")
    return PartState("redis", True, "ping answered")


def check_worker() -> PartState:
    """Read the heartbeat a running Celery worker keeps fresh in Redis."""
    try:
        raw = get_redis(timeout=REDIS_CHECK_TIMEOUT_SECONDS).get(WORKER_HEARTBEAT_KEY)
    except redis.RedisError as exc:
        return PartState("worker", False, f"heartbeat unreadable: {type(exc).__name__}")
    if raw is None:
        return PartState("worker", False, "no worker heartbeat")
    age = time.time() - float(raw)
    if age > settings.WORKER_HEARTBEAT_SECONDS * 3:
        return PartState("worker", False, f"last heartbeat {age:.0f} s ago")
    return PartState("worker", True, f"heartbeat {age:.0f} s ago")


def check_graph() -> PartState:
    """Reach the Graph endpoint; any answer below 500 (even 401) means it is up."""
    try:
        http = shared_http_client(portal_graph_settings())
        response = http.get(f"{settings.GRAPH_BASE_URL}/$metadata", timeout=2.0)
    except httpx.HTTPError as exc:
        return PartState("graph", False, f"{type(exc).__name__}: {exc}")
    if response.status_code >= 500:
        return PartState("graph", False, f"HTTP {response.status_code}")
    return PartState("graph", True, f"HTTP {response.status_code} from {settings.GRAPH_BASE_URL}")


def check_all() -> list[PartState]:
    """Check every part, in a fixed order."""
    return [check_database(), check_redis(), check_worker(), check_graph()]


_last_lock = threading.Lock()
_last: tuple[float, list[PartState]] | None = None


def current_health() -> list[PartState]:
    """Return every part's state, checked at most once per ``HEALTHZ_CACHE_SECONDS``."""
    global _last
    # Callers arriving while a check runs wait for its result instead of checking again.
    with _last_lock:
        if _last is not None and time.monotonic() - _last[0] < settings.HEALTHZ_CACHE_SECONDS:
            return _last[1]
        parts = check_all()
        _last = (time.monotonic(), parts)
        return parts
