"""The process's Redis connection pool, for locks, heartbeats and the presence store."""

from __future__ import annotations

import os
import threading

import redis
from django.conf import settings

_lock = threading.Lock()
_clients: dict[tuple[int, str], redis.Redis[bytes]] = {}


def get_redis() -> redis.Redis[bytes]:
    """Return a Redis client for ``REDIS_URL``, one pool per process (fork-safe)."""
    key = (os.getpid(), settings.REDIS_URL)
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = redis.Redis.from_url(
                settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=2
            )
            _clients[key] = client
        return client
