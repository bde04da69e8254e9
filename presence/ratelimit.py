"""A token bucket in Redis, shared by every worker, that keeps presence reads inside Graph's limit.

Graph allows 1,500 presence requests per 30 seconds per application per tenant
(https://learn.microsoft.com/graph/throttling-limits#cloud-communication-service-limits);
the portal allows itself PRESENCE_REQUESTS_PER_30S of them.
"""

from __future__ import annotations

from django.conf import settings

from comms_portal.redis_client import get_redis

BUCKET_KEY = "portal:presence:request-bucket"
BACKOFF_KEY = "portal:presence:poll-backoff"
WINDOW_SECONDS = 30

# KEYS[1] bucket; ARGV[1] capacity, ARGV[2] refill per second, ARGV[3] tokens wanted.
# Redis's own clock is used so every worker agrees on the time.
_TAKE = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local saved = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(saved[1]) or capacity
local at = tonumber(saved[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local granted = 0
if tokens >= wanted then
  tokens = tokens - wanted
  granted = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 60)
return granted
"""


def take_presence_request(count: int = 1) -> bool:
    """Take ``count`` presence requests from the shared budget; False when it is spent."""
    capacity = settings.PRESENCE_REQUESTS_PER_30S
    redis = get_redis()
    script = redis.register_script(_TAKE)
    granted = script(keys=[BUCKET_KEY], args=[capacity, capacity / WINDOW_SECONDS, count])
    return int(granted) == 1


def back_off(seconds: float) -> None:
    """Hold every poll for ``seconds`` (Graph answered 429)."""
    get_redis().set(BACKOFF_KEY, "1", ex=max(1, int(seconds + 0.999)))


def backing_off() -> bool:
    """Tell whether polls are on hold after a 429."""
    return bool(get_redis().exists(BACKOFF_KEY))
