"""Change-notification bodies waiting for the worker: a Redis list the intake appends to.

Handing each body to Celery would cost the intake a thread hop and a message build per body,
most of its answer time at Graph's rates. Instead the intake appends the raw body to a list
in one Redis round trip, and requests a drain task only when none is pending. A drain takes
the bodies in batches, so a burst costs a few database reads, validation-token checks and
publishes for the whole batch instead of a set per body.

Nothing taken is lost if a worker dies. A batch is moved, in one step, from the inbox to a
list named after the drain that took it, and deleted only once handled. One drain runs at a
time, holding a lease it renews while it works; a drain that finds another's list while no
lease protects it (its worker was killed) puts those bodies back at the head of the inbox.
When the inbox is full (the worker down for long), the intake refuses new bodies with a 5xx
so Graph keeps them and retries (for up to four hours), rather than Redis running out of
memory.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from functools import cache
from typing import Any

from django.conf import settings
from redis import exceptions as redis_errors

from comms_portal.metrics import counters
from comms_portal.metrics.counters import NOTIFICATIONS_ACCEPTED, NOTIFICATIONS_REFUSED, Refused
from comms_portal.redis_client import get_async_redis, get_redis

logger = logging.getLogger(__name__)

INBOX_KEY = "portal:notifications:inbox"
TAKEN_KEY_PREFIX = "portal:notifications:inbox-taken:"
# Ids of drains that hold a taken list; any but the active one's are orphans.
DRAINERS_KEY = "portal:notifications:inbox-drainers"
# The one running drain's id, held with a lease its keeper thread renews.
ACTIVE_KEY = "portal:notifications:inbox-drain-active"
ACTIVE_LEASE_SECONDS = 15
LEASE_RENEW_SECONDS = 5.0
# Set while a drain task is queued or running, so the intake requests one only when needed.
# Each batch renews it; should a drain vanish without lowering it, it lapses after this long,
# and the beat's upkeep drain takes the bodies meanwhile.
DRAIN_PENDING_KEY = "portal:notifications:inbox-drain-pending"
DRAIN_PENDING_SECONDS = 600
# Bodies to look at again shortly (their subscription is being created), by due time.
DEFERRED_KEY = "portal:notifications:inbox-deferred"
# When the inbox last went from empty to holding a body (Redis time, seconds): the drain lag
# of /metrics. The append sets it when missing; a take that leaves the inbox empty clears it.
WAITING_SINCE_KEY = "portal:notifications:inbox-waiting-since"
# Bodies no handler could take, with the reason: kept for operators, newest first.
DEAD_KEY = "portal:notifications:inbox-dead"
DEAD_KEEP = 10_000
DEFERRED_WAIT_SECONDS = 0.5
BATCH_SIZE = 200
# One drain task hands over to a fresh one after this long, well inside the task time limit.
DRAIN_TURN_SECONDS = 60.0
# An emptied inbox is watched this long for the next body before the drain ends: under a
# steady trickle of notifications the drain is already running when each arrives, and no
# Celery message (a few milliseconds each way) stands between Graph and the browsers.
LINGER_SECONDS = 2.0


# Marks a queued body as a callback kind's, ahead of its name and a newline: no JSON text
# starts with this control character, so change-notification bodies are never mistaken for one.
CALLBACK_MARK = "\x1ecallback:"


def callback_body(kind: str, body: bytes) -> bytes:
    """Return ``body`` as the inbox keeps a callback of ``kind``."""
    return f"{CALLBACK_MARK}{kind}\n".encode() + body


def split_callback(queued: str) -> tuple[str, str] | None:
    """Return (kind, body) of a queued callback, or None for a change-notification body."""
    if not queued.startswith(CALLBACK_MARK):
        return None
    kind, _, body = queued[len(CALLBACK_MARK) :].partition("\n")
    return kind, body


class Appended(Enum):
    """What became of a body the intake appended."""

    QUEUED = "queued"  # a drain is pending already
    DRAIN_NEEDED = "drain-needed"  # the caller must request a drain task
    FULL = "full"  # refused: the inbox holds NOTIFICATION_INBOX_MAX_BODIES already
    REPLAYED = "replayed"  # refused: the body's once-key was taken already


# Mark, in Redis's own time, that bodies wait since now, unless they already did.
_MARK_WAITING = """
local function mark_waiting(key)
  local now = redis.call('TIME')
  redis.call('SET', key, now[1] .. '.' .. string.format('%06d', now[2]), 'NX')
