"""Which fan-out carries the live channel: ``LIVE_FANOUT`` chooses, every process the same.

``portal`` is our own (``fanout.Fanout``: raw pub/sub commands on one connection, a message
decoded once per process and handed to each socket); ``channels`` is Channels' pub/sub layer
(``layer.LayerFanout``: a layer channel and a reading task per socket, one group per topic).
Publishers and sockets must agree, since each names and encodes messages its own way.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Protocol

from django.conf import settings

from comms_portal.live.fanout import Listener, process_fanout
from comms_portal.live.layer import layer_publishes, process_layer_fanout
from comms_portal.live.topics import group_name, namespace
from comms_portal.metrics import counters
from comms_portal.metrics.counters import LIVE_PUBLISHED
from comms_portal.redis_client import get_redis

PORTAL = "portal"
CHANNELS = "channels"
CHOICES = (PORTAL, CHANNELS)


class LiveFanout(Protocol):
    """What a socket needs of a fan-out."""

    async def follow(self, listener: Listener, topics: set[str] | frozenset[str]) -> None:
        """Make ``topics`` exactly what ``listener`` follows (raise FanoutUnavailable)."""

    async def forget(self, listener: Listener) -> None:
        """Stop delivering to ``listener``."""


def process_live_fanout() -> LiveFanout:
    """Return this process's fan-out of the configured kind, made on first use."""
    url = settings.REDIS_URL
    if settings.LIVE_FANOUT == CHANNELS:
        return process_layer_fanout(url, prefix=namespace(url))
    return process_fanout(url, prefix=namespace(url))


def redis_channel(topic: str) -> str:
    """Return the Redis pub/sub channel ``topic`` travels on with the configured fan-out."""
    prefix = namespace(settings.REDIS_URL)
    if settings.LIVE_FANOUT == CHANNELS:
        # The layer's own naming of a group's channel.
        return f"{prefix}__group__{group_name(topic)}"
    return prefix + group_name(topic)


def publish_encoded(messages: Iterable[tuple[str, dict[str, Any]]]) -> None:
    """Publish each ``(topic, message)``, its JSON encoded once, with the configured fan-out."""
    encoded = [(group_name(topic), json.dumps(message)) for topic, message in messages]
    if not encoded:
        return
    url = settings.REDIS_URL
    # One round trip for the whole batch, whatever the number of browsers listening; the
    # metrics' counts ride along.
    pipeline = get_redis().pipeline(transaction=False)
    if settings.LIVE_FANOUT == CHANNELS:
        for channel, payload in layer_publishes(url, namespace(url), encoded):
            pipeline.publish(channel, payload)
    else:
        for group, text in encoded:
            pipeline.publish(namespace(url) + group, text)
    counters.add(pipeline, LIVE_PUBLISHED, amount=len(encoded))
    counters.flush_into(pipeline)
    pipeline.execute()
