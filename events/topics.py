"""What events register with the live channel: a topic per event, for those who run it."""

from __future__ import annotations

import re
from typing import Any

from comms_portal import live

EVENT_KEY_SHAPE = re.compile(r"[1-9][0-9]{0,18}")


def _not_running_it(user: Any, keys: list[str]) -> set[str]:
    """Refuse the events whose console the watcher does not reach (admins reach all)."""
    from events.models import VirtualEvent
    from events.services import can_manage

    if getattr(user, "is_portal_admin", False):
        return set()
    events = VirtualEvent.objects.in_bulk([int(key) for key in keys])
    return {key for key in keys if int(key) not in events or not can_manage(user, events[int(key)])}


EVENT = live.TopicKind(name="event", key_shape=EVENT_KEY_SHAPE, refused_keys=_not_running_it)


def register_topics() -> None:
    """Make the event topics known to the live channel."""
    live.register(EVENT)


def event_topic(event_pk: int) -> str:
    """Return the topic of every open console of one event."""
    return live.topic_of(EVENT.name, str(event_pk))
