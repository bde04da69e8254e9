"""Hooks one part of the sandbox offers the others: what happened, for whoever listens.

The calls and meetings parts call :func:`call_ended` and :func:`meeting_ended` when a call
or a meeting is over; the call-records part listens and turns them into call records, as
Teams does. A part that listens registers with :func:`on_call_ended` or
:func:`on_meeting_ended` (and removes itself with the function those return), so the caller
needs to know nothing of who listens.

``call_dict`` is Graph's ``call`` resource as the sandbox serves it (``id``,
``callChainId``, ``source``, ``targets``, ``requestedModalities``...), with the moments the
conversation began and ended as ``startDateTime`` and ``endDateTime`` (ISO 8601, UTC) and
``participants``, the ``participantInfo`` of everyone who was in it (the bot, the people, and
whoever a caller was redirected or transferred to); a call nobody took names at most the bot.
``meeting_dict`` is Graph's ``onlineMeeting`` (``id``, ``joinWebUrl``, ``participants``,
``startDateTime``, ``endDateTime``...), and ``attendance_intervals`` one entry per
attendee as an attendance report's ``attendanceRecord`` has it
(``identity``: ``{"id", "displayName"}``, ``attendanceIntervals``:
``[{"joinDateTime", "leaveDateTime"}]``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

logger = logging.getLogger(__name__)

CallListener = Callable[[dict[str, Any]], None]
MeetingListener = Callable[[dict[str, Any], Sequence[dict[str, Any]]], None]

_lock = threading.Lock()
_call_listeners: list[CallListener] = []
_meeting_listeners: list[MeetingListener] = []


def on_call_ended(listener: CallListener) -> Callable[[], None]:
    """Call ``listener(call_dict)`` whenever a call ends; return what removes it again."""
    with _lock:
        _call_listeners.append(listener)

    def remove() -> None:
        with _lock:
            if listener in _call_listeners:
                _call_listeners.remove(listener)

    return remove


def on_meeting_ended(listener: MeetingListener) -> Callable[[], None]:
    """Call ``listener(meeting_dict, attendance_intervals)`` whenever a meeting ends."""
    with _lock:
        _meeting_listeners.append(listener)

    def remove() -> None:
        with _lock:
            if listener in _meeting_listeners:
                _meeting_listeners.remove(listener)

    return remove


def call_ended(call_dict: dict[str, Any]) -> None:
    """Tell every listener that a call ended; a failing listener does not stop the others."""
    with _lock:
        listeners = list(_call_listeners)
    for listener in listeners:
        try:
            listener(call_dict)
        except Exception:
            logger.exception("a call_ended listener failed")


def meeting_ended(
    meeting_dict: dict[str, Any], attendance_intervals: Sequence[dict[str, Any]]
) -> None:
    """Tell every listener that a meeting ended, with who attended when."""
    with _lock:
        listeners = list(_meeting_listeners)
    for listener in listeners:
        try:
            listener(meeting_dict, attendance_intervals)
        except Exception:
            logger.exception("a meeting_ended listener failed")
