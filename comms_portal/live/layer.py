"""The live channel's fan-out built on Channels' pub/sub layer (``LIVE_FANOUT=channels``).

``channels_redis.pubsub.RedisPubSubChannelLayer`` has the shape of our own fan-out: a group
is a Redis pub/sub channel, ``group_send`` is one PUBLISH, and each process's one subscribing
connection hands a message to its channels in that group. Here every socket gets a layer
channel of its own (``new_channel``, as a Channels consumer does) read by one task, and joins
one group per topic.

What the library leaves to us: its ``on_disconnect``/``on_reconnect`` hooks are accepted but
never called in channels-redis 4.x (redis-py re-subscribes behind its back), so a lost
connection would lose messages silently. The layer's connections are of a class that notices
a reconnection, and the sockets are then told to resynchronise, as with our own fan-out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

import redis
import redis.asyncio
from channels_redis.pubsub import RedisPubSubChannelLayer
from redis.asyncio.connection import (
    Connection,
    SSLConnection,
    UnixDomainSocketConnection,
    parse_url,
)

from comms_portal.live import fanout
from comms_portal.live.fanout import FanoutUnavailable, Listener
from comms_portal.metrics import counters

logger = logging.getLogger(__name__)

# The event a layer message carries; a Channels consumer would name its handler after it.
MESSAGE_TYPE = "live.message"


class _NoticesReconnection:
    """A Redis connection that reports each connection after its first one."""

    def __init__(self, *args: Any, on_reconnect: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._connections = 0
        self._on_reconnect = on_reconnect
        # redis-py calls these after every (re)connection, the pub/sub re-subscription too.
        self.register_connect_callback(self._connected)  # type: ignore[attr-defined]

    def _connected(self, connection: object) -> None:
        self._connections += 1
        if self._connections > 1:
            self._on_reconnect()


class _TcpConnection(_NoticesReconnection, Connection):
    pass


class _TlsConnection(_NoticesReconnection, SSLConnection):
    pass


class _UnixConnection(_NoticesReconnection, UnixDomainSocketConnection):
    pass


def layer_hosts(redis_url: str, on_reconnect: Callable[[], None]) -> list[dict[str, Any]]:
    """Return the layer's ``hosts`` for ``redis_url``, on connections reporting reconnections."""
    options: dict[str, Any] = dict(parse_url(redis_url))
    plain = options.pop("connection_class", Connection)
    watched: type[_NoticesReconnection] = _TcpConnection
    if plain is SSLConnection:
        watched = _TlsConnection
    elif plain is UnixDomainSocketConnection:
        watched = _UnixConnection
    return [
        {
            **options,
            "connection_class": watched,
            "on_reconnect": on_reconnect,
            "socket_connect_timeout": 2,
        }
    ]


class LayerFanout:
    """Sockets of this process on Channels' pub/sub layer: a channel each, a group per topic."""

    def __init__(self, redis_url: str, *, prefix: str = "") -> None:
        self._layer = RedisPubSubChannelLayer(
            hosts=layer_hosts(redis_url, self._reconnected), prefix=prefix
        )
        self._channels: dict[Listener, str] = {}
        self._readers: dict[Listener, asyncio.Task[None]] = {}
        self._groups_of: dict[Listener, frozenset[str]] = {}
        # Listeners whose groups Redis may not hold (their follow failed).
        self._unsure: set[Listener] = set()
        self.reconnections = 0
        # Messages handed to listeners so far; the process's metrics read it now and then.
        self.delivered = 0

    async def follow(self, listener: Listener, topics: set[str] | frozenset[str]) -> None:
        """Make ``topics`` exactly the groups of ``listener``'s channel."""
        wanted = frozenset(topics)
        before = self._groups_of.get(listener, frozenset())
        self._groups_of[listener] = wanted
        try:
            await asyncio.wait_for(
                self._join(listener, wanted, before), fanout.FOLLOW_TIMEOUT_SECONDS
            )
        except (redis.RedisError, OSError, ConnectionError, TimeoutError) as error:
            self._unsure.add(listener)
            logger.info("layer fan-out: follow failed: %s", error)
            raise FanoutUnavailable("live updates are unavailable: Redis does not answer") from None
        self._unsure.discard(listener)

    async def _join(
        self, listener: Listener, wanted: frozenset[str], before: frozenset[str]
    ) -> None:
        channel = self._channels.get(listener)
        if channel is None:
            channel = await self._layer.new_channel()
            self._channels[listener] = channel
            self._readers[listener] = asyncio.get_running_loop().create_task(
                self._read(listener, channel), name="layer-reader"
            )
        for group in before - wanted:
            await self._layer.group_discard(group, channel)
        # Every wanted group, not only new ones: a join that failed earlier is made now.
        for group in wanted:
            await self._layer.group_add(group, channel)

    async def forget(self, listener: Listener) -> None:
        """Leave every group and stop reading ``listener``'s channel."""
        groups = self._groups_of.pop(listener, frozenset())
        self._unsure.discard(listener)
        channel = self._channels.pop(listener, None)
        reader = self._readers.pop(listener, None)
        if channel is not None:
            with contextlib.suppress(redis.RedisError, OSError, ConnectionError):
                for group in groups:
                    await self._layer.group_discard(group, channel)
        if reader is not None:
            # Cancelling the layer's receive also unsubscribes the channel.
            reader.cancel()

    def following(self, topic: str) -> int:
        """Return how many listeners of this process follow ``topic``."""
        return sum(topic in groups for groups in self._groups_of.values())

    def open_sockets(self) -> int:
        """Return how many listeners this fan-out serves."""
        return len(self._groups_of)

    async def close(self) -> None:
        """Stop every reader and close the layer's connections (for tests and shutdown)."""
        for reader in self._readers.values():
            reader.cancel()
        self._readers.clear()
        await self._layer.flush()

    async def _read(self, listener: Listener, channel: str) -> None:
        while True:
            message = await self._layer.receive(channel)
            self.delivered += 1
            try:
                listener.deliver(message["text"])
            except Exception:  # one broken socket must not stop the others' pushes
                logger.exception("layer fan-out: a listener failed to take a message")

    def _reconnected(self) -> None:
        """Called by a layer connection that connected again: messages may have been lost."""
        self.reconnections += 1
        asyncio.get_running_loop().create_task(self._resync_all())

    async def _resync_all(self) -> None:
        # Re-join what failed to join while Redis was away, then have every page re-read.
        for listener in list(self._unsure):
            with contextlib.suppress(redis.RedisError, OSError, ConnectionError):
                await self._join(listener, self._groups_of.get(listener, frozenset()), frozenset())
                self._unsure.discard(listener)
        for listener in list(self._groups_of):
            try:
                listener.resync()
            except Exception:
                logger.exception("layer fan-out: a listener failed to take a resync")


