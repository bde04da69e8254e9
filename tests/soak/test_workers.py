"""The Celery worker killed under load: a pool process mid-batch, then the whole worker."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.soak.harness import SoakStack, seconds
from tests.soak.scenario import run_scenario, verdict

pytestmark = [pytest.mark.soak, pytest.mark.timeout(900)]


def test_no_fault() -> None:
    # The baseline: the same load and checks with nothing hurt.
    verdict(run_scenario("no_fault", lambda run: time.sleep(seconds(20))))


def kill_pool_processes_mid_batch(run: SoakStack) -> dict[str, object]:
    """SIGKILL a pool process of the worker every few seconds while changes flow."""
    killed = []
    deadline = time.monotonic() + seconds(60)
    while time.monotonic() < deadline:
        time.sleep(7)
        pool = run.pool_processes()
        if pool:
            victim = pool[len(killed) % len(pool)]
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)
    return {"pool_processes_killed": len(killed)}


def test_worker_pool_sigkill() -> None:
    verdict(run_scenario("worker_pool_sigkill", kill_pool_processes_mid_batch))


def kill_whole_worker(run: SoakStack) -> dict[str, object]:
    """SIGKILL the worker and its pool at once, wait, and start a new worker."""
    run.kill_worker()
    time.sleep(seconds(20))
    run.start_worker()
    return {"worker_killed": True}


def test_worker_sigkill() -> None:
    verdict(run_scenario("worker_sigkill", kill_whole_worker))
