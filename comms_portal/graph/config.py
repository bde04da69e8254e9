"""Settings the caller hands to the Graph client: where Graph is, whom to trust, how long."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit

GRAPH_V1_URL = "https://graph.microsoft.com/v1.0"


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds on retrying throttled or unavailable requests."""

    # Attempts in all, the first one included.
    max_attempts: int = 4
    # Seconds slept across all retries of one call (a $batch call shares one budget).
    max_total_wait: float = 60.0
    # Exponential backoff when Graph gives no Retry-After: base * 2**n, capped, with jitter.
    backoff_base: float = 0.5
    backoff_max: float = 16.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("RetryPolicy.max_attempts must be at least 1.")
        if self.max_total_wait < 0:
            raise ValueError("RetryPolicy.max_total_wait must not be negative.")
        if self.backoff_base < 0 or self.backoff_max < self.backoff_base:
            raise ValueError("RetryPolicy needs 0 <= backoff_base <= backoff_max.")


@dataclass(frozen=True)
class GraphSettings:
    """Where Graph lives (graph.microsoft.com or the sandbox) and how to talk to it."""

    base_url: str = GRAPH_V1_URL
    # A CA bundle path, or True for the system's trust store.
    verify: str | bool = True
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    write_timeout: float = 30.0
    pool_timeout: float = 10.0
    max_connections: int = 50
    max_keepalive_connections: int = 20
    http2: bool = True
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError(
                f"GraphSettings.base_url must be an http(s) URL with a host, "
                f"such as {GRAPH_V1_URL!r}; got {self.base_url!r}."
            )
        if parts.query or parts.fragment:
            raise ValueError("GraphSettings.base_url must not carry a query or fragment.")
        if self.verify is False:
            raise ValueError(
                "GraphSettings.verify must be a CA bundle path or True; "
                "certificate checks cannot be turned off."
            )
        if isinstance(self.verify, str) and not os.path.exists(self.verify):
            raise ValueError(f"GraphSettings.verify names no CA bundle: {self.verify!r}.")
        timeouts = (self.connect_timeout, self.read_timeout, self.write_timeout, self.pool_timeout)
        if min(timeouts) <= 0:
            raise ValueError("GraphSettings timeouts must be positive numbers of seconds.")
        if self.max_connections < 1 or self.max_keepalive_connections < 0:
            raise ValueError("GraphSettings connection limits must be positive.")

    @property
    def version_root(self) -> str:
        """Return the base URL without a trailing slash."""
        return self.base_url.rstrip("/")
