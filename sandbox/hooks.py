"""Points where other sandbox areas attach to events of the meetings and calls areas.

When a meeting's call ends, ``meeting_ended(meeting, attendance_intervals)`` tells every
listener registered with ``on_meeting_ended``; none is registered by default. ``meeting`` is
the meeting as Graph returns it and ``attendance_intervals`` maps each participant's user id
to their ``(joinDateTime, leaveDateTime)`` pairs (aware UTC datetimes).

When a call of the calling bot ends, ``call_ended(call)`` tells every listener registered with
``on_call_ended``; ``call`` is the call resource as Graph returns it (metadata only).

Listeners run with the sandbox's state lock held, on the thread that ended the call: keep
them quick.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

logger = logging.getLogger("sandbox.hooks")

Intervals = dict[str, list[tuple[datetime, datetime]]]
MeetingEnded = Callable[[dict[str, Any], Intervals], None]
CallEnded = Callable[[dict[str, Any]], object]

_meeting_ended: list[MeetingEnded] = []
_call_ended: list[CallEnded] = []


def on_meeting_ended(listener: MeetingEnded) -> MeetingEnded:
    """Call ``listener`` each time a meeting's call ends."""
    _meeting_ended.append(listener)
    return listener


def meeting_ended(meeting: dict[str, Any], attendance_intervals: Intervals) -> None:
    """Tell every listener that a meeting's call ended; a failing listener is logged."""
    for listener in list(_meeting_ended):
        try:
            listener(meeting, attendance_intervals)
        except Exception:
            logger.exception("a meeting-ended listener failed")


def on_call_ended(listener: CallEnded) -> CallEnded:
    """Call ``listener`` each time a call of the calling bot ends."""
    _call_ended.append(listener)
    return listener


def call_ended(call: dict[str, Any]) -> None:
    """Tell every listener that a call ended; a failing listener is logged."""
    for listener in list(_call_ended):
        try:
            listener(call)
        except Exception:
            logger.exception("a call-ended listener failed")
