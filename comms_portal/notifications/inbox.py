"""Change-notification bodies waiting for the worker: a Redis list the webhook appends to.

Handing each body to Celery would cost the webhook a thread hop and a message build per body,
most of its answer time at Graph's rates. Instead the webhook appends the raw body to a list
in one Redis round trip, and requests a drain task only when none is pending. The drain task
takes the bodies in batches, so a burst of notifications costs a few database reads,
validation-token checks and publishes for the whole batch instead of a set per body.

Nothing taken is lost if a worker dies: a batch is moved, in one step, from the inbox to a
list named after the drain task, and deleted only once handled. Celery hands the task of a
dead worker to another (late acknowledgement), and that task handles the leftovers first.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from comms_portal.redis_client import get_async_redis, get_redis

INBOX_KEY = "portal:notifications:inbox"
TAKEN_KEY_PREFIX = "portal:notifications:inbox-taken:"
# Set while a drain task is queued or running, so the webhook requests one only when needed.
# Each batch renews it; should a drain vanish without lowering it, it lapses after this long,
# and the beat's upkeep drain takes the bodies meanwhile.
DRAIN_PENDING_KEY = "portal:notifications:inbox-drain-pending"
DRAIN_PENDING_SECONDS = 600
# A taken batch is kept this long for the task that took it (Celery's visibility timeout).
TAKEN_SECONDS = 2 * 3600
BATCH_SIZE = 200
# One drain task hands over to a fresh one after this long, well inside the task time limit.
DRAIN_TURN_SECONDS = 60.0
# An emptied inbox is watched this long for the next body before the drain ends: under a
# steady trickle of notifications the drain is already running when each arrives, and no
# Celery message (a few milliseconds each way) stands between Graph and the browsers.
LINGER_SECONDS = 2.0

# Move up to ARGV[1] bodies from the inbox to the drain's own list; return all that list holds.
_TAKE = """
local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #items > 0 then
  redis.call('LTRIM', KEYS[1], #items, -1)
  redis.call('RPUSH', KEYS[2], unpack(items))
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[2]))
end
return redis.call('LRANGE', KEYS[2], 0, -1)
"""


async def append(body: bytes) -> bool:
    """Append one body; return True when the caller must request a drain task."""
    # No MULTI needed: Redis runs the two in order, and a drain that lowers the flag in between
    # looks at the list again afterwards.
    pipeline = get_async_redis().pipeline(transaction=False)
    pipeline.rpush(INBOX_KEY, body)
    pipeline.set(DRAIN_PENDING_KEY, b"1", nx=True, ex=DRAIN_PENDING_SECONDS)
    _, drain_requested = await pipeline.execute()
    return bool(drain_requested)


def waiting() -> int:
    """Return how many bodies wait in the inbox."""
    return int(get_redis().llen(INBOX_KEY))


def bodies_waiting() -> list[str]:
    """Return the waiting bodies, oldest first, without taking them."""
    return [raw.decode("utf-8", "replace") for raw in get_redis().lrange(INBOX_KEY, 0, -1)]


def claim_drain() -> bool:
    """Mark a drain as pending; False when one already is."""
    return bool(get_redis().set(DRAIN_PENDING_KEY, b"1", nx=True, ex=DRAIN_PENDING_SECONDS))


def drain(
    drainer_id: str,
    handle: Callable[[list[str]], None],
    *,
    hand_over: Callable[[], Any],
    turn_seconds: float = DRAIN_TURN_SECONDS,
    linger_seconds: float = LINGER_SECONDS,
) -> int:
    """Hand the waiting bodies to ``handle`` in batches until the inbox stays empty.

    ``drainer_id`` names the list holding the batch in hand (the Celery task id, so a
    redelivered task finds its own leftovers). Once the inbox is empty the drain waits up to
    ``linger_seconds`` for another body. After ``turn_seconds`` of work, ``hand_over`` is
    called to queue a fresh drain and this one stops, the drain flag still set. Return how
    many bodies were handled.
    """
    redis = get_redis()
    taken_key = TAKEN_KEY_PREFIX + drainer_id
    take = redis.register_script(_TAKE)
    started = time.monotonic()
    handled = 0
    while True:
        # Leftovers of a drain that died under this id come first; then fresh bodies.
        batch = take(keys=[INBOX_KEY, taken_key], args=[BATCH_SIZE, TAKEN_SECONDS])
        if batch:
            handle([raw.decode("utf-8", "replace") for raw in batch])
            # The flag stays up as long as drains follow one another, however long that is.
            redis.pipeline(transaction=False).delete(taken_key).expire(
                DRAIN_PENDING_KEY, DRAIN_PENDING_SECONDS
            ).execute()
            handled += len(batch)
            if time.monotonic() - started > turn_seconds:
                hand_over()
                return handled
            continue
        if linger_seconds > 0 and redis.blmove(
            INBOX_KEY, taken_key, linger_seconds, src="LEFT", dest="RIGHT"
        ):
            continue
        # Empty: lower the flag, then look once more, since a body appended between the
        # last look and the lowering saw the flag up and requested nothing.
        redis.delete(DRAIN_PENDING_KEY)
        if not redis.llen(INBOX_KEY) or not claim_drain():
            return handled
