"""The sandbox's own clock, which tests and the control API can advance or speed up."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


class SandboxClock:
    """Wall-clock time shifted by an offset and optionally running faster than real time.

    Token expiry, subscription expiry and presence fading all read this clock, so a test can
    move an hour ahead without waiting an hour.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._anchor_real = time.time()
        self._anchor_virtual = self._anchor_real
        self._speed = 1.0

    def timestamp(self) -> float:
        """Return the sandbox time as seconds since the epoch."""
        with self._lock:
            return self._anchor_virtual + (time.time() - self._anchor_real) * self._speed

    def now(self) -> datetime:
        """Return the sandbox time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.timestamp(), tz=UTC)

    def advance(self, seconds: float) -> datetime:
        """Jump the clock forward (never backward) and return the new time."""
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        with self._lock:
            self._rebase()
            self._anchor_virtual += seconds
        return self.now()

    def set_speed(self, speed: float) -> None:
        """Run the clock ``speed`` times faster than real time from now on."""
        if not 0 < speed <= 10_000:
            raise ValueError("speed must be between 0 (exclusive) and 10000")
        with self._lock:
            self._rebase()
            self._speed = speed

    def reset(self) -> datetime:
        """Return to real time at real speed (tests undo their jumps this way)."""
        with self._lock:
            self._anchor_real = time.time()
            self._anchor_virtual = self._anchor_real
            self._speed = 1.0
        return self.now()

    @property
    def speed(self) -> float:
        return self._speed

    def after(self, delta: timedelta) -> datetime:
        """Return the sandbox time ``delta`` from now."""
        return self.now() + delta

    def _rebase(self) -> None:
        real = time.time()
        self._anchor_virtual += (real - self._anchor_real) * self._speed
        self._anchor_real = real
