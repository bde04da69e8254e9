"""Websocket routes of every app, gathered in one list for the ASGI router."""

from __future__ import annotations

from typing import Any

from django.urls import path

from comms_portal.live.consumer import LiveConsumer

# The one live socket of every page; pages learn its path from here (see live_socket_path).
LIVE_SOCKET_PATH = "/ws/live/"

websocket_urlpatterns: list[Any] = [
    path(LIVE_SOCKET_PATH.lstrip("/"), LiveConsumer.as_asgi()),
]
