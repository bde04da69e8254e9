"""Callbacks handled call by call: in order within a call, different calls at the same time.

The drain hands the bot's callbacks over in the order they arrived. Handling them one after
another makes every call wait for every other (a new caller's ``answer`` behind another
call's prompts and routing), so each notification goes instead to a Redis list of its own
call, and a pool of threads in the worker works through those lists: one thread at a time
per call (a Redis lock), any number of calls at once. A call's list is written before the
drain lets go of its batch, and an item leaves the list only once handled, so a worker that
dies loses nothing: the lists it held are picked up again once their lock lapses.
"""

from __future__ import annotations

import atexit
import functools
import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import redis
from django.conf import settings
from django.db import DatabaseError, connections

from calls import services, steps
from calls.bot import warm_up_bot
from calls.models import ReceptionLine
from comms_portal import priority
from comms_portal.graph import GraphError, InvalidNotification, Throttled
from comms_portal.graph.calls import parse_comms_notifications
from comms_portal.graph.errors import GraphTransportError, ServiceUnavailable
from comms_portal.metrics import counters
from comms_portal.metrics.counters import NOTIFICATIONS_DROPPED, Dropped
from comms_portal.notifications import inbox
from comms_portal.redis_client import get_redis

logger = logging.getLogger(__name__)

KIND = "calls"
QUEUE_PREFIX = "portal:calls:queue:"
LOCK_PREFIX = "portal:calls:lock:"
# Calls with a list, so that lists left by a worker that died are found again.
QUEUED_KEY = "portal:calls:queued"
# A handler holds a call this long at most without handling one of its notifications.
LOCK_SECONDS = 60
# Lists of calls nobody holds are looked for at most this often.
SWEEP_SECONDS = 10.0
# A call stopped by a passing fault (Graph throttling, the database away) is tried again after.
RETRY_SECONDS = 2.0
# A list untouched this long belongs to a call long gone (its notifications kept failing).
QUEUE_KEEP_SECONDS = 24 * 3600

# Release the lock (only while this handler holds it); forget the call among the queued ones
# once its list is empty; say how many items remain.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
local left = redis.call('LLEN', KEYS[2])
if left == 0 then redis.call('SREM', KEYS[3], ARGV[2]) end
return left
"""

PASSING_FAULTS: tuple[type[BaseException], ...] = (
    Throttled,
    ServiceUnavailable,
    GraphTransportError,
    DatabaseError,
    redis.RedisError,
)


@dataclass(frozen=True)
class Queued:
    """One notification on its way to its call's list."""

    call_id: str
    body: str  # a commsNotifications body holding this one notification
    incoming: bool  # a new incoming call: the caller waits for the answer


def split(body: str) -> list[Queued]:
    """Split a callback body into its notifications, each as a body of its own.

    Raises InvalidNotification for a body that is not a commsNotifications collection.
    """
    collection = parse_comms_notifications(body)
    raw_items = json.loads(body)["value"]
    queued = []
    for item, raw in zip(collection.value, raw_items, strict=True):
        data = item.resource_data if isinstance(item.resource_data, dict) else {}
        incoming = item.about == "call" and item.change_type == "created"
        queued.append(
            Queued(
                call_id=item.call_id,
                body=json.dumps({"value": [raw]}, separators=(",", ":")),
                incoming=incoming and data.get("state") == "incoming",
            )
        )
    return queued


class FullPriorityThreads:
    """A few threads started at the worker's full CPU priority, taking jobs in turn.

    Started at once (a thread takes its creator's priority, and the worker's task threads run
    at a lower one). Jobs queued before the process exits are still done, as by an executor.
    """

    def __init__(self, count: int, *, name: str) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._serve, name=f"{name}_{n}", daemon=True)
            for n in range(count)
        ]
        for thread in self._threads:
            priority.start_at_full_priority(thread)
        atexit.register(self.shutdown)

    def submit(self, job: Callable[..., object], *args: object) -> None:
        """Have a thread run ``job(*args)``."""
        self._jobs.put(functools.partial(job, *args))

    def shutdown(self, timeout: float = 30.0) -> None:
        """Let the threads finish what is queued, then stop."""
        for _ in self._threads:
            self._jobs.put(None)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                job()
            except Exception:  # the thread stays for the next caller whatever one job did
                logger.exception("%s: a job failed", threading.current_thread().name)


