"""Checks of each part the portal depends on, for /healthz, the status page and the admin page.

The checks use the process's pooled connections (Django's database connection, the Redis
pool, the Graph client's pool), and each process runs them at most once per
``HEALTHZ_CACHE_SECONDS``: callers in between get the last result, however many they are.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

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
    """Reach the Graph endpoint without credentials; any answer below 500 means it is up."""
    try:
        http = shared_http_client(portal_graph_settings())
        response = http.get(f"{settings.GRAPH_BASE_URL}/$metadata", timeout=2.0)
    except httpx.HTTPError as exc:
        return PartState("graph", False, f"{type(exc).__name__}: {exc}")
    code = response.status_code
    if code >= 500:
        return PartState("graph", False, f"{settings.GRAPH_BASE_URL} is failing (HTTP {code})")
    if code in (401, 403):
        # This check sends no credentials: being asked for them proves Graph is there.
        return PartState(
            "graph",
            True,
            f"{settings.GRAPH_BASE_URL} answered, asking for credentials this check does not "
            f"send (HTTP {code})",
        )
    return PartState("graph", True, f"{settings.GRAPH_BASE_URL} answered (HTTP {code})")


def check_all(graph: Callable[[], PartState] = check_graph) -> list[PartState]:
    """Check every part, in a fixed order (Graph by ``graph``: reachability unless told)."""
    return [check_database(), check_redis(), check_worker(), graph()]


@dataclass(frozen=True)
class Checked:
    """Every part's state and when it was checked."""

    parts: list[PartState]
    at: datetime


_last_lock = threading.Lock()
_last: tuple[float, Checked] | None = None


def current_checked() -> Checked:
    """Return every part's state, checked at most once per ``HEALTHZ_CACHE_SECONDS``."""
    global _last
    # Callers arriving while a check runs wait for its result instead of checking again.
    with _last_lock:
        if _last is not None and time.monotonic() - _last[0] < settings.HEALTHZ_CACHE_SECONDS:
            return _last[1]
        checked = Checked(check_all(), datetime.now(UTC))
        _last = (time.monotonic(), checked)
        return checked


def current_health() -> list[PartState]:
    """Return every part's state, checked at most once per ``HEALTHZ_CACHE_SECONDS``."""
    return current_checked().parts


@dataclass(frozen=True)
class PartReport:
    """One part's state in words for people: what it does and, when down, what that stops."""

    name: str
    title: str
    purpose: str
    up: bool
    effect: str
    detail: str


# name: (title, what it does, what stops while it is down)
PART_WORDS: dict[str, tuple[str, str, str]] = {
    "database": (
        "Database",
        "Keeps people, sign-ins and settings.",
        "Pages cannot load, and nothing can be saved.",
    ),
    "redis": (
        "Live updates and queues",
        "Carries presence changes to open pages and hands work to the background worker.",
        "Pages stop updating live, and changes wait until it is back.",
    ),
    "worker": (
        "Background worker",
        "Reads presence from Microsoft Teams, sends alerts and keeps the directory in sync.",
        "Presence and alerts stop changing until the worker runs again.",
    ),
    "graph": (
        "Microsoft Teams (Graph)",
        "Microsoft's service behind presence, status changes and the directory.",
        "Presence cannot be read or set, and the directory cannot be updated.",
    ),
}


def report(parts: list[PartState]) -> list[PartReport]:
    """Describe each part's state in words for the status and admin pages."""
    described = []
    for part in parts:
        title, purpose, effect = PART_WORDS.get(part.name, (part.name.capitalize(), "", ""))
        described.append(
            PartReport(part.name, title, purpose, part.up, "" if part.up else effect, part.detail)
        )
    return described
