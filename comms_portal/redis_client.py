"""The process's Redis connection pool, for locks, heartbeats and the presence store."""

from __future__ import annotations

import asyncio
import os
import threading

import redis
import redis.asyncio
from django.conf import settings

_lock = threading.Lock()
_clients: dict[tuple[int, str, float], redis.Redis[bytes]] = {}
_async_clients: dict[tuple[int, int, str], redis.asyncio.Redis[bytes]] = {}


def get_redis(*, timeout: float = 5) -> redis.Redis[bytes]:
    """Return a Redis client for ``REDIS_URL``, one pool per process and timeout (fork-safe)."""
    key = (os.getpid(), settings.REDIS_URL, timeout)
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = redis.Redis.from_url(
                settings.REDIS_URL, socket_timeout=timeout, socket_connect_timeout=min(timeout, 2)
            )
            _clients[key] = client
        return client


def get_async_redis() -> redis.asyncio.Redis[bytes]:
    """Return an asyncio Redis client for ``REDIS_URL``, one per process and event loop."""
    key = (os.getpid(), id(asyncio.get_running_loop()), settings.REDIS_URL)
    client = _async_clients.get(key)
    if client is None:
        client = redis.asyncio.Redis.from_url(
            settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=2
        )
        _async_clients[key] = client
    return client
