"""What one person may hold of the live channel: open sockets, and watch messages a minute.

Sockets are counted across every ASGI process in Redis: one sorted set per person
(``portal:live:sockets:<user id>``), a member per open socket scored by the last time its
process vouched for it. Each process re-scores all of its sockets in one round trip every
``HEARTBEAT_SECONDS``; members not vouched for in ``STALE_AFTER_SECONDS`` belong to a process
that died and are dropped the next time that person opens a socket, so a crash never locks
anyone out for longer than that.

Watch messages and heartbeat pings are counted per socket, each kind apart, in the process
holding it: at most N of each in any minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import time
import uuid
from collections import defaultdict, deque

import redis
import redis.asyncio
from django.conf import settings

logger = logging.getLogger(__name__)

KEY_PREFIX = "portal:live:sockets:"
HEARTBEAT_SECONDS = 20.0
# Three missed heartbeats: the process holding the socket is gone.
STALE_AFTER_SECONDS = 3 * HEARTBEAT_SECONDS
WINDOW_SECONDS = 60.0


def sockets_key(user_id: int) -> str:
    """Return the Redis key counting ``user_id``'s open sockets."""
    return f"{KEY_PREFIX}{user_id}"


class SocketSlots:
    """This process's open sockets, each holding one of its person's slots in Redis."""

    def __init__(self, client: redis.asyncio.Redis[bytes]) -> None:
        self._redis = client
        self._held: dict[str, int] = {}
        self._heartbeat: asyncio.Task[None] | None = None

    def new_socket_id(self) -> str:
        """Return a name for a socket, unique across processes and hosts."""
        return f"{os.getpid()}-{uuid.uuid4().hex}"

    async def take(self, user_id: int, socket_id: str, *, limit: int) -> bool:
        """Hold a slot of ``user_id`` for ``socket_id``; False when all ``limit`` are taken."""
        key = sockets_key(user_id)
        now = time.time()
        count = 0
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.zremrangebyscore(key, "-inf", now - STALE_AFTER_SECONDS)
                pipe.zadd(key, {socket_id: now})
                pipe.zcard(key)
                pipe.expire(key, int(STALE_AFTER_SECONDS * 2))
                _, _, count, _ = await pipe.execute()
        except (redis.RedisError, OSError) as error:
            # Without Redis nothing reaches the socket anyway; a guard must not lock people out.
            logger.warning("live sockets of user %s not counted: %s", user_id, error)
        if count > limit:
            with contextlib.suppress(redis.RedisError, OSError):
                await self._redis.zrem(key, socket_id)
            return False
        self._held[socket_id] = user_id
        self._ensure_heartbeat()
        return True

    async def give_back(self, socket_id: str) -> None:
        """Free the slot ``socket_id`` holds, if any."""
        user_id = self._held.pop(socket_id, None)
        if user_id is None:
            return
        with contextlib.suppress(redis.RedisError, OSError):
            await self._redis.zrem(sockets_key(user_id), socket_id)

    def _ensure_heartbeat(self) -> None:
        if self._heartbeat is None or self._heartbeat.done():
            self._heartbeat = asyncio.get_running_loop().create_task(
                self._beat_forever(), name="live-socket-heartbeat"
            )

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                await self.beat()
            except (redis.RedisError, OSError) as error:
                logger.warning("live socket heartbeat failed: %s", error)

    async def beat(self) -> None:
        """Vouch for every socket of this process, in one round trip."""
        by_user: dict[int, dict[str | bytes, float]] = defaultdict(dict)
        now = time.time()
        for socket_id, user_id in self._held.items():
            by_user[user_id][socket_id] = now
        if not by_user:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for user_id, members in by_user.items():
                pipe.zadd(sockets_key(user_id), members)
                pipe.expire(sockets_key(user_id), int(STALE_AFTER_SECONDS * 2))
            await pipe.execute()


_slots: dict[tuple[int, int, str], SocketSlots] = {}


def process_socket_slots(redis_url: str) -> SocketSlots:
    """Return this process's socket slots for its event loop and ``redis_url``."""
    key = (os.getpid(), id(asyncio.get_running_loop()), redis_url)
    slots = _slots.get(key)
    if slots is None:
        pool: redis.asyncio.BlockingConnectionPool[redis.asyncio.Connection] = (
            redis.asyncio.BlockingConnectionPool.from_url(
                redis_url,
                max_connections=settings.REDIS_POOL_SIZE,
                timeout=5,
                socket_timeout=5,
                socket_connect_timeout=2,
            )
        )
        slots = _slots[key] = SocketSlots(redis.asyncio.Redis(connection_pool=pool))
    return slots


class WatchBudget:
    """At most ``per_minute`` messages of one kind from one socket in any sixty seconds."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._taken: deque[float] = deque(maxlen=per_minute)
        self._refused: deque[float] = deque(maxlen=per_minute + 1)

    def wait_needed(self, now: float | None = None) -> float:
        """Spend one message now and return 0, or return the seconds until one is allowed."""
        now = time.monotonic() if now is None else now
        if len(self._taken) == self.per_minute and now - self._taken[0] < WINDOW_SECONDS:
            self._refused.append(now)
            return WINDOW_SECONDS - (now - self._taken[0])
        self._taken.append(now)
        return 0.0

    def flooding(self, now: float | None = None) -> bool:
        """Tell whether more than a minute's worth of messages was refused in the last minute."""
        now = time.monotonic() if now is None else now
        return len(self._refused) > self.per_minute and now - self._refused[0] < WINDOW_SECONDS


def retry_after(seconds: float) -> int:
    """Return whole seconds to tell a page to wait, at least one."""
    return max(1, math.ceil(seconds))
