"""What meetings register with the live channel: ``meeting:<id>``, for organizer and invitees."""

from __future__ import annotations

import re
from typing import Any

from django.db.models import Q

from comms_portal import live
from meetings.models import Meeting

MEETING_KEY = re.compile(r"[1-9][0-9]{0,18}")


def _not_invited(user: Any, keys: list[str]) -> set[str]:
    """Refuse the meetings the watcher neither organises nor is invited to."""
    graph_id = getattr(user, "object_id", "") or "-"
    allowed = set(
        Meeting.objects.active()
        .filter(pk__in=[int(key) for key in keys])
        .filter(Q(organizer_id=user.pk) | Q(invitees__graph_id__iexact=graph_id))
        .values_list("pk", flat=True)
    )
    return {key for key in keys if int(key) not in allowed}


MEETING = live.TopicKind(name="meeting", key_shape=MEETING_KEY, refused_keys=_not_invited)


def register_topics() -> None:
    """Make the meeting topics known to the live channel."""
    live.register(MEETING)


def meeting_topic(meeting_id: int) -> str:
    """Return the topic of every page showing a meeting's roster."""
    return live.topic_of(MEETING.name, str(meeting_id))
