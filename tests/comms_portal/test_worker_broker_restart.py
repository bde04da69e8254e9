"""The Celery worker outlives a restart of its Redis broker while it holds a task."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import redis
from celery import Celery

from tests.comms_portal.private_worker import HEARTBEAT_KEY, start_broker, start_worker, wait_for


def test_the_worker_reconnects_when_its_broker_restarts_with_a_task_in_hand(
    tmp_path: Path,
) -> None:
    broker = start_broker(tmp_path)
    worker = start_worker(tmp_path, broker, "broker-restart")
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