end
"""

# Append unless full (or replayed); raise the drain flag; say what happened. The metrics'
# counts (ARGV[4] to ARGV[8]) ride along in the same round trip. With a once-key (KEYS[5],
# kept ARGV[9] seconds), a body whose key was set already is refused (-2) and not counted.
_APPEND = (
    _MARK_WAITING
    + """
if tonumber(ARGV[7]) > 0 then redis.call('HINCRBY', KEYS[4], ARGV[6], ARGV[7]) end
if redis.call('LLEN', KEYS[1]) >= tonumber(ARGV[2]) then
  if tonumber(ARGV[5]) > 0 then redis.call('HINCRBY', KEYS[4], ARGV[8], ARGV[5]) end
  return -1
end
if tonumber(ARGV[9]) > 0 and not redis.call('SET', KEYS[5], '1', 'NX', 'EX', ARGV[9]) then
  return -2
end
redis.call('RPUSH', KEYS[1], ARGV[1])
mark_waiting(KEYS[3])
if tonumber(ARGV[5]) > 0 then redis.call('HINCRBY', KEYS[4], ARGV[4], ARGV[5]) end
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', tonumber(ARGV[3])) then return 1 end
return 0
"""
)

# Move the deferred bodies that are due (KEYS[5], by due time up to ARGV[3]) back to the inbox,
# then up to ARGV[1] bodies from the inbox to the drain's own list; return all that list holds.
# One round trip for both: a drain woken by a body goes straight to it. Once nothing waits,
# nothing has waited since any time: the mark goes.
_TAKE = (
    _MARK_WAITING
    + """
local due = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', ARGV[3])
for _, body in ipairs(due) do
  redis.call('RPUSH', KEYS[1], body)
  redis.call('ZREM', KEYS[5], body)
end
if #due > 0 then mark_waiting(KEYS[4]) end
redis.call('SADD', KEYS[3], ARGV[2])
local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #items > 0 then
  redis.call('LTRIM', KEYS[1], #items, -1)
  redis.call('RPUSH', KEYS[2], unpack(items))
end
if redis.call('LLEN', KEYS[1]) == 0 then redis.call('DEL', KEYS[4]) end
return redis.call('LRANGE', KEYS[2], 0, -1)
"""
)

# Become the active drain (or stay it: a redelivered task keeps its id) for ARGV[2] seconds.
_ACQUIRE = """
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
  return 1
end
return 0
"""

# Extend or end the lease, only while this drain holds it.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# Put an orphaned taken list back at the head of the inbox, oldest first, and forget it.
_RECOVER = (
    _MARK_WAITING
    + """
local items = redis.call('LRANGE', KEYS[2], 0, -1)
for i = #items, 1, -1 do redis.call('LPUSH', KEYS[1], items[i]) end
if #items > 0 then mark_waiting(KEYS[4]) end
redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[3], ARGV[1])
return #items
"""
)


@cache
def _counter_fields(kind: str) -> tuple[str, str, str]:
    """Return the counters an append moves for ``kind``: accepted, untrusted, inbox full."""
    return (
        NOTIFICATIONS_ACCEPTED.field(kind),
        NOTIFICATIONS_REFUSED.field(kind, Refused.UNTRUSTED),
        NOTIFICATIONS_REFUSED.field(kind, Refused.INBOX_FULL),
    )


async def append(
    body: bytes,
    *,
    kind: str = counters.UNKNOWN_KIND,
    accepted: int = 0,
    untrusted: int = 0,
    once_key: str | None = None,
    once_seconds: int = 0,
) -> Appended:
    """Append one body, unless the inbox is full; say whether a drain must be requested.

    ``accepted`` and ``untrusted`` are how many of the body's notifications are ours and
    not: they are counted (for ``kind``) in the same round trip. With ``once_key`` the body
    is appended only if that key is new, and the key is kept ``once_seconds``: a replay
    check that costs no round trip of its own, and is not spent when the inbox is full.
    """
    accepted_field, untrusted_field, full_field = _counter_fields(kind)
    script = get_async_redis().register_script(_APPEND)
    once = once_key is not None and once_seconds > 0
    answer = await script(
        keys=[
            INBOX_KEY,
            DRAIN_PENDING_KEY,
            WAITING_SINCE_KEY,
            counters.NOTIFICATIONS_KEY,
            once_key if once_key is not None else INBOX_KEY,
        ],
        args=[
            body,
            settings.NOTIFICATION_INBOX_MAX_BODIES,
            DRAIN_PENDING_SECONDS,
            accepted_field,
            accepted,
            untrusted_field,
            untrusted,
            full_field,
            once_seconds if once else 0,
        ],
    )
    if answer == -1:
        return Appended.FULL
    if answer == -2:
        return Appended.REPLAYED
    return Appended.DRAIN_NEEDED if answer == 1 else Appended.QUEUED


async def warm_up() -> None:
    """Open a connection of this event loop's pool and make sure Redis holds the append script."""
    client = get_async_redis()
    await client.script_load(_APPEND)  # type: ignore[no-untyped-call]


