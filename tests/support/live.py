"""The live channel seen from outside: a raw subscriber to its topics, and pages' sockets."""

from __future__ import annotations

import json
from typing import Any

import msgpack
import pytest
from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper

from accounts.models import User
from comms_portal.live.backends import CHANNELS, CHOICES, redis_channel
from comms_portal.redis_client import get_redis
from comms_portal.routing import websocket_urlpatterns


class TopicInbox:
    """Everything published on some live topics, read back as the browser would get it."""

    def __init__(self, *topics: str) -> None:
        self.pubsub = get_redis().pubsub()
        self.pubsub.subscribe(*(redis_channel(topic) for topic in topics))
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
                received.append(json.loads(self._text(message["data"])))

    def text_of(self, data: bytes) -> str:
        """Return the page's text of a message read from this inbox's Redis subscription."""
        return self._text(data)

    def _text(self, data: bytes) -> str:
        if settings.LIVE_FANOUT == CHANNELS:
            # The layer's envelope: a msgpack map carrying the page's text.
            return str(msgpack.unpackb(data)["text"])
        return data.decode()

    def close(self) -> None:
        self.pubsub.close()


# --- sockets of the live channel, as pages open them ----------------------------------------

application = AuthMiddlewareStack(URLRouter(websocket_urlpatterns))


def session_cookie(username: str, **fields: Any) -> bytes:
    """Create portal user ``username``, sign them in, and return their session cookie header."""
    user = User.objects.create(username=username, display_name=username.title(), **fields)
    return signed_in_browser(user)[1]


def signed_in_browser(user: User) -> tuple[Client, bytes]:
    """Sign ``user`` in from a browser of their own; return it and its session cookie header."""
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    return client, f"{settings.SESSION_COOKIE_NAME}={session}".encode()


def session_key_of(cookie: bytes) -> str:
    """Return the session key in a session cookie header."""
    return cookie.decode().split("=", 1)[1]


async def open_socket(cookie: bytes | None) -> WebsocketCommunicator:
    """Open ``/ws/live/`` as a page of the portal does, with ``cookie`` if given."""
    headers = [(b"origin", b"http://127.0.0.1")]
    if cookie:
        headers.append((b"cookie", cookie))
    communicator = WebsocketCommunicator(application, "/ws/live/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def watch(communicator: WebsocketCommunicator, topics: list[str]) -> dict[str, Any]:
    """Send a watch message and return the answer."""
    await communicator.send_json_to({"type": "watch", "topics": topics})
    answer: dict[str, Any] = await communicator.receive_json_from(timeout=5)
    return answer


@pytest.fixture(params=CHOICES)
def live_fanout(request: pytest.FixtureRequest, settings: SettingsWrapper) -> str:
    """Run the test on each fan-out the live channel can use (``LIVE_FANOUT``)."""
    settings.LIVE_FANOUT = request.param
    return str(request.param)
