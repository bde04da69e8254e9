"""A subscriber to the portal's live topics on the real Redis, as each ASGI process is."""

from __future__ import annotations

import json
from typing import Any

from comms_portal.redis_client import get_redis


class TopicInbox:
    """Everything published on some live topics, read back as the browser would get it."""

    def __init__(self, *topics: str) -> None:
        self.pubsub = get_redis().pubsub()
        self.pubsub.subscribe(*topics)
        confirmed = 0
        while confirmed < len(topics):
            message = self.pubsub.get_message(timeout=5)
            if message is None:
                raise TimeoutError(f"Redis did not confirm the subscription to {topics}")
            confirmed += message["type"] == "subscribe"

    def messages(self, wait: float = 0.5) -> list[dict[str, Any]]:
        """Return what arrived, in order, waiting up to ``wait`` seconds for each."""
        received: list[dict[str, Any]] = []
        while True:
            message = self.pubsub.get_message(timeout=wait)
            if message is None:
                return received
            if message["type"] == "message":
                received.append(json.loads(message["data"]))

    def close(self) -> None:
        self.pubsub.close()
