"""When a Graph request may be sent again, and how long to wait before it."""

# https://learn.microsoft.com/graph/throttling
# https://learn.microsoft.com/graph/best-practices-concept#handling-expected-errors

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from email.utils import parsedate_to_datetime

from comms_portal.graph.config import RetryPolicy

# Methods whose repetition has the same effect as one request (RFC 9110, section 9.2.2).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

# The rule for sending a request again:
#   * 429: Graph throttled the request before doing anything with it, so any request, a
#     POST included, may be sent again once Retry-After has passed.
#   * 503 with Retry-After: Graph says the service is unavailable and when to come back; the
#     request was not processed, so any request may be sent again.
#   * 503 without Retry-After, and 504: a gateway gave up, and the service behind it may or
#     may not have acted. Only requests that are safe to repeat are sent again: idempotent
#     methods, and POSTs the caller marked safe (reads such as getPresencesByUserId, or a
#     $batch made only of reads).
#   * A connection that could not be opened: nothing reached Graph, so anything is retried.
#   * A timeout or broken connection after sending: Graph may have acted; only requests
#     safe to repeat are sent again.
#   * Every other status (500 included) is final.
RETRY_STATUSES = frozenset({429, 503, 504})


def is_safe_to_repeat(method: str, *, marked_safe: bool) -> bool:
    """Tell whether sending this request twice has the same effect as sending it once."""
    return marked_safe or method.upper() in IDEMPOTENT_METHODS


def status_allows_retry(status: int, *, safe_to_repeat: bool, has_retry_after: bool) -> bool:
    """Apply the rule above to an HTTP status."""
    if status == 429:
        return True
    if status == 503:
        return has_retry_after or safe_to_repeat
    if status == 504:
        return safe_to_repeat
    return False


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Read a Retry-After header (seconds, possibly fractional, or an HTTP date) as seconds."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        return max(0.0, (when - now).total_seconds())
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


class RetryBudget:
    """The seconds one logical call may spend waiting; a $batch shares one across its chunks."""

    def __init__(self, policy: RetryPolicy, *, random: Callable[[], float]) -> None:
        self.policy = policy
        self.waited = 0.0
        self._random = random

    @property
    def remaining_wait(self) -> float:
        """Return the seconds still allowed to be slept."""
        return max(0.0, self.policy.max_total_wait - self.waited)

    def allows_attempt(self, attempt: int) -> bool:
        """Tell whether attempt number ``attempt`` (1-based) stays within max_attempts."""
        return attempt <= self.policy.max_attempts

    def backoff(self, retry: int) -> float:
        """Return the delay before retry number ``retry`` (1-based), with jitter."""
        ceiling = min(self.policy.backoff_max, self.policy.backoff_base * 2.0 ** (retry - 1))
        # Half fixed, half random: never zero, yet clients spread out.
        return ceiling / 2 + self._random() * ceiling / 2

    def fits(self, delay: float) -> bool:
        """Tell whether sleeping ``delay`` seconds stays within the wait budget."""
        return delay <= self.remaining_wait

    def spend(self, delay: float) -> None:
        """Record ``delay`` seconds as slept."""
        self.waited += delay
