"""The one place that publishes live messages to browsers, and the shapes of what it sends.

Every message is the browser's JSON text, encoded once here and published on one Redis
pub/sub topic; each ASGI process's fan-out (``comms_portal.fanout``) hands it to the sockets
that follow the topic. Topics are built from ids only (never e-mail addresses):
``presence.<graph id>`` for everyone showing a person, ``user.<portal user id>`` for one
person's open pages. Redis pub/sub ignores database numbers, so topics carry the number of
``REDIS_URL``'s database: two portals on one Redis server never hear each other.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from comms_portal.redis_client import get_redis

# What a page is told when messages may have been lost: re-read a snapshot.
RESYNC_TEXT = json.dumps({"type": "resync"})


@cache
def _namespace(redis_url: str) -> str:
    path = urlsplit(redis_url).path.strip("/")
    database = path if path.isdigit() else "0"
    return f"portal:{database}:"


def presence_topic(person_id: str) -> str:
    """Return the topic of every browser showing ``person_id``."""
    return f"{_namespace(settings.REDIS_URL)}presence.{person_id}"


def user_topic(user_id: int) -> str:
    """Return the topic of every open page of portal user ``user_id``."""
    return f"{_namespace(settings.REDIS_URL)}user.{user_id}"


def presence_text(presence: dict[str, Any]) -> str:
    """Return the browser's message for one person's new presence."""
    return json.dumps({"type": "presence", "presence": presence})


def notice_text(notice: dict[str, Any]) -> str:
    """Return the browser's message for a notice (an availability alert, say)."""
    return json.dumps({"type": "notice", "notice": notice})


def _publish(messages: list[tuple[str, str]]) -> None:
    if not messages:
        return
    # One round trip for the whole batch, whatever the number of browsers listening.
    pipeline = get_redis().pipeline(transaction=False)
    for topic, text in messages:
        pipeline.publish(topic, text)
    pipeline.execute()


def broadcast_presence(person_id: str, presence: dict[str, Any]) -> None:
    """Tell every browser showing ``person_id`` their new presence."""
    broadcast_presences([(person_id, presence)])


def broadcast_presences(updates: Iterable[tuple[str, dict[str, Any]]]) -> None:
    """Tell the browsers showing each person of ``updates`` that person's new presence."""
    _publish(
        [(presence_topic(person_id), presence_text(presence)) for person_id, presence in updates]
    )


def notify_user(user_id: int, notice: dict[str, Any]) -> None:
    """Send a notice (an availability alert, say) to every open page of one person."""
    _publish([(user_topic(user_id), notice_text(notice))])
