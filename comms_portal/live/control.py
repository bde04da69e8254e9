"""Orders to a person's open sockets, sent on their own topic: close, for this session or all.

A control message travels on ``user:<id>`` like a notice, but the sockets act on it and never
pass it to the page. It names the session by a fingerprint (a hash of the session key; the
key itself is a credential and never leaves the server), or no session for every one of the
person's sockets. Sockets tell control messages from everything else they relay by the start
of the text alone, so no other message is parsed on its way to the browser.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from comms_portal.live.publish import publish
from comms_portal.live.topics import user_topic

CONTROL_TYPE = "live.control"
# The start of every control message's text as published (json.dumps keeps "type" first).
CONTROL_PREFIX = json.dumps({"type": CONTROL_TYPE})[:-1]

# Why a socket is closed; the page words each for the person.
SIGNED_OUT = "signed-out"
EXPIRED = "expired"
DISABLED = "disabled"
REASONS = (SIGNED_OUT, EXPIRED, DISABLED)


def session_fingerprint(session_key: str) -> str:
    """Return the name of a session on the live channel: a hash of its key, never the key."""
    return hashlib.sha256(f"live-session:{session_key}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class CloseOrder:
    """Close the sockets of one session (``session`` is its fingerprint) or all (None)."""

    reason: str
    session: str | None

    def concerns(self, fingerprint: str | None) -> bool:
        """Tell whether a socket of the session ``fingerprint`` must close."""
        return self.session is None or self.session == fingerprint


def close_sockets(user_id: int, *, reason: str, session_key: str | None = None) -> None:
    """Close the open sockets of ``user_id``: those of ``session_key``, or every one."""
    if reason not in REASONS:
        raise ValueError(f"{reason!r} is no reason to close; one of {', '.join(REASONS)}")
    fingerprint = None if session_key is None else session_fingerprint(session_key)
    publish(
        user_topic(user_id),
        {"type": CONTROL_TYPE, "close": reason, "session": fingerprint},
    )


def read_control(text: str) -> CloseOrder | None:
    """Return the order a relayed text gives, or None if it is no control message."""
    if not text.startswith(CONTROL_PREFIX):
        return None
    try:
        message = json.loads(text)
    except ValueError:
        return None
    reason = message.get("close") if isinstance(message, dict) else None
    session = message.get("session")
    if reason not in REASONS or not (session is None or isinstance(session, str)):
        return None
    return CloseOrder(reason=str(reason), session=session)
