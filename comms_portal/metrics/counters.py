"""Counters of every process, summed in Redis hashes: what is counted and how it gets there.

A count reaches Redis one of two ways. Where the code sends Redis a command anyway (the
intake's append script, the live channel's publish pipeline, the drain's per-batch pipeline)
the ``HINCRBY`` rides along in the same round trip (``add``, ``flush_into``). Anywhere else
``count`` only adds to this process's memory, and a background thread sends what gathered
every ``FLUSH_SECONDS`` in one pipeline, with this process's open sockets when it has any.
So no hot path waits for a metric. Counts still in memory when a process dies are lost:
at most a few seconds' worth, which a rate over minutes does not notice.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import socket
import threading
import time
import weakref
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import redis

from comms_portal.redis_client import get_redis

logger = logging.getLogger(__name__)

NOTIFICATIONS_KEY = "portal:metrics:notifications"
GRAPH_KEY = "portal:metrics:graph"
LIVE_KEY = "portal:metrics:live"
COUNTER_KEYS = (NOTIFICATIONS_KEY, GRAPH_KEY, LIVE_KEY)
# Each ASGI process's open sockets: field "<host>:<pid>", value "<sockets> <unix time>".
SOCKETS_KEY = "portal:metrics:live-sockets"

FLUSH_SECONDS = 5.0
# A process silent this long has stopped (or hangs): its last report no longer counts.
STALE_SECONDS = 30.0

# Label values are ids from fixed sets (kind names, methods, reasons): never free text.
_LABEL_VALUE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_SEPARATOR = ";"
UNKNOWN_KIND = "unknown"


@dataclass(frozen=True)
class CounterFamily:
    """One counter with its labels; each combination of label values is a field of ``key``."""

    # Prometheus's name without the ``_total`` the exposition adds.
    name: str
    documentation: str
    labels: tuple[str, ...]
    key: str

    def field(self, *values: str) -> str:
        """Return the hash field holding this counter for ``values`` of its labels."""
        if len(values) != len(self.labels):
            raise ValueError(f"{self.name} takes labels {self.labels}, not {values}")
        for value in values:
            if not _LABEL_VALUE.fullmatch(value):
                raise ValueError(f"{value!r} is not a label value of {self.name}")
        return _SEPARATOR.join((self.name, *values))


class Refused(StrEnum):
    """Why the intake refused notifications."""

    UNTRUSTED = "untrusted"  # unknown subscription, another kind's, or a wrong clientState
    MALFORMED = "malformed"
    TOO_LARGE = "too_large"
    INBOX_FULL = "inbox_full"


class Dropped(StrEnum):
    """Why the drain dropped notifications it had taken from the inbox."""

    MALFORMED = "malformed"
    UNTRUSTED = "untrusted"
    VALIDATION_TOKENS = "validation_tokens"
    LIFECYCLE_EVENT = "lifecycle_event"
    UNKNOWN_KIND = "unknown_kind"
    DECRYPTION = "decryption"
    NOT_ENCRYPTED = "not_encrypted"
    SET_ASIDE = "set_aside"
    HANDLER = "handler"


NOTIFICATIONS_ACCEPTED = CounterFamily(
    "comms_portal_notifications_accepted",
    "Notifications the intake took in, by kind (lifecycle: lifecycle events).",
    ("kind",),
    NOTIFICATIONS_KEY,
)
NOTIFICATIONS_REFUSED = CounterFamily(
    "comms_portal_notifications_refused",
    "Notifications the intake refused, by kind and reason: untrusted (answered 202 and "
    "dropped), inbox_full (answered 503: Graph sends them again); a body too_large or "
    "malformed counts once.",
    ("kind", "reason"),
    NOTIFICATIONS_KEY,
)
NOTIFICATIONS_HANDLED = CounterFamily(
    "comms_portal_notifications_handled",
    "Verified changes the drain handed to their kind's handler.",
    ("kind",),
    NOTIFICATIONS_KEY,
)
NOTIFICATIONS_DROPPED = CounterFamily(
    "comms_portal_notifications_dropped",
    "Notifications the drain dropped, by kind (unknown: no subscription of ours) and reason.",
    ("kind", "reason"),
    NOTIFICATIONS_KEY,
)
GRAPH_REQUESTS = CounterFamily(
    "comms_portal_graph_requests",
    "HTTP requests to Graph, each retry counted, by method and status class "
    "(failed: no answer came).",
    ("method", "status_class"),
    GRAPH_KEY,
)
GRAPH_THROTTLED = CounterFamily(
    "comms_portal_graph_throttled",
    "Graph's 429 Too Many Requests answers, by method.",
    ("method",),
    GRAPH_KEY,
)
LIVE_PUBLISHED = CounterFamily(
    "comms_portal_live_pushes_published",
    "Live messages published on Redis (one per change and topic, however many pages watch).",
    (),
    LIVE_KEY,
)
LIVE_DELIVERED = CounterFamily(
    "comms_portal_live_deliveries",
    "Live messages handed to open sockets, summed over the ASGI processes.",
    (),
    LIVE_KEY,
)
FAMILIES = (
    NOTIFICATIONS_ACCEPTED,
    NOTIFICATIONS_REFUSED,
    NOTIFICATIONS_HANDLED,
    NOTIFICATIONS_DROPPED,
    GRAPH_REQUESTS,
    GRAPH_THROTTLED,
    LIVE_PUBLISHED,
    LIVE_DELIVERED,
)
_BY_NAME = {family.name: family for family in FAMILIES}


def parse_field(field: str) -> tuple[CounterFamily, tuple[str, ...]] | None:
    """Return the counter and label values a hash field holds; None for a field not ours."""
    name, *values = field.split(_SEPARATOR)
    family = _BY_NAME.get(name)
    if family is None or len(values) != len(family.labels):
        return None
    return family, tuple(values)


class Incrementing(Protocol):
    """A Redis pipeline (sync or asyncio) about to be sent."""

    def hincrby(self, name: str, key: str, amount: int = ..., /) -> object:
        """Queue an HINCRBY."""


def add(pipeline: Incrementing, family: CounterFamily, *labels: str, amount: int = 1) -> None:
    """Add ``amount`` to a counter within ``pipeline``, which the caller sends anyway."""
    if amount > 0:
        pipeline.hincrby(family.key, family.field(*labels), amount)


# --- what this process gathered and not yet sent ---------------------------------------------


class LiveSource(Protocol):
    """A fan-out of this process: its open sockets and the messages handed to them so far."""

    delivered: int

    def open_sockets(self) -> int:
        """Return how many sockets follow topics through this fan-out."""


class _Pending:
    """This process's unsent counts, its live fan-outs and its flushing thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        # Held through a whole flush, so that one returning means everything before it is sent.
        self.flushing = threading.Lock()
        self.counts: Counter[tuple[str, str]] = Counter()
        self.live: weakref.WeakSet[LiveSource] = weakref.WeakSet()
        self.delivered_sent: weakref.WeakKeyDictionary[LiveSource, int] = (
            weakref.WeakKeyDictionary()
        )
        self.thread: threading.Thread | None = None


