"""What calls register with the live channel: the call board, for portal admins."""

from __future__ import annotations

import re
from typing import Any

from accounts.guards import is_portal_admin
from comms_portal import live


def _admins_only(user: Any, keys: list[str]) -> set[str]:
    """Refuse every key to anyone but a portal admin."""
    return set() if is_portal_admin(user) else set(keys)


CALLS = live.TopicKind(
    name="calls", key_shape=re.compile(r"board"), refused_keys=_admins_only, queries_database=False
)


def register_topics() -> None:
    """Make the call board's topic known to the live channel."""
    live.register(CALLS)
