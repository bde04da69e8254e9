"""Stop signals (Ctrl-C, SIGTERM, a closing terminal) as a request that a loop waits on."""

from __future__ import annotations

import contextlib
import select
import signal
import socket
from types import FrameType, TracebackType
from typing import Any


class StopSignals:
    """SIGINT, SIGTERM and SIGHUP turned into a stop request that the main loop waits on.

    The handlers only record the signal number; Python's wake-up fd makes a waiting
    :meth:`wait` return at once. Anything more in a handler (taking a lock, printing) can
    deadlock when the signal lands while the main thread holds that lock, which a second
    signal in quick succession (``make`` forwarding one) makes likely. Use it in the main
    thread, as a context manager.
    """

    STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self) -> None:
        self.received: list[int] = []
        self._reader, self._writer = socket.socketpair()
        self._previous_handlers: dict[int, Any] = {}
        self._previous_fd = -1

    def __enter__(self) -> StopSignals:
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        for sig in self.STOP_SIGNALS:
            self._previous_handlers[sig] = signal.signal(sig, self._record)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for sig, handler in self._previous_handlers.items():
            signal.signal(sig, handler)
        signal.set_wakeup_fd(self._previous_fd)
        self._reader.close()
        self._writer.close()

    def _record(self, signum: int, _frame: FrameType | None) -> None:
        self.received.append(signum)

    @property
    def requested(self) -> bool:
        """Tell whether a stop signal has arrived."""
        return bool(self.received)

    def first_name(self) -> str:
        """Return the name of the first stop signal received, e.g. ``SIGTERM``."""
        return signal.Signals(self.received[0]).name if self.received else ""

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a stop signal; tell whether one has arrived."""
        if not self.received:
            select.select([self._reader], [], [], timeout)
        with contextlib.suppress(OSError):
            while self._reader.recv(512):
                pass
        return self.requested