def warm_up_drain() -> None:
    """Open this process's Redis connection and load the drain's scripts before its first batch."""
    client = get_redis()
    for script in (_ACQUIRE, _RENEW, _RELEASE, _RECOVER, _TAKE):
        client.execute_command("SCRIPT", "LOAD", script)


def waiting() -> int:
    """Return how many bodies wait in the inbox."""
    return int(get_redis().llen(INBOX_KEY))


def bodies_waiting() -> list[str]:
    """Return the waiting bodies, oldest first, without taking them."""
    return [raw.decode("utf-8", "replace") for raw in get_redis().lrange(INBOX_KEY, 0, -1)]


def claim_drain() -> bool:
    """Mark a drain as pending; False when one already is."""
    return bool(get_redis().set(DRAIN_PENDING_KEY, b"1", nx=True, ex=DRAIN_PENDING_SECONDS))


def defer(bodies: list[str], *, seconds: float) -> None:
    """Look at ``bodies`` again in ``seconds`` (a drain moves them back to the inbox)."""
    if bodies:
        due = time.time() + seconds
        get_redis().zadd(DEFERRED_KEY, dict.fromkeys(bodies, due))


def bury(body: str, reason: str) -> None:
    """Keep a body no handler could take, with why, for operators; the oldest drop off."""
    logger.error("notification body set aside: %s", reason)
    entry = json.dumps({"at": time.time(), "reason": reason, "body": body})
    get_redis().pipeline(transaction=False).lpush(DEAD_KEY, entry).ltrim(
        DEAD_KEY, 0, DEAD_KEEP - 1
    ).execute()


def buried() -> list[dict[str, Any]]:
    """Return the bodies set aside, newest first, each with its reason and time."""
    return [json.loads(raw) for raw in get_redis().lrange(DEAD_KEY, 0, -1)]


def recover_orphans(active_id: str) -> int:
    """Put back the taken bodies of drains that are no longer running; return how many."""
    redis = get_redis()
    recover = redis.register_script(_RECOVER)
    moved = 0
    for raw in redis.smembers(DRAINERS_KEY):
        drainer_id = raw.decode()
        if drainer_id == active_id:
            continue
        count = int(
            recover(
                keys=[INBOX_KEY, TAKEN_KEY_PREFIX + drainer_id, DRAINERS_KEY, WAITING_SINCE_KEY],
                args=[drainer_id],
            )
        )
        if count:
            logger.warning("notification inbox: %d bodies of drain %s put back", count, drainer_id)
        moved += count
    return moved


def wait_for_redis(seconds: float) -> bool:
    """Wait up to ``seconds`` for Redis to answer; say whether it did."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            get_redis().ping()
            return True
        except redis_errors.ConnectionError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.5)


class Interrupted(Exception):
    """The drain stopped on a passing fault; its batch stays taken for its next try."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.cause = cause


@contextmanager
def _lease(drainer_id: str) -> Iterator[threading.Event]:
    """Renew the active lease in the background while the drain works; yield 'keep it'."""
    redis = get_redis()
    renew = redis.register_script(_RENEW)
    stop = threading.Event()
    keep = threading.Event()

    def keeper() -> None:
        while not stop.wait(LEASE_RENEW_SECONDS):
            try:
                renew(keys=[ACTIVE_KEY], args=[drainer_id, ACTIVE_LEASE_SECONDS])
            except Exception as error:  # Redis gone: the drain itself fails soon enough
                logger.warning("drain lease not renewed: %s", error)

    thread = threading.Thread(target=keeper, name="drain-lease", daemon=True)
    thread.start()
    try:
        yield keep
    finally:
        stop.set()
        thread.join()
        if not keep.is_set():
            redis.register_script(_RELEASE)(keys=[ACTIVE_KEY], args=[drainer_id])


