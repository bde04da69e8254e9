"""Graph's service limits as named buckets, counted per app (and per tenant where documented)."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Limit:
    """At most ``requests`` in ``window_seconds``, per app, and per tenant when ``per_tenant``."""

    requests: int
    window_seconds: float
    per_tenant: bool = True


# https://learn.microsoft.com/graph/throttling-limits
DEFAULT_LIMITS: dict[str, Limit] = {
    # Every request, per app across all tenants.
    "global": Limit(130_000, 10, per_tenant=False),
    # Entra ID counts resource units; one unit per plain read is the common case.
    "directory": Limit(8_000, 10),
    # The docs disagree: presence-get and getPresencesByUserId say 1,500 per 30 s, the
    # throttling-limits page 10,000 per 30 s (both per app per tenant). The stricter holds.
    "presence": Limit(1_500, 30),
    # https://learn.microsoft.com/graph/throttling-limits#subscription-service-limits
    # (per app per tenant): any request, and POST/PUT/PATCH/DELETE (create, renew, delete,
    # reauthorize), which count against both.
    "subscriptions": Limit(5_000, 20),
    "subscriptions-write": Limit(1_000, 20),
    "callrecords": Limit(1_500, 20),
    "pstn-calls": Limit(200, 60),
    "calls": Limit(50_000, 15),
    "virtual-events-read": Limit(750, 30, per_tenant=False),
    "virtual-events-write": Limit(15, 30, per_tenant=False),
    "meetings": Limit(2_000, 10),
    "default": Limit(10_000, 10),
}


@dataclass
class _Window:
    started: float
    count: int


@dataclass
class Throttle:
    """Fixed-window counters per (bucket, app[, tenant]) on the sandbox clock."""

    limits: dict[str, Limit] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    _windows: dict[tuple[str, str, str], _Window] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, bucket: str, *, app_id: str, tenant_id: str, now: float) -> float | None:
        """Count one request; return None when allowed, else the seconds to wait (Retry-After)."""
        limit = self.limits.get(bucket) or self.limits["default"]
        key = (bucket, app_id, tenant_id if limit.per_tenant else "*")
        with self._lock:
            window = self._windows.get(key)
            if window is None or now - window.started >= limit.window_seconds:
                window = self._windows[key] = _Window(started=now, count=0)
            if window.count >= limit.requests:
                return max(1.0, math.ceil(window.started + limit.window_seconds - now))
            window.count += 1
            return None

    def configure(self, bucket: str, limit: Limit) -> None:
        """Replace one bucket's limit and forget its counters."""
        with self._lock:
            self.limits[bucket] = limit
            for key in [k for k in self._windows if k[0] == bucket]:
                del self._windows[key]

    def reset(self) -> None:
        """Restore the documented limits and forget every counter."""
        with self._lock:
            self.limits = dict(DEFAULT_LIMITS)
            self._windows.clear()

    def describe(self) -> dict[str, dict[str, float | bool]]:
        """Return the limit table as JSON-ready data."""
        return {
            name: {
                "requests": limit.requests,
                "window_seconds": limit.window_seconds,
                "per_tenant": limit.per_tenant,
            }
            for name, limit in sorted(self.limits.items())
        }
