"""Stop a supervisor's process groups once the supervisor is gone, however it went.

The supervisor starts ``python -m comms_portal.reaper`` in a session of its own and writes
``+<group id> <name>`` to its stdin for each child it starts (every child leads a process
group) and ``-<group id>`` once that group is gone. The reaper holds the only read end of
that pipe, so end of input means the supervisor has exited: cleanly (nothing left to do)
or killed outright, even by SIGKILL. Then every listed group that still has a live process
gets SIGTERM, and SIGKILL after a grace period.

Standard library only: it must start fast and must not load the portal.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

PROC = Path("/proc")


def live_groups(pgids: Iterable[int]) -> set[int]:
    """Return those of the process groups ``pgids`` that still have a live process.

    On Linux this reads ``/proc`` and skips zombies: an orphan's zombie stays in its group
    until init reaps it, and some container inits never do, so a group that still answers
    a signal may have nothing running.
    """
    wanted = set(pgids)
    if not PROC.is_dir():
        return {pgid for pgid in wanted if _answers_signals(pgid)}
    found: set[int] = set()
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # exited meanwhile
            continue
        # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 2 and fields[0] not in ("Z", "X") and int(fields[2]) in wanted:
            found.add(int(fields[2]))
    return found


def group_alive(pgid: int) -> bool:
    """Tell whether process group ``pgid`` still has a live process."""
    return bool(live_groups([pgid]))


def _answers_signals(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def signal_group(pgid: int, sig: signal.Signals) -> None:
    """Send ``sig`` to every process of group ``pgid``; a group already gone is fine."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def stop_groups(groups: dict[int, str], *, grace_seconds: float, report: bool = True) -> None:
    """SIGTERM every live group, wait up to ``grace_seconds``, then SIGKILL what remains."""
    alive = live_groups(groups)
    if not alive:
        return
    if report:
        names = ", ".join(groups[pgid] for pgid in sorted(alive))
        _say(f"the supervisor is gone; stopping {names}")
    for pgid in alive:
        signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = live_groups(alive)
    for pgid in sorted(alive):
        if report:
            _say(f"{groups[pgid]} did not stop in time; killing it")
        signal_group(pgid, signal.SIGKILL)


def read_groups(lines: Iterable[bytes]) -> dict[int, str]:
    """Follow the supervisor's ``+pgid name`` / ``-pgid`` lines until its end of input."""
    groups: dict[int, str] = {}
    for raw in lines:
        line = raw.decode(errors="replace").strip()
        if line.startswith("+"):
            number, _, name = line[1:].partition(" ")
            if number.isdigit():
                groups[int(number)] = name or number
        elif line.startswith("-") and line[1:].isdigit():
            groups.pop(int(line[1:]), None)
    return groups


def _say(message: str) -> None:
    # The supervisor's terminal may be gone with it; nothing here may stop the reaping.
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(f"{'reaper'.ljust(8)} | {message}\n")
        sys.stderr.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """Wait for the supervisor's end of input, then stop the groups it left behind."""
    parser = argparse.ArgumentParser(prog="python -m comms_portal.reaper")
    parser.add_argument("--grace", type=float, default=10.0, help="seconds before SIGKILL")
    args = parser.parse_args(argv)
    # A Ctrl-C or a closing terminal is the supervisor's to handle; the reaper acts on EOF.
    for sig in (signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    groups = read_groups(sys.stdin.buffer)
    stop_groups(groups, grace_seconds=args.grace)
    return 0


if __name__ == "__main__":
    sys.exit(main())
