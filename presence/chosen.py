"""What a person chose on My status, remembered in Redis while it lasts.

Graph tells no one when a preferred presence runs out, and tells only its owner when a status
message clears (and only when the owner reads their own presence). The portal remembers what
the person chose here, so My status can say "Busy until 16:30" and "clears at 18:00"; the
page shows it only while Graph still shows that availability or message.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from comms_portal.redis_client import get_redis

KEY_PREFIX = "portal:my-status:v1:"
# Kept at most this long after the last change; a message that never clears is kept as long.
KEEP_SECONDS = 30 * 24 * 3600


@dataclass(frozen=True)
class ChosenAvailability:
    """An availability chosen for a while: the menu's keys and when it runs out."""

    choice: str  # a key of status.AVAILABILITY_CHOICES
    duration: str  # a key of status.DURATION_CHOICES
    until: float  # epoch seconds

    @property
    def ends_at(self) -> datetime:
        return datetime.fromtimestamp(self.until, UTC)


@dataclass(frozen=True)
class ChosenMessage:
    """A status message as set here, and when Graph was asked to clear it."""

    message: str
    clear_after: str  # a key of status.CLEAR_AFTER_CHOICES
    expires_at: float | None  # epoch seconds; None never clears

    @property
    def clears_at(self) -> datetime | None:
        return None if self.expires_at is None else datetime.fromtimestamp(self.expires_at, UTC)


def _key(user_id: int) -> str:
    return f"{KEY_PREFIX}{user_id}"


def _remember(user_id: int, field: str, value: ChosenAvailability | ChosenMessage) -> None:
    pipeline = get_redis().pipeline()
    pipeline.hset(_key(user_id), field, json.dumps(asdict(value)))
    pipeline.expire(_key(user_id), KEEP_SECONDS)
    pipeline.execute()


def remember_availability(user_id: int, chosen: ChosenAvailability) -> None:
    """Remember the availability a person chose, and until when."""
    _remember(user_id, "availability", chosen)


def remember_message(user_id: int, chosen: ChosenMessage) -> None:
    """Remember the status message a person set, and when it clears."""
    _remember(user_id, "message", chosen)


def forget_availability(user_id: int) -> None:
    """Forget a person's chosen availability (they reset it)."""
    get_redis().hdel(_key(user_id), "availability")


def forget_message(user_id: int) -> None:
    """Forget a person's status message (they cleared it)."""
    get_redis().hdel(_key(user_id), "message")


@dataclass(frozen=True)
class Chosen:
    """What a person chose that has not run out yet."""

    availability: ChosenAvailability | None
    message: ChosenMessage | None


def _load(raw: bytes | None) -> dict[str, Any]:
    try:
        data = json.loads(raw) if raw is not None else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _availability(raw: bytes | None) -> ChosenAvailability | None:
    try:
        return ChosenAvailability(**data) if (data := _load(raw)) else None
    except TypeError:
        # Written by another version of the portal: as if nothing were remembered.
        return None


def _message(raw: bytes | None) -> ChosenMessage | None:
    try:
        return ChosenMessage(**data) if (data := _load(raw)) else None
    except TypeError:
        return None


def recall(user_id: int, now: datetime) -> Chosen:
    """Return what a person chose that still lasts at ``now``."""
    raw_availability, raw_message = get_redis().hmget(_key(user_id), ["availability", "message"])
    availability = _availability(raw_availability)
    message = _message(raw_message)
    moment = now.timestamp()
    if availability is not None and availability.until <= moment:
        availability = None
    if message is not None and message.expires_at is not None and message.expires_at <= moment:
        message = None
    return Chosen(availability, message)
