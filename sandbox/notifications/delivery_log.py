"""What the delivery worker did, and the faults a test asked it to suffer."""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sandbox.graph.odata_types import format_graph_datetime

DeliveryKind = Literal["change", "lifecycle", "validation"]
FaultKind = Literal["drop", "delay"]


@dataclass(frozen=True)
class DeliveryAttempt:
    """One POST to a notification endpoint (or one that a fault swallowed)."""

    time: datetime
    kind: DeliveryKind
    url: str
    subscription_ids: tuple[str, ...]
    notifications: int
    attempt: int
    outcome: str  # delivered, failed, timeout, unreachable, dropped, delayed, expired
    status: int | None
    latency_ms: float
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        """Return the attempt as the control API shows it."""
        return {
            "time": format_graph_datetime(self.time),
            "kind": self.kind,
            "url": self.url,
            "subscriptionIds": list(self.subscription_ids),
            "notifications": self.notifications,
            "attempt": self.attempt,
            "outcome": self.outcome,
            "status": self.status,
            "latencyMs": round(self.latency_ms, 1),
            "detail": self.detail,
        }


class DeliveryLog:
    """A bounded ring buffer of delivery attempts, newest last."""

    def __init__(self, capacity: int = 2000) -> None:
        self._entries: deque[DeliveryAttempt] = deque(maxlen=capacity)

    def record(self, attempt: DeliveryAttempt) -> None:
        """Append an attempt, forgetting the oldest one when full."""
        self._entries.append(attempt)

    def entries(
        self, *, subscription_id: str | None = None, limit: int | None = None
    ) -> list[DeliveryAttempt]:
        """Return attempts, oldest first, for one subscription if asked, at most ``limit``."""
        selected = [
            entry
            for entry in self._entries
            if subscription_id is None or subscription_id.lower() in entry.subscription_ids
        ]
        if limit is not None:
            selected = selected[-limit:] if limit > 0 else []
        return selected

    def clear(self) -> None:
        """Forget every recorded attempt."""
        self._entries.clear()


@dataclass
class DeliveryFault:
    """Drop or delay the next ``remaining`` deliveries whose URL matches ``url_pattern``."""

    kind: FaultKind
    remaining: int
    seconds: float = 0.0
    url_pattern: re.Pattern[str] | None = None

    def matches(self, url: str) -> bool:
        """Tell whether this fault applies to a delivery to ``url``."""
        return self.remaining > 0 and (
            self.url_pattern is None or bool(self.url_pattern.search(url))
        )

    def to_json(self) -> dict[str, Any]:
        """Return the fault as the control API shows it."""
        return {
            "kind": self.kind,
            "remaining": self.remaining,
            "seconds": self.seconds,
            "url": self.url_pattern.pattern if self.url_pattern else None,
        }


@dataclass
class DeliveryFaults:
    """The delivery faults still armed, applied in the order they were added."""

    faults: list[DeliveryFault] = field(default_factory=list)

    def add(self, fault: DeliveryFault) -> None:
        """Arm a fault."""
        self.faults.append(fault)

    def take(self, url: str) -> DeliveryFault | None:
        """Consume one use of the first fault matching ``url`` and return it."""
        for fault in self.faults:
            if fault.matches(url):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def clear(self) -> None:
        """Disarm every fault."""
        self.faults.clear()


@dataclass
class DeliverySettings:
    """Timing of delivery, retries and lifecycle challenges.

    Waits (retries, maximum age, challenges) are sandbox seconds: speeding the clock up or
    advancing it shortens them in real time and keeps tests quick. The two HTTP timeouts are
    real seconds, since they bound a network call.
    """

    # Graph's HTTP client gives a notification endpoint 3 s and a validation request 10 s.
    delivery_timeout: float = 3.0
    validation_timeout: float = 10.0
    # Retries back off exponentially from the first delay up to the cap, for up to 4 hours.
    retry_initial_delay: float = 1.0
    retry_max_delay: float = 600.0
    max_age: float = 4 * 3600.0
    max_batch_size: int = 100
    # reauthorizationRequired: once this long before expiry, and every interval (jittered
    # deterministically per subscription) while the subscription lives; 0 turns it off.
    reauthorization_lead: float = 15 * 60.0
    reauthorization_interval: float = 50 * 60.0
    reauthorization_jitter: float = 0.2
    # Graph only reaches the internet; the sandbox reaches only loopback unless told otherwise.
    allow_remote_hosts: bool = False

    def retry_delay(self, attempt: int) -> float:
        """Return how long to wait after failed attempt number ``attempt`` (1-based)."""
        return float(
            min(self.retry_initial_delay * (2 ** max(attempt - 1, 0)), self.retry_max_delay)
        )

    def to_json(self) -> dict[str, Any]:
        """Return the settings as the control API shows them."""
        return {
            "deliveryTimeout": self.delivery_timeout,
            "validationTimeout": self.validation_timeout,
            "retryInitialDelay": self.retry_initial_delay,
            "retryMaxDelay": self.retry_max_delay,
            "maxAge": self.max_age,
            "maxBatchSize": self.max_batch_size,
            "reauthorizationLead": self.reauthorization_lead,
            "reauthorizationInterval": self.reauthorization_interval,
            "reauthorizationJitter": self.reauthorization_jitter,
            "allowRemoteHosts": self.allow_remote_hosts,
        }