_fanouts: dict[tuple[int, int, str, str], LayerFanout] = {}


def process_layer_fanout(redis_url: str, *, prefix: str = "") -> LayerFanout:
    """Return this process's layer fan-out for its event loop and ``redis_url``."""
    key = (os.getpid(), id(asyncio.get_running_loop()), redis_url, prefix)
    made = _fanouts.get(key)
    if made is None:
        made = _fanouts[key] = LayerFanout(redis_url, prefix=prefix)
        counters.report_live(made)
    return made


# --- publishing -------------------------------------------------------------------------------

# A publish that Redis has not taken after this long fails, as a stuck connection would.
PUBLISH_TIMEOUT_SECONDS = 30.0

_publishers: dict[tuple[str, str], RedisPubSubChannelLayer] = {}
# This process's publishing event loop and its thread, by process id (a forked worker makes
# its own: a loop and its connections are not shared across a fork).
_publishing_loops: dict[int, tuple[asyncio.AbstractEventLoop, threading.Thread]] = {}
_publishing_lock = threading.Lock()


def _publisher(redis_url: str, prefix: str) -> RedisPubSubChannelLayer:
    layer = _publishers.get((redis_url, prefix))
    if layer is None:
        # Publishing needs no reconnection notices: a failed PUBLISH raises.
        layer = _publishers[(redis_url, prefix)] = RedisPubSubChannelLayer(
            hosts=[{"address": redis_url, "socket_connect_timeout": 2}], prefix=prefix
        )
    return layer


async def _send_all(layer: RedisPubSubChannelLayer, messages: list[tuple[str, str]]) -> None:
    for group, text in messages:
        await layer.group_send(group, {"type": MESSAGE_TYPE, "text": text})


def _publishing_loop() -> asyncio.AbstractEventLoop:
    """Return this process's publishing loop, started in a thread of its own on first use.

    The layer keeps its connections per event loop. Run from a fresh loop each time (as
    ``async_to_sync`` does from a worker), every publish paid for a thread, a loop and a new
    Redis connection; on one loop that lives as long as the process, the layer's connection
    is made once.
    """
    pid = os.getpid()
    with _publishing_lock:
        running = _publishing_loops.get(pid)
        if running is None or not running[1].is_alive():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="live-publisher", daemon=True)
            thread.start()
            running = _publishing_loops[pid] = (loop, thread)
    return running[0]


def publish_texts(redis_url: str, prefix: str, messages: Iterable[tuple[str, str]]) -> None:
    """Send each ``(group, text)`` with the layer's ``group_send``: one PUBLISH each."""
    batch = list(messages)
    if not batch:
        return
    sending = asyncio.run_coroutine_threadsafe(
        _send_all(_publisher(redis_url, prefix), batch), _publishing_loop()
    )
    try:
        sending.result(timeout=PUBLISH_TIMEOUT_SECONDS)
    except TimeoutError:
        sending.cancel()
        raise
