"""What My status shows: the person's presence as Graph has it, with what they chose here.

The availability, message and work location come from the presence store (Graph's word);
when the availability or message is the one chosen on this page, its end is known too. The
forms start from what is set, so sending one again changes only what the person changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from accounts.models import User
from presence import chosen, status
from presence.store import PresenceState, get_one

# Graph's availability -> the menu's choice that shows it.
_CHOICE_OF_AVAILABILITY = {
    shown: key for key, (_, shown, _) in status.AVAILABILITY_CHOICES.items()
} | {"AvailableIdle": "available", "BusyIdle": "busy"}
_LOCATIONS = {"office", "remote"}


@dataclass(frozen=True)
class MyStatus:
    """The person's presence, when what they chose ends, and where each form starts."""

    presence: PresenceState | None
    # When the availability chosen here runs out, while Graph still shows that availability.
    availability_until: datetime | None = None
    # When the message clears, when known (the one set here, or Graph told its owner).
    message_clears_at: datetime | None = None
    # The message was set here to stay until cleared by hand.
    message_stays: bool = False
    availability_initial: dict[str, Any] = field(default_factory=dict)
    message_initial: dict[str, Any] = field(default_factory=dict)
    location_initial: dict[str, Any] = field(default_factory=dict)


def _graph_expiry(presence: PresenceState) -> datetime | None:
    if not presence.status_message_expires_at:
        return None
    try:
        return datetime.fromisoformat(presence.status_message_expires_at.replace("Z", "+00:00"))
    except ValueError:
        return None


def read_my_status(*, user: User, now: datetime, zone: tzinfo) -> MyStatus:
    """Return what My status shows ``user`` at ``now``, with times on the clock of ``zone``."""
    presence = get_one(user.object_id) if user.object_id else None
    remembered = chosen.recall(user.pk, now)
    if presence is None:
        return MyStatus(
            None,
            availability_initial={"availability": "available", "duration": "1h"},
            message_initial={"clear_after": "never"},
        )

    availability_until = None
    availability_initial = {
        "availability": _CHOICE_OF_AVAILABILITY.get(presence.availability, "available"),
        "duration": "1h",
    }
    picked = remembered.availability
    if picked is not None and status.AVAILABILITY_CHOICES[picked.choice][1] == (
        presence.availability
    ):
        availability_until = picked.ends_at
        availability_initial = {"availability": picked.choice, "duration": picked.duration}

    message_clears_at = _graph_expiry(presence) if presence.status_message else None
    message_initial: dict[str, Any] = {"message": presence.status_message, "clear_after": "never"}
    written = remembered.message
    message_stays = False
    if written is not None and written.message == presence.status_message:
        message_clears_at = written.clears_at or message_clears_at
        message_stays = written.clears_at is None
        message_initial["clear_after"] = written.clear_after
    elif message_clears_at is not None:
        message_initial["clear_after"] = "custom"
    if message_clears_at is not None:
        # The form's clock is the person's: a naive time, read as typed there.
        message_initial["expires_at"] = message_clears_at.astimezone(zone).replace(tzinfo=None)

    location = presence.work_location if presence.work_location in _LOCATIONS else None
    return MyStatus(
        presence,
        availability_until=availability_until,
        message_clears_at=message_clears_at,
        message_stays=message_stays,
        availability_initial=availability_initial,
        message_initial=message_initial,
        location_initial={"location": location} if location else {},
    )
