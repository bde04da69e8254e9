"""Start the sandbox as a subprocess for tests and launchers, and talk to its control API."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0


class SandboxStartError(RuntimeError):
    """The sandbox did not come up; the message carries its output."""


class RunningSandbox:
    """A sandbox subprocess with its info document."""

    def __init__(self, process: subprocess.Popen[bytes], info: dict[str, Any], log_path: Path):
        self.process = process
        self.info = info
        self.log_path = log_path
        self._control = httpx.Client(base_url=info["control_url"], timeout=10.0, trust_env=False)

    @property
    def ca_bundle(self) -> str:
        return str(self.info["ca_bundle"])

    @property
    def graph_base_url(self) -> str:
        return str(self.info["graph_base_url"])

    @property
    def tenant_id(self) -> str:
        return str(self.info["tenant_id"])

    def app(self, name: str) -> dict[str, Any]:
        """Return the app registration called ``name`` from the info document."""
        return next(app for app in self.info["apps"] if app["name"] == name)

    def user(self, user_principal_name: str) -> dict[str, Any]:
        """Return a listed user by UPN."""
        wanted = user_principal_name.lower()
        return next(u for u in self.info["users"] if u["userPrincipalName"].lower() == wanted)

    def control(self, method: str, path: str, json: Any = None) -> httpx.Response:
        """Call the control API (``path`` relative to ``/_sandbox``)."""
        return self._control.request(method, path, json=json)

    def output(self) -> str:
        """Return what the sandbox has logged so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        """Stop the sandbox (SIGTERM, then SIGKILL after a grace period)."""
        self._control.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start_sandbox(
    state_dir: Path,
    *,
    seed: int = 1,
    users: int = 60,
    extra_args: Sequence[str] = (),
    timeout: float = START_TIMEOUT,
    simulate: bool = False,
) -> RunningSandbox:
    """Start ``python -m sandbox --port 0`` and wait until its info file appears."""
    state_dir.mkdir(parents=True, exist_ok=True)
    info_file = state_dir / "info.json"
    info_file.unlink(missing_ok=True)
    log_handle, log_name = tempfile.mkstemp(prefix="sandbox-", suffix=".log", dir=state_dir)
    command = [
        sys.executable,
        "-m",
        "sandbox",
        "--port",
        "0",
        "--seed",
        str(seed),
        "--users",
        str(users),
        "--state-dir",
        str(state_dir),
        "--info-file",
        str(info_file),
        # Presence stays deterministic unless asked; tests drive it via /_sandbox/presence.
        "--simulate" if simulate else "--no-simulate",
        *extra_args,
    ]
    process = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        stdout=log_handle,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    os.close(log_handle)
    log_path = Path(log_name)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SandboxStartError(
                f"the sandbox exited with {process.returncode}:\n{log_path.read_text()}"
            )
        if info_file.exists():
            info = json.loads(info_file.read_text())
            return RunningSandbox(process, info, log_path)
        time.sleep(0.05)
    process.kill()
    process.wait(timeout=5)
    raise SandboxStartError(f"the sandbox did not start in {timeout} s:\n{log_path.read_text()}")
