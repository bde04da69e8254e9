"""Who is on an open page right now: a Redis sorted set of person ids scored by expiry time."""

from __future__ import annotations

import time
from collections.abc import Iterable

from django.conf import settings

from comms_portal.redis_client import get_redis

WATCHED_KEY = "portal:presence:watched"


def mark_watched(person_ids: Iterable[str], *, now: float | None = None) -> int:
    """Keep ``person_ids`` watched for PRESENCE_WATCH_SECONDS more; return how many are new."""
    moment = time.time() if now is None else now
    until = moment + settings.PRESENCE_WATCH_SECONDS
    mapping = {person_id: until for person_id in dict.fromkeys(person_ids)}
    if not mapping:
        return 0
    pipeline = get_redis().pipeline(transaction=False)
    pipeline.zadd(WATCHED_KEY, mapping)  # type: ignore[arg-type]
    # The set expires too, so it never outlives every watcher by much.
    pipeline.expire(WATCHED_KEY, settings.PRESENCE_WATCH_SECONDS * 2)
    added, _ = pipeline.execute()
    return int(added)


def watched_ids(*, now: float | None = None) -> list[str]:
    """Return everyone watched now, most recently asked for first."""
    moment = time.time() if now is None else now
    redis = get_redis()
    redis.zremrangebyscore(WATCHED_KEY, "-inf", moment)
    return [raw.decode() for raw in redis.zrevrange(WATCHED_KEY, 0, -1)]


def forget_watched(person_ids: Iterable[str]) -> None:
    """Stop watching ``person_ids`` (tests, removed people)."""
    ids = list(person_ids)
    if ids:
        get_redis().zrem(WATCHED_KEY, *ids)
