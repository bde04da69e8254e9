"""A Celery worker of the portal on a private Redis broker, for tests that fault the broker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from comms_portal.processes import PROJECT_DIR
from tests.soak.services import PrivateRedis

HEARTBEAT_KEY = "portal:worker-heartbeat"


def wait_for(check: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.2)


def start_broker(tmp_path: Path) -> PrivateRedis:
    """Start a Redis of the test's own, for the worker's broker."""
    broker = PrivateRedis(tmp_path / "redis", dict(os.environ))
    broker.start()
    return broker


def start_worker(tmp_path: Path, broker: PrivateRedis, name: str) -> subprocess.Popen[bytes]:
    """Start one worker process on ``broker``; its log goes to ``worker.log`` in ``tmp_path``."""
    env = {
        **os.environ,
        "REDIS_URL": broker.url,
        "PORTAL_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.sqlite3'}",
        "WORKER_HEARTBEAT_SECONDS": "1",
    }
    argv = [sys.executable, "-m", "celery", "-A", "comms_portal", "worker", "-l", "WARNING"]
    return subprocess.Popen(
        [*argv, "--concurrency", "1", "-n", f"{name}@%h"],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "worker.log").open("wb"),
        start_new_session=True,
    )
