"""Django's Redis cache, with one client (and so one bounded pool) per process.

Under ASGI, Django makes a cache object per request context, and its Redis backend opens a
connection pool per object and never closes it. A long-lived context (a websocket, whose
session the cached_db engine reads through the cache) then holds a Redis connection for as
long as it lives, and ten thousand open pages ran Redis out of clients. Here every cache
object of a process shares one client.
"""

from __future__ import annotations

import os
import threading
from functools import cached_property
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_lock = threading.Lock()
_clients: dict[tuple[int, str, str], RedisCacheClient] = {}


class ProcessRedisCache(RedisCache):
    """A Redis cache backend whose objects share their process's client."""

    @cached_property
    def _cache(self) -> Any:
        # Set by RedisCache.__init__, which the stubs do not declare.
        servers: list[str] = self.__dict__["_servers"]
        options: dict[str, Any] = self.__dict__["_options"]
        key = (os.getpid(), ",".join(servers), repr(sorted(options.items())))
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = RedisCacheClient(servers, **options)
            return client
