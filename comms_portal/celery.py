"""The Celery application, its worker heartbeat and every periodic schedule of the portal."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from typing import Any

import redis
from celery import Celery, bootsteps
from celery.signals import task_postrun, task_prerun, worker_process_init
from django.conf import settings
from django.db import close_old_connections

from comms_portal import priority

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comms_portal.settings")

app = Celery("comms_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

WORKER_HEARTBEAT_KEY = "portal:worker-heartbeat"

# All periodic work, in one place. Each entry says in plain words why it runs.
app.conf.beat_schedule = {
    # Keep names and e-mail addresses current for people who stay signed in for weeks.
    "refresh-profiles": {"task": "accounts.tasks.refresh_all_profiles", "schedule": 24 * 3600},
    # Pick up joiners, leavers and changed titles from the directory (incremental delta).
    "sync-directory": {
        "task": "directory.tasks.sync_directory",
        "schedule": float(settings.DIRECTORY_SYNC_SECONDS),
    },
    # Create, renew and re-create every kind's change-notification subscriptions well before
    # they run out (presence's last 60 minutes).
    "maintain-subscriptions": {"task": "notifications.maintain", "schedule": 120.0},
    # Poll the watched people no subscription covers, 650 to a request.
    "poll-uncovered-presence": {
        "task": "presence.poll_uncovered",
        "schedule": float(settings.PRESENCE_POLL_SECONDS),
    },
    # Keep "today"/"this week" availabilities alive: Graph's presence sessions last 4 hours.
    "renew-held-presence-sessions": {"task": "presence.renew_held_sessions", "schedule": 3600.0},
    # Pick up notification bodies whose drain request was lost (a web process died between
    # queueing a body and asking for the drain); normally a drain runs within milliseconds.
    "drain-notifications": {"task": "notifications.drain", "schedule": 30.0},
    # Store call records a notification missed (call records have no "missed" signal).
    "heal-call-records": {
        "task": "callrecords.heal",
        "schedule": float(settings.CALLRECORDS_HEAL_SECONDS),
    },
    # Pull yesterday's PSTN and direct-routing calls for the usage page.
    "pull-pstn-usage": {"task": "callrecords.pull_pstn_usage", "schedule": 24 * 3600.0},
    # Delete calls older than the retention setting.
    "purge-call-records": {"task": "callrecords.purge", "schedule": 24 * 3600.0},
    # Re-read everyone watched now and then: presence has no "missed" signal of its own.
    "reconcile-presence": {
        "task": "presence.reconcile",
        "schedule": float(settings.PRESENCE_RECONCILE_SECONDS),
    },
    # Graph ends a call that hears no keepAlive for 45 minutes; every 15 minutes is the advice.
    "keep-calls-alive": {"task": "calls.keep_alive", "schedule": 900.0},
    # Call back waiting callers as soon as someone of their team is Available.
    "place-call-backs": {"task": "calls.place_call_backs", "schedule": 15.0},
    # Call again the people an incident call-out has not reached, once their retry is due.
    "retry-call-outs": {"task": "calls.retry_call_outs", "schedule": 15.0},
    # Keep the people the reception line routes to watched by the presence engine, as an open
    # page keeps the people it shows (PRESENCE_WATCH_SECONDS), so routing reads fresh states.
    "watch-routing-people": {
        "task": "calls.watch_routing_people",
        "schedule": settings.PRESENCE_WATCH_SECONDS / 3,
    },
    # Take up the callbacks a worker that died left queued for their calls.
    "resume-callbacks": {"task": "calls.resume_callbacks", "schedule": 30.0},
    # Read the call delegation of a few signed-in people each pass (delegated-only permission),
    # so everyone's is fresh within CALLS_DELEGATION_REFRESH_SECONDS without a burst.
    "refresh-call-delegation": {"task": "calls.refresh_delegations", "schedule": 300.0},
    # Delete the spoken messages of call-outs that are over (or older than their retention).
    "forget-spoken-messages": {"task": "calls.forget_spoken_messages", "schedule": 300.0},
}


@worker_process_init.connect
def yield_cpu_to_web_processes(**_: Any) -> None:
    """Run tasks at a lower CPU priority, so web answers are not queued behind them."""
    if settings.WORKER_NICENESS:
        # Threads someone waits for (a caller's answer) are started at the full priority.
        priority.lower_priority(settings.WORKER_NICENESS)


@task_prerun.connect
@task_postrun.connect
def close_stale_connections(task: Any = None, **_: Any) -> None:
    """Close database connections that broke or outlived CONN_MAX_AGE, as Django per request."""
    # An eager task runs inside its caller's transaction; that connection is not the task's.
    if task is not None and getattr(task.request, "is_eager", False):
        return
    close_old_connections()


class WorkerHeartbeat(bootsteps.StartStopStep):
    """Record in Redis, every few seconds, that a worker is alive (read by /healthz).

    It beats from a thread of its own rather than the worker's timer: Celery clears that
    timer when the broker connection is lost, and the beat would stop for good after a
    Redis restart while the worker goes on.
    """

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._redis: redis.Redis[bytes] | None = None

    def start(self, parent: Any) -> None:
        self._redis = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)
        self._stopping.clear()
        self._beat()
        self._thread = threading.Thread(target=self._keep_beating, name="heartbeat", daemon=True)
        self._thread.start()

    def stop(self, parent: Any) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._redis is not None:
            with contextlib.suppress(redis.RedisError):
                self._redis.delete(WORKER_HEARTBEAT_KEY)

    def _keep_beating(self) -> None:
        while not self._stopping.wait(settings.WORKER_HEARTBEAT_SECONDS):
            self._beat()

    def _beat(self) -> None:
        assert self._redis is not None
        # Redis being down is reported by /healthz itself; the worker keeps running.
        with contextlib.suppress(redis.RedisError):
            self._redis.set(
                WORKER_HEARTBEAT_KEY,
                str(time.time()),
                ex=settings.WORKER_HEARTBEAT_SECONDS * 3,
            )


app.steps["worker"].add(WorkerHeartbeat)
