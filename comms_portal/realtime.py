"""The one place that sends to the channel layer, and the shapes of what it sends.

Group names are built from ids only (never e-mail addresses): ``presence.<graph id>`` for
everyone showing a person, ``user.<portal user id>`` for one person's open pages.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

# Message types; a consumer has one handler per type (dots become underscores).
PRESENCE_CHANGED = "presence.changed"
USER_NOTICE = "user.notice"


def presence_group(person_id: str) -> str:
    """Return the group of every browser showing ``person_id``."""
    return f"presence.{person_id}"


def user_group(user_id: int) -> str:
    """Return the group of every open page of portal user ``user_id``."""
    return f"user.{user_id}"


def _send(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("CHANNEL_LAYERS is not configured")
    async_to_sync(layer.group_send)(group, message)


def broadcast_presence(person_id: str, presence: dict[str, Any]) -> None:
    """Tell every browser showing ``person_id`` their new presence."""
    _send(presence_group(person_id), {"type": PRESENCE_CHANGED, "presence": presence})


def notify_user(user_id: int, notice: dict[str, Any]) -> None:
    """Send a notice (an availability alert, say) to every open page of one person."""
    _send(user_group(user_id), {"type": USER_NOTICE, "notice": notice})
