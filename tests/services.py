"""A pytest plugin that starts the real services a test session needs.

It runs before pytest-django reads the settings, so the portal under test is configured
exactly as in the demo: a Redis (``REDIS_URL``, or a private server), and a sandbox tenant
whose info file the settings read. Nothing the tests start listens beyond 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from comms_portal.processes import Supervisor
from comms_portal.stack import Stack, StackConfig
from tests.support.sandbox import RunningSandbox, start_sandbox

_started: dict[str, Any] = {}


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """Start Redis and the sandbox, and point the settings at them."""
    var_dir = Path(tempfile.mkdtemp(prefix="comms-portal-tests-"))
    _started["var_dir"] = var_dir
    os.environ["PORTAL_VAR_DIR"] = str(var_dir)
    os.environ.setdefault("DEBUG", "true")

    services = Stack(config=StackConfig(var_dir=var_dir, reuse_local_redis=False))
    services.supervisor = Supervisor(out=open(os.devnull, "w"))  # noqa: SIM115
    _started["services"] = services
    os.environ["REDIS_URL"] = services.ensure_redis(var_dir)

    try:
        sandbox = start_sandbox(var_dir / "sandbox")
    except Exception as exc:  # reported; the tests that need the sandbox fail on their own
        early_config.issue_config_time_warning(
            pytest.PytestWarning(f"the sandbox did not start: {exc}"), stacklevel=2
        )
        return
    _started["sandbox"] = sandbox
    info_file = var_dir / "sandbox.json"
    info_file.write_text(json.dumps(sandbox.info))
    os.environ["SANDBOX_INFO_FILE"] = str(info_file)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop what the session started and remove its files."""
    sandbox: RunningSandbox | None = _started.pop("sandbox", None)
    if sandbox is not None:
        sandbox.stop()
    services: Stack | None = _started.pop("services", None)
    if services is not None:
        services.stop()
    var_dir: Path | None = _started.pop("var_dir", None)
    if var_dir is not None:
        shutil.rmtree(var_dir, ignore_errors=True)
