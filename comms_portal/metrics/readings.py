"""What a scrape reads: counters and the inbox from Redis, subscriptions from the database.

Redis answers in one round trip (a pipeline), the database in one grouped query; only a
scrape that finds something to tidy (a process gone silent, bodies waiting with no mark of
since when) sends Redis a second command.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Case, CharField, Count, Value, When
from django.utils import timezone

from comms_portal.metrics.counters import (
    COUNTER_KEYS,
    SOCKETS_KEY,
    STALE_SECONDS,
    CounterFamily,
    parse_field,
)
from comms_portal.notifications import registry
from comms_portal.notifications.inbox import DEAD_KEY, DEFERRED_KEY, INBOX_KEY, WAITING_SINCE_KEY
from comms_portal.notifications.models import Subscription
from comms_portal.redis_client import get_redis

LIVE = "live"
EXPIRING = "expiring"
EXPIRED = "expired"
SUBSCRIPTION_STATES = (LIVE, EXPIRING, EXPIRED)


@dataclass(frozen=True)
class InboxReading:
    """The notification inbox at one moment."""

    waiting: int
    deferred: int
    dead: int
    # Seconds since the inbox last went from empty to holding a body; 0 when empty.
    lag_seconds: float


@dataclass(frozen=True)
class SocketsReading:
    """Open live sockets, summed over the ASGI processes reporting lately."""

    sockets: int
    processes: int


@dataclass(frozen=True)
class Reading:
    """Everything one scrape shows."""

    inbox: InboxReading
    counts: dict[CounterFamily, dict[tuple[str, ...], int]]
    sockets: SocketsReading
    # (kind, state) -> how many subscriptions.
    subscriptions: dict[tuple[str, str], int]


def read() -> Reading:
    """Read every counter and gauge."""
    redis = get_redis()
    pipeline = redis.pipeline(transaction=False)
    pipeline.time()
    pipeline.llen(INBOX_KEY)
    pipeline.zcard(DEFERRED_KEY)
    pipeline.llen(DEAD_KEY)
    pipeline.get(WAITING_SINCE_KEY)
    pipeline.hgetall(SOCKETS_KEY)
    for key in COUNTER_KEYS:
        pipeline.hgetall(key)
    (seconds, micros), waiting, deferred, dead, since, reports, *hashes = pipeline.execute()
    redis_now = seconds + micros / 1_000_000
    return Reading(
        inbox=InboxReading(
            waiting=waiting,
            deferred=deferred,
            dead=dead,
            lag_seconds=_lag(waiting, since, redis_now),
        ),
        counts=_counts(hashes),
        sockets=_sockets(reports),
        subscriptions=subscription_states(timezone.now()),
    )


def _lag(waiting: int, since: bytes | None, now: float) -> float:
    if not waiting:
        return 0.0
    if since is None:
        # Bodies put there before the mark existed: they wait from now on, as far as we know.
        get_redis().set(WAITING_SINCE_KEY, f"{now:.6f}", nx=True)
        return 0.0
    return max(0.0, now - float(since))


def _counts(hashes: list[dict[bytes, bytes]]) -> dict[CounterFamily, dict[tuple[str, ...], int]]:
    counts: dict[CounterFamily, dict[tuple[str, ...], int]] = {}
    for fields in hashes:
        for raw_field, raw_value in fields.items():
            parsed = parse_field(raw_field.decode("utf-8", "replace"))
            if parsed is None:
                continue  # a counter this version no longer has
            family, labels = parsed
            counts.setdefault(family, {})[labels] = int(raw_value)
    return counts


def _sockets(reports: dict[bytes, bytes]) -> SocketsReading:
    """Sum the fresh reports; forget those of processes gone silent."""
    now = time.time()
    sockets = processes = 0
    stale: list[bytes] = []
    for process, raw in reports.items():
        try:
            count_text, at_text = raw.decode().split()
            count, at = int(count_text), float(at_text)
        except ValueError:
            stale.append(process)
            continue
        if now - at > STALE_SECONDS:
            stale.append(process)
            continue
        sockets += count
        processes += 1
    if stale:
        get_redis().hdel(SOCKETS_KEY, *stale)
    return SocketsReading(sockets=sockets, processes=processes)


def subscription_states(now: datetime) -> dict[tuple[str, str], int]:
    """Count the subscriptions by kind and state: live, expiring (to be renewed) or expired."""
    renew_before = {kind.name: kind.renew_before for kind in registry.all_kinds()}
    state = Case(
        When(expires_at__lte=now, then=Value(EXPIRED)),
        *(
            When(kind=name, expires_at__lte=now + before, then=Value(EXPIRING))
            for name, before in renew_before.items()
            if before > timedelta(0)
        ),
        default=Value(LIVE),
        output_field=CharField(),
    )
    states = {(name, each): 0 for name in renew_before for each in SUBSCRIPTION_STATES}
    rows = (
        Subscription.objects.annotate(state=state)
        .values_list("kind", "state")
        .annotate(count=Count("pk"))
        .order_by()
    )
    for kind, each, count in rows:
        states[(kind, each)] = count
    return states
