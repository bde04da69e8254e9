"""The Celery worker outlives a restart of its Redis broker while it holds a task."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import redis
from celery import Celery

from comms_portal.processes import PROJECT_DIR
from tests.soak.services import PrivateRedis

HEARTBEAT_KEY = "portal:worker-heartbeat"


def wait_for(check: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.2)


def test_the_worker_reconnects_when_its_broker_restarts_with_a_task_in_hand(
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
        [*argv, "--concurrency", "1", "-n", "broker-restart@%h"],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "worker.log").open("wb"),
        start_new_session=True,
    )
    client = redis.Redis.from_url(broker.url)
    try:
        wait_for(lambda: bool(client.exists(HEARTBEAT_KEY)), timeout=60, what="the worker")
        # A task due later stays with the worker, unacknowledged, until it is due.
        Celery("probe", broker=broker.url).send_task("notifications.maintain", countdown=300)
        wait_for(lambda: client.hlen("unacked") == 1, timeout=30, what="the task taken")

        broker.stop(signal.SIGTERM)
        time.sleep(2)
        broker.start()

        # The store is empty again: a heartbeat shows the worker is back on the new server.
        wait_for(lambda: bool(client.exists(HEARTBEAT_KEY)), timeout=60, what="a heartbeat")
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        broker.stop()
