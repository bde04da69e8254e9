"""What runs on this machine, read from /proc: to prove a stopped stack left nothing behind.

A launched tree is found two ways. Its processes carry a marker variable in their
environment (visible in ``/proc/<pid>/environ``; Redis rewrites that area for its process
title, so not all of them), and every child of the supervisor leads a session of its own
that its children inherit. A leftover is a live process with the marker or in one of those
sessions. Zombies do not count: they run nothing, and some container inits never reap them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
MARKER_VARIABLE = "COMMS_PORTAL_TEST_TREE"


@dataclass(frozen=True)
class ProcessInfo:
    """One process as /proc shows it."""

    pid: int
    ppid: int
    pgid: int
    sid: int
    state: str
    command: str

    def describe(self) -> str:
        return f"pid {self.pid} (group {self.pgid}, session {self.sid}): {self.command}"


def new_marker() -> dict[str, str]:
    """Return an environment entry that marks every process a launch starts."""
    return {MARKER_VARIABLE: uuid.uuid4().hex}


def live_processes() -> list[ProcessInfo]:
    """Return every process that is not a zombie."""
    found = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if fields[0] in ("Z", "X"):
            continue
        found.append(
            ProcessInfo(
                pid=int(entry.name),
                ppid=int(fields[1]),
                pgid=int(fields[2]),
                sid=int(fields[3]),
                state=fields[0],
                command=command.strip(),
            )
        )
    return found


def carries_marker(pid: int, marker: dict[str, str]) -> bool:
    """Tell whether process ``pid`` was started with ``marker`` in its environment."""
    ((name, value),) = marker.items()
    try:
        environ = (PROC / str(pid) / "environ").read_bytes()
    except OSError:
        return False
    return f"{name}={value}".encode() in environ.split(b"\0")


def descendants(root: int) -> list[ProcessInfo]:
    """Return the live processes below ``root`` in the process tree."""
    processes = live_processes()
    below: list[ProcessInfo] = []
    parents = {root}
    while True:
        found = [p for p in processes if p.ppid in parents and p not in below]
        if not found:
            return below
        below += found
        parents = {p.pid for p in found}


@dataclass
class LaunchedTree:
    """A supervisor started in a session of its own, the way a shell or CI starts one."""

    process: subprocess.Popen[bytes]
    marker: dict[str, str]
    sessions: set[int]

    @classmethod
    def start(cls, argv: list[str], *, env: dict[str, str], log: Path, cwd: Path) -> LaunchedTree:
        """Start ``argv`` marked, its output going to ``log``."""
        marker = new_marker()
        with log.open("ab") as out:
            process = subprocess.Popen(
                argv,
                cwd=cwd,
                env={**env, **marker},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return cls(process=process, marker=marker, sessions={process.pid})

    def remember_sessions(self) -> list[ProcessInfo]:
        """Record the sessions of everything below the supervisor now; return those processes."""
        below = descendants(self.process.pid)
        self.sessions |= {p.sid for p in below}
        return below

    def signal_group(self, sig: signal.Signals) -> None:
        """Signal the supervisor's whole process group, as a shell, make or CI does."""
        os.killpg(self.process.pid, sig)

    def leftovers(self) -> list[ProcessInfo]:
        """Return the live processes of the tree: in its sessions or carrying its marker."""
        return [
            p
            for p in live_processes()
            if p.sid in self.sessions or carries_marker(p.pid, self.marker)
        ]

    def wait_for_nothing_left(self, *, timeout: float) -> list[ProcessInfo]:
        """Wait up to ``timeout`` seconds for the tree to be gone; return what is left."""
        deadline = time.monotonic() + timeout
        left = self.leftovers()
        while left and time.monotonic() < deadline:
            time.sleep(0.2)
            left = self.leftovers()
        return left

    def kill_leftovers(self) -> None:
        """Kill what a failed test left running, so that it cannot disturb the next ones."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for p in self.leftovers():
            kill_quietly(p.pid)


def kill_quietly(pid: int) -> None:
    """SIGKILL ``pid`` if it still exists."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def describe(processes: Iterable[ProcessInfo]) -> str:
    """Return one line per process, for an assertion message."""
    return "\n".join(p.describe() for p in processes)
