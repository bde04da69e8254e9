"""Meetings whose call events Graph refused to the portal, left alone for a while (Redis)."""

from __future__ import annotations

from comms_portal.redis_client import get_redis

PREFIX = "portal:meetings:set-aside:"
# An organizer without an application access policy stays without one for a while: ask
# Graph again after this long, not at every upkeep pass.
SET_ASIDE_SECONDS = 1800


def set_aside(meeting_id: int, reason: str) -> None:
    """Remember that Graph refused to tell the portal of this meeting's call, and why."""
    get_redis().set(f"{PREFIX}{meeting_id}", reason[:300], ex=SET_ASIDE_SECONDS)


def is_set_aside(meeting_id: int) -> bool:
    """Tell whether the meeting's call events were refused lately."""
    return bool(get_redis().exists(f"{PREFIX}{meeting_id}"))
