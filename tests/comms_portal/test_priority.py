"""Threads a worker starts at its full CPU priority after lowering its own (Linux: per thread)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

# In a process of its own: a lowered priority is never raised again.
SCRIPT = textwrap.dedent(
    """
    import os, threading
    from comms_portal import priority

    def nice_of_this_thread():
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    seen = {}
    priority.lower_priority(7)
    seen["lowered"] = nice_of_this_thread()

    def record(name):
        seen[name] = nice_of_this_thread()

    full = threading.Thread(target=record, args=("full",))
    priority.start_at_full_priority(full)
    full.join()
    plain = threading.Thread(target=record, args=("plain",))
    plain.start()
    plain.join()
    print(seen["lowered"], seen["full"], seen["plain"])
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a priority per thread: Linux")
def test_a_thread_started_at_full_priority_keeps_it_while_the_rest_is_lowered() -> None:
    base = int(subprocess.run(["nice"], capture_output=True, text=True, check=True).stdout)

    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True
    )

    lowered, full, plain = (int(word) for word in done.stdout.split())
    assert (lowered, full, plain) == (min(base + 7, 19), base, min(base + 7, 19))
