"""Places where other areas of the sandbox may hook in, without the calls area knowing them.

``on_call_ended(fn)`` registers ``fn(call)``; :func:`call_ended` runs every registered one
with the ended call's resource (a dict, metadata only) when a call of the bot ends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("sandbox.hooks")

CallEnded = Callable[[dict[str, Any]], object]
_call_ended: list[CallEnded] = []


def on_call_ended(hook: CallEnded) -> CallEnded:
    """Run ``hook(call)`` whenever a call ends."""
    _call_ended.append(hook)
    return hook


def call_ended(call: dict[str, Any]) -> None:
    """Tell every registered hook that ``call`` ended; a failing hook is logged, not raised."""
    for hook in list(_call_ended):
        try:
            hook(call)
        except Exception:
            logger.exception("call-ended hook %r failed", hook)
