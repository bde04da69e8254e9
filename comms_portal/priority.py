"""Threads that keep a worker process's full CPU priority after its tasks gave it up.

Worker processes lower their CPU priority (``WORKER_NICENESS``) so that answers to browsers
and to Graph's webhook come before background work. A few of their threads do work someone
waits for, though: a caller hears silence until the bot answers. On Linux a priority belongs
to a thread; a new thread takes its creator's, and a process without privileges cannot raise
one again. So before lowering its own, the worker's main thread starts a thread that keeps the
full priority and starts, on request, the threads that must have it too. Elsewhere (a priority
per process) they simply share the lowered one.
"""

from __future__ import annotations

import os
import queue
import threading

_requests: queue.SimpleQueue[tuple[threading.Thread, threading.Event]] | None = None
_requests_lock = threading.Lock()


def lower_priority(niceness: int) -> None:
    """Lower this thread's CPU priority by ``niceness``, keeping a starter at the full one."""
    global _requests
    with _requests_lock:
        if _requests is None:
            requests: queue.SimpleQueue[tuple[threading.Thread, threading.Event]] = (
                queue.SimpleQueue()
            )
            starter = threading.Thread(
                target=_start_on_request, args=(requests,), name="full-priority", daemon=True
            )
            starter.start()
            _requests = requests
    os.nice(niceness)


def _start_on_request(
    requests: queue.SimpleQueue[tuple[threading.Thread, threading.Event]],
) -> None:
    while True:
        thread, started = requests.get()
        try:
            thread.start()
        finally:
            started.set()


def start_at_full_priority(thread: threading.Thread) -> None:
    """Start ``thread`` at the priority this process had before lowering it (if it did)."""
    requests = _requests
    if requests is None:
        thread.start()
        return
    started = threading.Event()
    requests.put((thread, started))
    started.wait()
    if not thread.is_alive() and thread.ident is None:
        raise RuntimeError(f"thread {thread.name} could not be started")
