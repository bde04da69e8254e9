"""Websocket routes of every app, gathered in one list for the ASGI router."""

from __future__ import annotations

from typing import Any

from django.urls import path

from presence.consumers import PresenceConsumer

websocket_urlpatterns: list[Any] = [
    path("ws/presence/", PresenceConsumer.as_asgi()),
]