class Dispatcher:
    """This process's threads that work through the calls' lists."""

    def __init__(self, threads: int, *, answer_threads: int) -> None:
        # New callers get threads of their own, so their answer never queues behind the
        # prompts and routing of calls already in progress. Enough of them that a burst of
        # callers, or a few answers the platform is slow to take, leaves none waiting for a
        # thread: each keeps its thread while the call is recorded after the answer.
        # In a worker, at its full CPU priority: the rest of its work yields to the web
        # processes', a caller's answer does not.
        self._urgent = FullPriorityThreads(answer_threads, name="calls-new")
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="calls")
        self._lock = threading.Lock()
        self._running = 0
        self._idle = threading.Condition(self._lock)
        self._last_sweep = 0.0

    def enqueue(self, items: Iterable[Queued]) -> int:
        """Append each notification to its call's list; start a handler for each call."""
        batch = list(items)
        if not batch:
            return 0
        pipeline = get_redis().pipeline(transaction=False)
        for item in batch:
            key = QUEUE_PREFIX + item.call_id
            pipeline.rpush(key, item.body).expire(key, QUEUE_KEEP_SECONDS)
        pipeline.sadd(QUEUED_KEY, *{item.call_id for item in batch})
        pipeline.execute()
        # New callers first: their answer is the one a person waits for in silence.
        new = dict.fromkeys(item.call_id for item in batch if item.incoming)
        for call_id in new:
            self.submit(call_id, urgent=True)
        for call_id in dict.fromkeys(item.call_id for item in batch):
            if call_id not in new:
                self.submit(call_id)
        self.sweep()
        return len(batch)

    def _retry_later(self, call_id: str) -> None:
        """Try the call again in a moment; until then the dispatcher does not count as idle."""

        def retry() -> None:
            self.submit(call_id)
            with self._idle:
                self._running -= 1

        with self._lock:
            self._running += 1
        timer = threading.Timer(RETRY_SECONDS, retry)
        timer.daemon = True
        timer.start()

    def submit(self, call_id: str, *, urgent: bool = False) -> None:
        """Have a thread work through the call's list (unless someone already does)."""
        with self._lock:
            self._running += 1
        (self._urgent if urgent else self._pool).submit(self._run, call_id, urgent)

    def sweep(self, *, force: bool = False) -> int:
        """Start handlers for lists nobody holds (their worker died); return how many."""
        now = time.monotonic()
        if not force and now - self._last_sweep < SWEEP_SECONDS:
            return 0
        self._last_sweep = now
        client = get_redis()
        call_ids = [raw.decode() for raw in client.smembers(QUEUED_KEY)]
        if not call_ids:
            return 0
        held = client.mget([LOCK_PREFIX + call_id for call_id in call_ids])
        orphans = [c for c, holder in zip(call_ids, held, strict=True) if holder is None]
        for call_id in orphans:
            self.submit(call_id)
        return len(orphans)

    def wait_until_idle(self, timeout: float = 30.0) -> bool:
        """Wait until no handler runs here; False when ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._running:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def _run(self, call_id: str, urgent: bool) -> None:
        try:
            self._work_through(call_id, urgent=urgent)
        except Exception:
            logger.exception("callbacks of call %s: the handler failed", call_id)
        finally:
            # The thread's database connection goes back to the pool between calls.
            connections.close_all()
            with self._idle:
                self._running -= 1
                self._idle.notify_all()

    def _work_through(self, call_id: str, *, urgent: bool) -> None:
        client = get_redis()
        queue_key, lock_key = QUEUE_PREFIX + call_id, LOCK_PREFIX + call_id
        release = client.register_script(_RELEASE)
        at_most = 1 if urgent else None
        while True:
            token = uuid.uuid4().hex
            # The lock and what is queued in one round trip: only the lock's holder takes items
            # off the list, so what is read right after taking it is still there.
            taken, pending = (
                client.pipeline(transaction=False)
                .set(lock_key, token, nx=True, ex=LOCK_SECONDS)
                .lrange(queue_key, 0, -1 if at_most is None else at_most - 1)
                .execute()
            )
            if not taken:
                # Another handler holds the call; it looks at the list again once done.
                return
            stopped = True
            try:
                # A new caller's thread answers and moves on; the call's later steps queue
                # with every other call's.
                stopped = self._handle_queue(
                    client, call_id, queue_key, lock_key, at_most=at_most, pending=pending
                )
            finally:
                left = int(release(keys=[lock_key, queue_key, QUEUED_KEY], args=[token, call_id]))
            if stopped:
                self._retry_later(call_id)
                return
            # A notification appended while the lock was held may have found it taken.
            if not left:
                return
            if urgent:
                self.submit(call_id)
                return

    def _handle_queue(
        self,
        client: redis.Redis[bytes],
        call_id: str,
        queue_key: str,
        lock_key: str,
        *,
        at_most: int | None,
        pending: list[bytes],
    ) -> bool:
        """Handle the call's notifications oldest first; True when a passing fault stopped it.

        ``pending`` is what was queued when the lock was taken.
        """
        handled = 0
        if not pending:
            return False
        while at_most is None or handled < at_most:
            if not pending:
                # What is queued now, in one read; each leaves the list once handled.
                pending = client.lrange(queue_key, 0, -1 if at_most is None else at_most - 1)
                if not pending:
                    return False
            body = pending.pop(0).decode("utf-8", "replace")
            try:
                handle_one(body)
            except PASSING_FAULTS as error:
                logger.warning(
                    "callbacks of call %s held for %.0f s: %s: %s",
                    call_id,
                    RETRY_SECONDS,
                    type(error).__name__,
                    error,
                )
                return True
            except Exception as error:
                inbox.bury(body, f"call {call_id}: {type(error).__name__}: {error}")
                counters.count(NOTIFICATIONS_DROPPED, KIND, Dropped.SET_ASIDE)
            # Only the lock's holder takes items off the list.
            client.pipeline(transaction=False).lpop(queue_key).expire(
                lock_key, LOCK_SECONDS
            ).execute()
            handled += 1
        return False


def handle_one(body: str) -> None:
    """Apply one queued notification; a refusal is logged and counted, a passing fault raised."""
    try:
        item = parse_comms_notifications(body).value[0]
        outcome = services.apply_notification(item)
    except PASSING_FAULTS:
        raise
    except (GraphError, InvalidNotification, services.ControlRefused) as error:
        _dropped(f"{type(error).__name__}: {error}")
        return
    if not outcome.applied and outcome.reason:
        _dropped(outcome.reason)


def _dropped(reason: str) -> None:
    logger.warning("%s callback dropped by its handler: %s", KIND, reason)
    counters.count(NOTIFICATIONS_DROPPED, KIND, Dropped.HANDLER)


_dispatcher: Dispatcher | None = None
_dispatcher_lock = threading.Lock()


def dispatcher() -> Dispatcher:
    """Return this process's dispatcher, started on first use."""
    global _dispatcher
    with _dispatcher_lock:
        if _dispatcher is None:
            _dispatcher = Dispatcher(
                settings.CALLS_DISPATCH_THREADS, answer_threads=settings.CALLS_ANSWER_THREADS
            )
        return _dispatcher


def warm_up() -> None:
    """Make ready what answering a new caller needs, so the first callers do not wait for it.

    A worker process that has not answered yet would otherwise open the bot's Graph client
    (its TLS settings), fetch the bot's token, open a database connection and read the line
    while a caller waits, and every other new caller of that moment would queue behind it.
    """
    started = time.monotonic()
    try:
        dispatcher()
        client = get_redis()
        client.script_load(_RELEASE)
        warm_up_bot()
        if ReceptionLine.objects.exists():  # read, never made here
            services.line_now()
        steps.callback_uri()
    except Exception as error:  # the first caller then does it; nothing is lost
        logger.warning("calls: warming up the answer failed: %s: %s", type(error).__name__, error)
    else:
        logger.info("calls: ready to answer in %.0f ms", (time.monotonic() - started) * 1000)
    finally:
        connections.close_all()


def start_warm_up() -> None:
    """Warm up in the background: a worker process starts at once, whatever Graph does."""
    threading.Thread(target=warm_up, name="calls-warm-up", daemon=True).start()


def resume_orphans() -> int:
    """Start handlers for calls whose queued callbacks nobody holds; return how many."""
    return dispatcher().sweep(force=True)
