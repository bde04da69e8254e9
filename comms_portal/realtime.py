"""The one place that sends to the channel layer, and the shapes of what it sends.

Group names are built from ids only (never e-mail addresses): ``presence.<graph id>`` for
everyone showing a person, ``user.<portal user id>`` for one person's open pages.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

# Message types; a consumer has one handler per type (dots become underscores). A presence
# message carries ``text``: the browser's JSON, ``{"type": "presence", "presence": {...}}``.
PRESENCE_CHANGED = "presence.changed"
USER_NOTICE = "user.notice"


def presence_group(person_id: str) -> str:
    """Return the group of every browser showing ``person_id``."""
    return f"presence.{person_id}"


def user_group(user_id: int) -> str:
    """Return the group of every open page of portal user ``user_id``."""
    return f"user.{user_id}"


def _send_all(messages: list[tuple[str, dict[str, Any]]]) -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("CHANNEL_LAYERS is not configured")

    async def send() -> None:
        await asyncio.gather(*(layer.group_send(group, message) for group, message in messages))

    # One trip into the event loop for the whole batch, not one per message.
    async_to_sync(send)()


def _send(group: str, message: dict[str, Any]) -> None:
    _send_all([(group, message)])


def broadcast_presence(person_id: str, presence: dict[str, Any]) -> None:
    """Tell every browser showing ``person_id`` their new presence."""
    broadcast_presences([(person_id, presence)])


def broadcast_presences(updates: Iterable[tuple[str, dict[str, Any]]]) -> None:
    """Tell the browsers showing each person of ``updates`` that person's new presence."""
    messages = [
        (
            presence_group(person_id),
            # Encoded here once, not by each of the consumers that relay it to a browser.
            {
                "type": PRESENCE_CHANGED,
                "text": json.dumps({"type": "presence", "presence": presence}),
            },
        )
        for person_id, presence in updates
    ]
    if messages:
        _send_all(messages)


def notify_user(user_id: int, notice: dict[str, Any]) -> None:
    """Send a notice (an availability alert, say) to every open page of one person."""
    _send(user_group(user_id), {"type": USER_NOTICE, "notice": notice})
