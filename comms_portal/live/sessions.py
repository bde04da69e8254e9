"""The session a socket was opened with: when it ends, and whether it still exists.

Sessions live in the database with a copy in the Redis cache (``SESSION_ENGINE`` is
``cached_db``); signing out and a leaver's removal delete both. A socket learns its session's
expiry when it opens (sign-ins last a fixed time) and closes then; at each watch message it
checks that the session still exists with one Redis read of the cached copy, on the event
loop. Only when that copy is missing (evicted, or the session is gone) is the database asked,
which also puts the copy back for the next check.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from importlib import import_module
from typing import Any

import redis
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from comms_portal.live.control import session_fingerprint
from comms_portal.redis_client import get_async_redis


@dataclass(frozen=True)
class SocketSession:
    """The session behind a socket: its key, its name on the live channel, its end."""

    key: str
    fingerprint: str
    expires_at: datetime


def session_of(scope: dict[str, Any]) -> SocketSession | None:
    """Return the session of a signed-in socket's scope, or None if it has none."""
    session = scope.get("session")
    key = getattr(session, "session_key", None)
    if session is None or not key:
        return None
    # The auth middleware has read the session to find the person, so this reads no store.
    expires_at: datetime = session.get_expiry_date()
    return SocketSession(key=key, fingerprint=session_fingerprint(key), expires_at=expires_at)


def _store(key: str) -> Any:
    engine = import_module(settings.SESSION_ENGINE)
    return engine.SessionStore(session_key=key)


async def session_alive(key: str, user_id: int) -> bool:
    """Tell whether session ``key`` still exists and still belongs to user ``user_id``."""
    store = _store(key)
    cache = caches[settings.SESSION_CACHE_ALIAS]
    cache_key = getattr(store, "cache_key", None)
    try:
        # The cache and the live channel share REDIS_URL: an EXISTS on our own async
        # connection costs no thread. A session key never changes hands (each sign-in makes a
        # new one), so the copy's presence is enough.
        if (
            cache_key is not None
            and isinstance(cache, RedisCache)
            and await get_async_redis().exists(cache.make_and_validate_key(cache_key))
        ):
            return True
        data = await store.aload()
    except (redis.RedisError, OSError):
        # Redis is down: nothing reaches the socket meanwhile (sign-out notices included),
        # and the page's next watch, once Redis is back, checks again.
        return True
    return str(data.get(SESSION_KEY, "")) == str(user_id)
