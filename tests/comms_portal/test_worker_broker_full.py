"""The Celery worker outlives a Redis broker that refuses writes (full, ``noeviction``)."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

import redis
from celery import Celery

from tests.comms_portal.private_worker import HEARTBEAT_KEY, start_broker, start_worker, wait_for


def taken(client: redis.Redis[bytes], task_id: str) -> bool:
    """Tell whether Redis keeps a copy of the task until the worker acknowledges it."""
    return any(task_id.encode() in raw for raw in client.hvals("unacked"))


def test_the_worker_goes_on_taking_and_acknowledging_tasks_while_redis_refuses_writes(
    tmp_path: Path,
) -> None:
    broker = start_broker(tmp_path)
    worker = start_worker(tmp_path, broker, "broker-full")
    client = redis.Redis.from_url(broker.url)
    probe = Celery("probe", broker=broker.url)

    def running(check: Callable[[], bool]) -> Callable[[], bool]:
        def still_running() -> bool:
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
            return check()

        return still_running

    def scheduled() -> set[str]:
        answers = probe.control.inspect(timeout=5).scheduled() or {}
        return {entry["request"]["id"] for tasks in answers.values() for entry in tasks}

    try:
        wait_for(lambda: bool(client.exists(HEARTBEAT_KEY)), timeout=60, what="the worker")
        # A task due in a few seconds is taken now and acknowledged once it has run (acks
        # late), when Redis is full.
        due = probe.send_task("celery.accumulate", args=[0], countdown=8)
        wait_for(lambda: taken(client, due.id), timeout=30, what="the task taken")
        # Tasks due later reach the queue as Redis fills up (one transaction), so that the
        # worker takes them from a full Redis, which refuses to keep their copies.
        later = [
            probe.send_task("celery.accumulate", args=[n], countdown=300, queue="scratch")
            for n in range(1, 4)
        ]
        messages = client.lrange("scratch", 0, -1)
        filling = client.pipeline(transaction=True)
        filling.lpush("celery", *messages)
        filling.config_set("maxmemory", "1")
        filling.execute()

        # The first task is acknowledged, Redis full or not: no copy is left to run it twice.
        wait_for(running(lambda: not taken(client, due.id)), timeout=60, what="the ack")
        # The worker stays up while Redis stays full; its heartbeat runs out meanwhile.
        silent = running(lambda: not client.exists(HEARTBEAT_KEY))
        wait_for(silent, timeout=60, what="the heartbeat to lapse")
        client.config_set("maxmemory", "0")

        # Once Redis takes writes again the worker beats, and holds every task it took.
        beating = running(lambda: bool(client.exists(HEARTBEAT_KEY)))
        wait_for(beating, timeout=60, what="a heartbeat")
        ids = {result.id for result in later}
        wait_for(running(lambda: scheduled() >= ids), timeout=60, what="the tasks held")
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        broker.stop()
