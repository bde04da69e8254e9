"""What presence registers with the live channel: a topic per person, open to every employee."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from comms_portal import live

# Graph ids are GUIDs; the live channel allows only these characters in keys anyway.
PERSON_ID_SHAPE = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def _nobody_refused(user: Any, person_ids: list[str]) -> set[str]:
    """Refuse nothing: every signed-in person may see every colleague's presence."""
    return set()


PRESENCE = live.TopicKind(
    name="presence",
    key_shape=PERSON_ID_SHAPE,
    refused_keys=_nobody_refused,
    # No query: a wall re-sends its watch every minute, for up to 1,000 people.
    queries_database=False,
)


def register_topics() -> None:
    """Make the presence topics known to the live channel."""
    live.register(PRESENCE)


def presence_topic(person_id: str) -> str:
    """Return the topic of every page showing ``person_id``."""
    return live.topic_of(PRESENCE.name, person_id)


def publish_presences(updates: Iterable[tuple[str, dict[str, Any]]]) -> None:
    """Tell the pages showing each person of ``updates`` that person's new presence."""
    live.publish_many(
        (presence_topic(person_id), {"type": "presence", "presence": presence})
        for person_id, presence in updates
    )
