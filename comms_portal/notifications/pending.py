"""Subscriptions being created: their clientState, known before Graph answers with an id.

Graph may post the first notifications of a new subscription before the portal has recorded
it (the handshake happens inside the create call). The clientState is ours and secret, so a
notification carrying the clientState of a subscription under way is genuine: the intake
keeps it, and the worker looks at it again once the record exists.
"""

from __future__ import annotations

import hashlib

from comms_portal.redis_client import get_async_redis, get_redis

PREFIX = "portal:notifications:pending-state:"
# Longer than a create call with its validation handshakes (Graph gives them 10 s each).
PENDING_SECONDS = 120


def _key(client_state: str) -> str:
    # Only a digest is stored: the secret itself never sits in Redis under a guessable name.
    return PREFIX + hashlib.sha256(client_state.encode()).hexdigest()


def expect(client_state: str, kind: str) -> None:
    """Remember that a subscription of ``kind`` with ``client_state`` is being created."""
    get_redis().set(_key(client_state), kind, ex=PENDING_SECONDS)


def settle(client_state: str) -> None:
    """Forget a pending clientState (its subscription is recorded, or was refused)."""
    get_redis().delete(_key(client_state))


def kind_expecting(client_state: str | None) -> str | None:
    """Return the kind of the subscription under way with ``client_state``, if any."""
    if not client_state:
        return None
    raw = get_redis().get(_key(client_state))
    return raw.decode() if raw else None


async def kinds_expecting(client_states: set[str]) -> dict[str, str]:
    """Return, for each clientState of a subscription under way, its kind."""
    states = sorted(state for state in client_states if state)
    if not states:
        return {}
    found = await get_async_redis().mget([_key(state) for state in states])
    return {state: raw.decode() for state, raw in zip(states, found, strict=True) if raw}
