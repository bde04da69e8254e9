"""Faults injected through the control API: the next N matching requests fail or hang."""

from __future__ import annotations

import fnmatch
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Literal

FaultKind = Literal["429", "500", "503", "hang"]
FAULT_KINDS: tuple[FaultKind, ...] = ("429", "500", "503", "hang")


@dataclass
class Fault:
    """One injected fault; ``remaining`` counts down as requests match it."""

    id: int
    pattern: str
    regex: re.Pattern[str]
    kind: FaultKind
    remaining: int
    retry_after: float
    seconds: float
    method: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the fault as the control API shows it."""
        return {
            "id": self.id,
            "path": self.pattern,
            "kind": self.kind,
            "remaining": self.remaining,
            "retry_after": self.retry_after,
            "seconds": self.seconds,
            "method": self.method,
        }


def compile_path_pattern(pattern: str, *, is_regex: bool) -> re.Pattern[str]:
    """Compile a glob (``/v1.0/users/*``) or a regular expression matched against the path."""
    if is_regex:
        return re.compile(pattern)
    # ``translate`` ends with ``\Z``; anchoring the start makes the glob match the whole path.
    return re.compile("^" + fnmatch.translate(pattern))


@dataclass
class FaultTable:
    """The active faults, consumed first-in first-out by matching requests."""

    faults: list[Fault] = field(default_factory=list)
    _next_id: int = 1
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(
        self,
        *,
        pattern: str,
        is_regex: bool,
        kind: FaultKind,
        count: int,
        retry_after: float = 1.0,
        seconds: float = 30.0,
        method: str | None = None,
    ) -> Fault:
        """Register a fault for the next ``count`` requests whose path matches ``pattern``."""
        with self._lock:
            fault = Fault(
                id=self._next_id,
                pattern=pattern,
                regex=compile_path_pattern(pattern, is_regex=is_regex),
                kind=kind,
                remaining=count,
                retry_after=retry_after,
                seconds=seconds,
                method=method.upper() if method else None,
            )
            self._next_id += 1
            self.faults.append(fault)
            return fault

    def take(self, method: str, path: str) -> Fault | None:
        """Return (and count down) the first fault matching this request, if any."""
        with self._lock:
            for fault in self.faults:
                if fault.method and fault.method != method.upper():
                    continue
                if fault.regex.search(path):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self.faults.remove(fault)
                    return fault
            return None

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self.faults.clear()
