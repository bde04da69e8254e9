"""Publishing live messages: each is the browser's JSON text, encoded once, sent once.

A message goes out on its topic's Redis pub/sub channel; each ASGI process's fan-out hands it
to its sockets that watch the topic. Publish after the change is committed
(``transaction.on_commit``), so a page that re-reads on the message sees the change.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from comms_portal.live.backends import publish_encoded
from comms_portal.live.topics import user_topic


def publish(topic: str, message: dict[str, Any]) -> None:
    """Send ``message`` to every page watching ``topic``."""
    publish_many([(topic, message)])


def publish_many(messages: Iterable[tuple[str, dict[str, Any]]]) -> None:
    """Send each ``(topic, message)`` to the pages watching its topic, in one round trip.

    With ``LIVE_FANOUT=channels`` it is the layer's ``group_send``, one PUBLISH a message.
    """
    publish_encoded(messages)


def notify_user(user_id: int, notice: dict[str, Any]) -> None:
    """Send a notice (an availability alert, say) to every open page of one person."""
    publish(user_topic(user_id), {"type": "notice", "notice": notice})