def drain(
    drainer_id: str,
    handle: Callable[[list[str]], object],
    *,
    hand_over: Callable[[], Any],
    turn_seconds: float = DRAIN_TURN_SECONDS,
    linger_seconds: float = LINGER_SECONDS,
    hold_on_interrupt_seconds: float = 0.0,
) -> int:
    """Hand the waiting bodies to ``handle`` in batches until the inbox stays empty.

    ``drainer_id`` names the list holding the batch in hand (the Celery task id, so a
    redelivered task finds its own leftovers). Only one drain runs at a time: another returns
    0 at once. Once the inbox is empty the drain waits up to ``linger_seconds`` for another
    body. After ``turn_seconds`` of work, ``hand_over`` is called to queue a fresh drain and
    this one stops, the drain flag still set. When ``handle`` raises :class:`Interrupted`
    the batch stays taken and the lease is kept ``hold_on_interrupt_seconds`` longer, so that
    this drain's retry (same id) comes back to it before anyone else. Return how many bodies
    were handled.
    """
    redis = get_redis()
    acquire = redis.register_script(_ACQUIRE)
    if not acquire(keys=[ACTIVE_KEY], args=[drainer_id, ACTIVE_LEASE_SECONDS]):
        # Another drain is at work; it takes whatever waits.
        return 0
    turn_over: list[bool] = []
    with _lease(drainer_id) as keep:
        try:
            handled = _drain_locked(
                drainer_id,
                handle,
                hand_over=lambda: turn_over.append(True),
                turn=turn_seconds,
                linger=linger_seconds,
            )
        except Interrupted:
            if hold_on_interrupt_seconds > 0:
                keep.set()
                redis.expire(ACTIVE_KEY, int(hold_on_interrupt_seconds) + ACTIVE_LEASE_SECONDS)
            raise
    if turn_over:
        # Queued only once the lease is let go: a fresh drain started by another worker
        # process while this one still held it would return at once, the drain flag still
        # up, and the bodies would wait for the beat's upkeep drain.
        hand_over()
    return handled


def _drain_locked(
    drainer_id: str,
    handle: Callable[[list[str]], object],
    *,
    hand_over: Callable[[], Any],
    turn: float,
    linger: float,
) -> int:
    redis = get_redis()
    taken_key = TAKEN_KEY_PREFIX + drainer_id
    take = redis.register_script(_TAKE)
    recover_orphans(drainer_id)
    started = time.monotonic()
    handled = 0
    # The body a lingering drain was woken by: already in the taken list, and alone there.
    woken_by: bytes | None = None
    while True:
        if woken_by is not None:
            # Handled at once, without another round trip; whatever came with it is taken next.
            batch = [woken_by]
            woken_by = None
        else:
            # Leftovers of a drain that died under this id come first; then fresh bodies.
            batch = take(
                keys=[INBOX_KEY, taken_key, DRAINERS_KEY, WAITING_SINCE_KEY, DEFERRED_KEY],
                args=[BATCH_SIZE, drainer_id, time.time()],
            )
        if batch:
            handle([raw.decode("utf-8", "replace") for raw in batch])
            # The flag stays up as long as drains follow one another, however long that is.
            pipeline = redis.pipeline(transaction=False)
            pipeline.delete(taken_key).srem(DRAINERS_KEY, drainer_id)
            pipeline.expire(DRAIN_PENDING_KEY, DRAIN_PENDING_SECONDS)
            # What the batch counted (its drops, Graph calls, publishes) goes in the same trip.
            counters.flush_into(pipeline)
            pipeline.execute()
            handled += len(batch)
            if time.monotonic() - started > turn:
                hand_over()
                return handled
            continue
        if linger > 0:
            # The take just found the taken list empty and named this drain among those
            # holding one, as the body BLMOVE may put there needs.
            moved = redis.blmove(INBOX_KEY, taken_key, linger, src="LEFT", dest="RIGHT")
            if isinstance(moved, bytes):
                woken_by = moved
                continue
            redis.srem(DRAINERS_KEY, drainer_id)
        # Empty: lower the flag, then look once more, since a body appended between the
        # last look and the lowering saw the flag up and requested nothing.
        redis.delete(DRAIN_PENDING_KEY)
        if redis.llen(INBOX_KEY) and claim_drain():
            continue
        if redis.zcard(DEFERRED_KEY) and claim_drain():
            # Only bodies waiting to be looked at again: wait for them, a little at a time.
            time.sleep(DEFERRED_WAIT_SECONDS)
            continue
        return handled
