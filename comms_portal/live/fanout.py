"""Each ASGI process's one Redis pub/sub connection, fanned out to its open sockets.

A live message (a person's new presence, a notice for one person) is published once, on the
Redis channel of its topic. Redis passes it only to the processes subscribed to that channel,
those with a page watching the topic, and each process hands it to its sockets that follow it.
Nothing travels through Redis per socket: a change shown on a thousand pages costs one
PUBLISH and one message per process, whereas a channel-layer group costs a queue entry and
a read per socket.

Listeners are the websocket consumers. ``follow`` returns once Redis has taken the
subscriptions, so a page told "watching" misses nothing published afterwards. When the
connection drops (a Redis restart, say), the process reconnects with backoff, subscribes
again to everything its sockets follow, and asks every listener to resynchronise, since
messages published meanwhile are gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import time
from collections import defaultdict
from typing import Protocol

import redis.asyncio
from redis.asyncio.connection import Connection

from comms_portal.metrics import counters

logger = logging.getLogger(__name__)

# Between reconnection attempts, growing to the last value.
RECONNECT_DELAYS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
# An idle connection is pinged this often; one silent for two intervals is treated as dead.
HEARTBEAT_SECONDS = 15.0
# How long ``follow`` waits for Redis before giving up (the page repeats its request).
FOLLOW_TIMEOUT_SECONDS = 10.0
# SUBSCRIBE and UNSUBSCRIBE take at most this many topics a command.
TOPICS_PER_COMMAND = 500


class Listener(Protocol):
    """What a socket offers the fan-out: both calls must return at once."""

    def deliver(self, text: str) -> None:
        """Send ``text`` (a message published on a followed topic) to the browser."""

    def resync(self) -> None:
        """Tell the browser that messages may have been lost and it should re-read."""


class FanoutUnavailable(RuntimeError):
    """Redis did not take the subscriptions in time; they are retried on reconnection."""


class Fanout:
    """Topics followed by this process's listeners, kept subscribed on one connection."""

    def __init__(self, redis_url: str, *, prefix: str = "") -> None:
        self._url = redis_url
        # Listeners name channels without it; Redis knows them as ``prefix + name``.
        self._prefix = prefix
        self._topics_of: dict[Listener, frozenset[str]] = {}
        self._listeners: dict[str, set[Listener]] = defaultdict(set)
        # The subscribing connection: commands are sent raw and replies read in one place,
        # since the fan-out keeps its own books of what is subscribed (redis-py's PubSub
        # would re-subscribe behind its back after a reconnection, telling no one to resync).
        self._connection: Connection | None = None
        # Topics a SUBSCRIBE was sent for on the current connection (and not unsubscribed).
        self._subscribed: set[str] = set()
        self._connected = asyncio.Event()
        self._barriers: dict[bytes, asyncio.Future[None]] = {}
        self._barrier_numbers = itertools.count()
        self._reader: asyncio.Task[None] | None = None
        self._process_topic = f"fanout.{os.getpid()}.{id(self)}"
        self._ever_connected = False
        self._last_heard = 0.0
        self.reconnections = 0
        # Messages handed to listeners so far; the process's metrics read it now and then.
        self.delivered = 0

    # -- what listeners call -------------------------------------------------------------

    async def follow(self, listener: Listener, topics: set[str] | frozenset[str]) -> None:
        """Make ``topics`` exactly what ``listener`` follows; return once Redis has them."""
        wanted = frozenset(self._prefix + topic for topic in topics)
        before = self._topics_of.get(listener, frozenset())
        self._topics_of[listener] = wanted
        for topic in wanted - before:
            self._listeners[topic].add(listener)
        dropped = self._release(listener, before - wanted)
        self._ensure_reader()
        deadline = time.monotonic() + FOLLOW_TIMEOUT_SECONDS
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise FanoutUnavailable("live updates are unavailable: Redis does not answer")
            try:
                await asyncio.wait_for(self._connected.wait(), remaining)
                # The books change before any await, so a socket that follows one of these
                # topics meanwhile sends its own SUBSCRIBE, after this UNSUBSCRIBE.
                stale = [t for t in dropped if t in self._subscribed and t not in self._listeners]
                self._subscribed.difference_update(stale)
                dropped = []
                await self._send("UNSUBSCRIBE", stale)
                new = [t for t in wanted if t not in self._subscribed and t in self._listeners]
                self._subscribed.update(new)
                await self._send("SUBSCRIBE", new)
                # Redis answers a connection's commands in order: once the PING sent after
                # them is answered, every SUBSCRIBE before it (ours or another socket's) holds.
                await asyncio.wait_for(self._barrier(), max(deadline - time.monotonic(), 0.01))
                return
            except (redis.RedisError, OSError, ConnectionError) as error:
                logger.info("fan-out: follow retried after %s", error)
                await asyncio.sleep(0.05)
            except TimeoutError:
                continue

    async def forget(self, listener: Listener) -> None:
        """Stop delivering to ``listener`` and drop the topics nobody follows any more."""
        dropped = self._release(listener, self._topics_of.pop(listener, frozenset()))
        dropped = [topic for topic in dropped if topic in self._subscribed]
        self._subscribed.difference_update(dropped)
        with contextlib.suppress(redis.RedisError, OSError, ConnectionError):
            await self._send("UNSUBSCRIBE", dropped)

    def following(self, topic: str) -> int:
        """Return how many listeners of this process follow ``topic``."""
        return len(self._listeners.get(self._prefix + topic, ()))

    def open_sockets(self) -> int:
        """Return how many listeners this fan-out serves."""
        return len(self._topics_of)

    async def close(self) -> None:
        """Stop reading and close the connection (for tests and shutdown)."""
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None

    # -- bookkeeping -------------------------------------------------------------------

    def _release(self, listener: Listener, topics: frozenset[str]) -> list[str]:
        """Remove ``listener`` from ``topics``; return those that nobody follows now."""
        orphaned = []
        for topic in topics:
            listeners = self._listeners.get(topic)
            if listeners is None:
                continue
            listeners.discard(listener)
            if not listeners:
                del self._listeners[topic]
                orphaned.append(topic)
        return orphaned

    async def _send(self, command: str, topics: list[str]) -> None:
        connection = self._connection
        if connection is None or not topics:
            return
        for start in range(0, len(topics), TOPICS_PER_COMMAND):
            chunk = topics[start : start + TOPICS_PER_COMMAND]
            await connection.send_command(command, *chunk, check_health=False)

    async def _barrier(self) -> None:
        connection = self._connection
        if connection is None:
            raise ConnectionError("not connected")
        token = f"barrier-{next(self._barrier_numbers)}".encode()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._barriers[token] = future
        try:
            await connection.send_command("PING", token, check_health=False)
            await future
        finally:
            self._barriers.pop(token, None)

    # -- the reading side --------------------------------------------------------------

    def _ensure_reader(self) -> None:
        if self._reader is None or self._reader.done():
            self._reader = asyncio.get_running_loop().create_task(
                self._read_forever(), name="fanout-reader"
            )

    async def _read_forever(self) -> None:
        failures = 0
        while True:
            heartbeat: asyncio.Task[None] | None = None
            try:
                await self._connect()
                failures = 0
                heartbeat = asyncio.get_running_loop().create_task(self._heartbeat())
                await self._read()
            except asyncio.CancelledError:
                await self._disconnect()
                raise
            except (redis.RedisError, OSError, ConnectionError) as error:
                logger.warning("fan-out: Redis connection lost (%s); reconnecting", error)
            finally:
                if heartbeat is not None:
                    heartbeat.cancel()
            await self._disconnect()
            delay = RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)]
            failures += 1
            await asyncio.sleep(delay)

    async def _connect(self) -> None:
        pool: redis.asyncio.ConnectionPool[Connection] = redis.asyncio.ConnectionPool.from_url(
            self._url, socket_connect_timeout=2
        )
        connection = pool.make_connection()
        await connection.connect()
        self._connection = connection
        self._last_heard = time.monotonic()
        # Everything followed right now; ``follow`` sends what is added from here on.
        topics = [self._process_topic, *self._listeners]
        self._subscribed = set(topics)
        await self._send("SUBSCRIBE", topics)
        self._connected.set()
        if self._ever_connected:
            self.reconnections += 1
            asyncio.get_running_loop().create_task(self._resync_all())
        self._ever_connected = True

    async def _resync_all(self) -> None:
        """Once the new connection holds every subscription, tell every listener to re-read."""
        with contextlib.suppress(redis.RedisError, OSError, ConnectionError, TimeoutError):
            await asyncio.wait_for(self._barrier(), FOLLOW_TIMEOUT_SECONDS)
        for listener in list(self._topics_of):
            try:
                listener.resync()
            except Exception:
                logger.exception("fan-out: a listener failed to take a resync")

    async def _heartbeat(self) -> None:
        """Ping an idle connection; drop one that stays silent (a half-open TCP connection)."""
        while True:
            asleep_since = time.monotonic()
            await asyncio.sleep(HEARTBEAT_SECONDS)
            connection = self._connection
            if connection is None:
                return
            now = time.monotonic()
            if now - asleep_since > 2 * HEARTBEAT_SECONDS:
                # This process was not running meanwhile (stopped, or its loop blocked): the
                # silence says nothing of Redis, and the answers may be waiting unread. The
                # ping below is judged from now on.
                self._last_heard = now
            elif now - self._last_heard > 2 * HEARTBEAT_SECONDS:
                logger.warning("fan-out: Redis stopped answering; reconnecting")
                await connection.disconnect(nowait=True)
                return
            with contextlib.suppress(redis.RedisError, OSError, ConnectionError):
                await connection.send_command("PING", b"heartbeat", check_health=False)

    async def _disconnect(self) -> None:
        self._connected.clear()
        connection, self._connection = self._connection, None
        self._subscribed = set()
        for future in self._barriers.values():
            if not future.done():
                future.set_exception(ConnectionError("the Redis connection was lost"))
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.disconnect(nowait=True)

    async def _read(self) -> None:
        connection = self._connection
        assert connection is not None
        while True:
            # No read timeout: cancelling a read half-way could lose a message; the
            # heartbeat closes a silent connection instead, which ends this read.
            response = await connection.read_response()
            self._last_heard = time.monotonic()
            self._dispatch(response)

    def _dispatch(self, response: object) -> None:
        if not isinstance(response, list) or not response:
            return
        kind = response[0]
        if kind == b"message" and len(response) == 3:
            listeners = self._listeners.get(response[1].decode())
            if listeners:
                text = response[2].decode()
                self.delivered += len(listeners)
                for listener in tuple(listeners):
                    try:
                        listener.deliver(text)
                    except Exception:  # one broken socket must not stop the others' pushes
                        logger.exception("fan-out: a listener failed to take a message")
        elif kind == b"pong" and len(response) == 2:
            future = self._barriers.get(response[1])
            if future is not None and not future.done():
                future.set_result(None)


_fanouts: dict[tuple[int, int, str, str], Fanout] = {}


def process_fanout(redis_url: str, *, prefix: str = "") -> Fanout:
    """Return this process's fan-out for its event loop and ``redis_url``, made on first use."""
    key = (os.getpid(), id(asyncio.get_running_loop()), redis_url, prefix)
    fanout = _fanouts.get(key)
    if fanout is None:
        fanout = _fanouts[key] = Fanout(redis_url, prefix=prefix)
        counters.report_live(fanout)
    return fanout
