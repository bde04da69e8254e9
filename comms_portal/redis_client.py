"""The process's Redis connection pools, for locks, heartbeats, the inbox and the presence store.

Each pool is bounded (REDIS_POOL_SIZE connections per process, event loop and timeout):
when every connection is busy a command waits for one rather than opening another, so
thousands of sockets connecting at once cannot push Redis past its client limit.
"""

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
            pool = redis.BlockingConnectionPool.from_url(
                settings.REDIS_URL,
                max_connections=settings.REDIS_POOL_SIZE,
                timeout=timeout,
                socket_timeout=timeout,
                socket_connect_timeout=min(timeout, 2),
            )
            client = redis.Redis(connection_pool=pool)
            _clients[key] = client
        return client


def get_async_redis() -> redis.asyncio.Redis[bytes]:
    """Return an asyncio Redis client for ``REDIS_URL``, one per process and event loop."""
    key = (os.getpid(), id(asyncio.get_running_loop()), settings.REDIS_URL)
    client = _async_clients.get(key)
    if client is None:
        pool: redis.asyncio.BlockingConnectionPool[redis.asyncio.Connection] = (
            redis.asyncio.BlockingConnectionPool.from_url(
                settings.REDIS_URL,
                max_connections=settings.REDIS_POOL_SIZE,
                timeout=5,
                socket_timeout=5,
                socket_connect_timeout=2,
            )
        )
        client = redis.asyncio.Redis(connection_pool=pool)
        _async_clients[key] = client
    return client
