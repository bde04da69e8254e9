"""The Celery worker outlives a Redis broker that refuses writes (full, ``noeviction``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import redis
from celery import Celery

from comms_portal.processes import PROJECT_DIR
from tests.comms_portal.test_worker_broker_restart import HEARTBEAT_KEY, wait_for
from tests.soak.services import PrivateRedis


def taken(client: redis.Redis[bytes], task_id: str) -> bool:
    """Tell whether the worker holds the task unacknowledged (kombu's ``unacked`` hash)."""
    return any(task_id.encode() in raw for raw in client.hvals("unacked"))


def refused_acknowledgements(client: redis.Redis[bytes]) -> int:
    """Return how many acknowledgements Redis refused (kombu's ack starts with ZREM)."""
    stats = client.info("commandstats").get("cmdstat_zrem", {})
    return int(stats.get("rejected_calls", 0))


def test_the_worker_keeps_running_when_redis_refuses_the_acknowledgement_of_a_task(
    tmp_path: Path,
) -> None:
    broker = PrivateRedis(tmp_path / "redis", dict(os.environ))
    broker.start()
    env = {
        **os.environ,
        "REDIS_URL": broker.url,
        "PORTAL_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.sqlite3'}",
        "WORKER_HEARTBEAT_SECONDS": "1",
    }
    argv = [sys.executable, "-m", "celery", "-A", "comms_portal", "worker", "-l", "WARNING"]
    worker = subprocess.Popen(
        [*argv, "--concurrency", "1", "-n", "broker-full@%h"],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "worker.log").open("wb"),
        start_new_session=True,
    )
    client = redis.Redis.from_url(broker.url)
    probe = Celery("probe", broker=broker.url)

    def running(check: Callable[[], bool]) -> Callable[[], bool]:
        def still_running() -> bool:
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
            return check()

        return still_running

    try:
        wait_for(lambda: bool(client.exists(HEARTBEAT_KEY)), timeout=60, what="the worker")
        # A task due in a few seconds is taken now and acknowledged once it has run (acks
        # late): by then Redis is full and refuses the acknowledgement.
        due = probe.send_task("celery.accumulate", args=[1], countdown=8)
        wait_for(lambda: taken(client, due.id), timeout=30, what="the task taken")
        client.config_set("maxmemory", "1")
        wait_for(lambda: refused_acknowledgements(client) > 0, timeout=60, what="the ack refused")

        # The worker stays up while Redis stays full: its last heartbeat runs out meanwhile.
        silent = running(lambda: not client.exists(HEARTBEAT_KEY))
        wait_for(silent, timeout=60, what="the heartbeat to lapse")
        client.config_set("maxmemory", "0")

        # Once Redis takes writes again the worker beats and takes new tasks as before.
        beating = running(lambda: bool(client.exists(HEARTBEAT_KEY)))
        wait_for(beating, timeout=60, what="a heartbeat")
        later = probe.send_task("celery.accumulate", args=[2], countdown=300)
        wait_for(running(lambda: taken(client, later.id)), timeout=60, what="a new task taken")
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        broker.stop()