_pending = _Pending()


def _forget_parents_counts() -> None:
    # A forked child starts empty: what the parent gathered is the parent's to send.
    global _pending
    _pending = _Pending()


os.register_at_fork(after_in_child=_forget_parents_counts)


def count(family: CounterFamily, *labels: str, amount: int = 1) -> None:
    """Add ``amount`` to a counter; it reaches Redis within ``FLUSH_SECONDS``."""
    if amount <= 0:
        return
    field = family.field(*labels)
    pending = _pending
    with pending.lock:
        pending.counts[(family.key, field)] += amount
    if pending.thread is None:
        _start_flushing(pending)


def report_live(source: LiveSource) -> None:
    """Report ``source``'s open sockets and deliveries with every flush of this process."""
    pending = _pending
    with pending.lock:
        pending.live.add(source)
    if pending.thread is None:
        _start_flushing(pending)


def flush_into(pipeline: Incrementing) -> None:
    """Add everything this process gathered to ``pipeline``, which the caller sends anyway."""
    for (key, field), amount in _take(_pending).items():
        pipeline.hincrby(key, field, amount)


def _take(pending: _Pending) -> Counter[tuple[str, str]]:
    with pending.lock:
        taken, pending.counts = pending.counts, Counter()
    return taken


def _give_back(pending: _Pending, counts: Counter[tuple[str, str]]) -> None:
    with pending.lock:
        pending.counts.update(counts)


def _gather_deliveries(pending: _Pending) -> int | None:
    """Count the deliveries since the last flush; return the open sockets, None without any."""
    with pending.lock:
        sources = list(pending.live)
    if not sources:
        return None
    sockets = 0
    for source in sources:
        # Read once: the fan-out's event loop keeps counting meanwhile.
        delivered = source.delivered
        count(LIVE_DELIVERED, amount=delivered - pending.delivered_sent.get(source, 0))
        pending.delivered_sent[source] = delivered
        sockets += source.open_sockets()
    return sockets


def process_field() -> str:
    """Return the field naming this process in the hash of open sockets."""
    return f"{socket.gethostname()}:{os.getpid()}"


def flush() -> None:
    """Send what this process gathered, and its open sockets, to Redis now."""
    pending = _pending
    with pending.flushing:
        sockets = _gather_deliveries(pending)
        taken = _take(pending)
        if not taken and sockets is None:
            return
        pipeline = get_redis().pipeline(transaction=False)
        for (key, field), amount in taken.items():
            pipeline.hincrby(key, field, amount)
        if sockets is not None:
            pipeline.hset(SOCKETS_KEY, process_field(), f"{sockets} {time.time():.3f}")
        try:
            pipeline.execute()
        except redis.RedisError:
            _give_back(pending, taken)
            raise


def _start_flushing(pending: _Pending) -> None:
    with pending.lock:
        if pending.thread is not None:
            return
        pending.thread = threading.Thread(target=_flush_forever, name="metrics-flush", daemon=True)
    pending.thread.start()
    # A short-lived process (a management command) sends its last counts as it ends.
    atexit.register(_flush_at_exit)


def _flush_at_exit() -> None:
    with contextlib.suppress(Exception):  # Redis may be gone first; nothing to tell anyone
        flush()


def _flush_forever() -> None:
    failing = False
    while True:
        time.sleep(FLUSH_SECONDS)
        try:
            flush()
        except redis.RedisError as error:
            # Kept for the next try; said once per outage, not every few seconds.
            if not failing:
                logger.warning("metrics not sent to Redis, kept for later: %s", error)
            failing = True
        except Exception:
            logger.exception("metrics flush failed")
        else:
            failing = False


# --- the Graph client's exchange hook -------------------------------------------------------

_GRAPH_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})


def count_graph_exchange(method: str, status: int | None) -> None:
    """Count one HTTP exchange with Graph: its method and status, None when no answer came."""
    verb = method if method in _GRAPH_METHODS else "other"
    status_class = "failed" if status is None else f"{status // 100}xx"
    count(GRAPH_REQUESTS, verb, status_class)
    if status == 429:
        count(GRAPH_THROTTLED, verb)
