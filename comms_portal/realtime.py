"""The one place that sends to the channel layer, and the shapes of what it sends.

Group names are built from ids only (never e-mail addresses): ``presence.<graph id>`` for
everyone showing a person, ``user.<portal user id>`` for one person's open pages.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Coroutine, Iterable
from typing import Any

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


# A send that Redis has not taken after this long fails the caller instead of hanging it.
SEND_TIMEOUT_SECONDS = 30.0

_sender_lock = threading.Lock()
_sender: tuple[int, asyncio.AbstractEventLoop] | None = None


def _sender_loop() -> asyncio.AbstractEventLoop:
    """Return this process's sending loop, started on first use (and again after a fork)."""
    global _sender
    with _sender_lock:
        if _sender is None or _sender[0] != os.getpid() or _sender[1].is_closed():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=loop.run_forever, name="channel-layer-sender", daemon=True
            )
            thread.start()
            _sender = (os.getpid(), loop)
        return _sender[1]


def _run(send: Coroutine[Any, Any, None]) -> None:
    # async_to_sync would run each send on a fresh event loop, and the channel layer opens a
    # new Redis connection per loop: a few milliseconds per broadcast. One long-lived loop
    # per process keeps its connection.
    future = asyncio.run_coroutine_threadsafe(send, _sender_loop())
    try:
        future.result(timeout=SEND_TIMEOUT_SECONDS)
    except TimeoutError:
        future.cancel()
        raise


def _send_all(messages: list[tuple[str, dict[str, Any]]]) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass  # sync code, as it should be
    else:
        raise RuntimeError("realtime sends block: call them from sync code (sync_to_async)")
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("CHANNEL_LAYERS is not configured")

    async def send() -> None:
        await asyncio.gather(*(layer.group_send(group, message) for group, message in messages))

    # One trip into the event loop for the whole batch, not one per message.
    _run(send())


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
