"""`make demo` stops cleanly however it is stopped, and starts again on the same ports.

Each test runs the real ``python -m comms_portal.stack demo`` (private Redis, sandbox, ASGI
server, Celery worker with its pool processes, beat) on free ports with its own var
directory, in a session of its own as a shell or CI starts it, then stops it and checks
with the process table that nothing of it is left and that its ports are free.
The double SIGTERM that ``make`` delivers runs in ``make test``; the other ways of stopping
run in ``make soak``.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.request import urlopen

import pytest

from comms_portal.processes import PROJECT_DIR, StackError, port_in_use, wait_until
from tests.support.process_table import LaunchedTree, describe

STARTUP_SECONDS = 180
STOP_SECONDS = 60
BANNER = "Comms Portal is running at"
# What the demo must not take from the test session: it starts and stores its own.
SESSION_ONLY_VARIABLES = ("REDIS_URL", "DATABASE_URL", "SANDBOX_INFO_FILE", "PORTAL_VAR_DIR")


@dataclass
class Demo:
    """Free ports and a var directory for ``make demo``, and the runs started on them."""

    var_dir: Path
    web_port: int
    sandbox_port: int
    trees: list[LaunchedTree]

    @property
    def ports(self) -> list[int]:
        return [self.web_port, self.sandbox_port, self.sandbox_port + 1]

    def start(self, *extra_args: str) -> tuple[LaunchedTree, Path]:
        """Start the demo command and return its tree and log file."""
        log = self.var_dir.parent / f"demo-{len(self.trees) + 1}.log"
        argv = [sys.executable, "-m", "comms_portal.stack", "demo", "--private-redis"]
        argv += ["--port", str(self.web_port), "--sandbox-port", str(self.sandbox_port)]
        argv += ["--users", "20", *extra_args]
        env = {k: v for k, v in os.environ.items() if k not in SESSION_ONLY_VARIABLES}
        env["PORTAL_VAR_DIR"] = str(self.var_dir)
        tree = LaunchedTree.start(argv, env=env, log=log, cwd=PROJECT_DIR)
        self.trees.append(tree)
        return tree, log

    def start_and_wait(self, *extra_args: str) -> tuple[LaunchedTree, Path]:
        """Start the demo and wait for its banner."""
        tree, log = self.start(*extra_args)
        wait_for_output(tree, log, BANNER, timeout=STARTUP_SECONDS)
        return tree, log


def wait_for_output(tree: LaunchedTree, log: Path, text: str, *, timeout: float) -> None:
    """Wait until the demo's output shows ``text``; fail with that output otherwise."""
    try:
        wait_until(
            lambda: text in log.read_text(errors="replace"),
            what="the demo",
            timeout=timeout,
            alive=lambda: tree.process.poll() is None,
        )
    except StackError as exc:
        pytest.fail(f"{exc}\n{log.read_text(errors='replace')[-4000:]}")


def ports_below_the_ephemeral_range(count: int) -> list[int]:
    """Return ``count`` consecutive ports that can be bound now, below the ephemeral range.

    Ports the kernel hands out for outgoing connections (and ``bind(0)``) may be taken
    between choosing one and the demo binding it; ports below that range are not.
    """
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    # Start where other test sessions on this machine are unlikely to look.
    first = 10000 + (os.getpid() * 7) % max(1, low - 10000 - count)
    for start in range(first, low - count):
        if all(can_bind(port) for port in range(start, start + count)):
            return list(range(start, start + count))
    pytest.fail(f"No {count} free ports below {low}.")


def can_bind(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    """The demo on free ports; whatever a failing test left running is killed afterwards."""
    trees: list[LaunchedTree] = []
    web_port, sandbox_port, _sandbox_https_port = ports_below_the_ephemeral_range(3)
    yield Demo(tmp_path / "var", web_port, sandbox_port, trees)
    for tree in trees:
        tree.kill_leftovers()


def assert_stops_cleanly(
    demo: Demo, tree: LaunchedTree, stop: Callable[[LaunchedTree], None], exit_code: int
) -> None:
    """Stop the running demo with ``stop``; nothing of it may be left, its ports free."""
    # The worker reports ready before its pool processes may be up: wait to see them.
    wait_until(
        lambda: any(p.ppid != tree.process.pid for p in tree.remember_sessions()),
        what="Celery's pool processes",
        timeout=STARTUP_SECONDS,
    )
    stop(tree)
    assert tree.process.wait(timeout=STOP_SECONDS) == exit_code
    left = tree.wait_for_nothing_left(timeout=STOP_SECONDS)
    assert not left, describe(left)
    assert [port for port in demo.ports if port_in_use(port)] == []


def assert_starts_again(demo: Demo) -> None:
    """Start the demo again on the same ports and data; it answers, then stops cleanly."""
    tree, _ = demo.start_and_wait()
    with urlopen(f"http://127.0.0.1:{demo.web_port}/healthz", timeout=10) as response:
        assert response.status == 200
    assert_stops_cleanly(demo, tree, lambda t: t.signal_group(signal.SIGTERM), 0)


def two_sigterms(tree: LaunchedTree) -> None:
    # A stopped `make demo` (CI, systemd, a closing terminal): the group gets SIGTERM,
    # and make forwards another to its child.
    tree.signal_group(signal.SIGTERM)
    tree.signal_group(signal.SIGTERM)


@pytest.mark.timeout(2 * STARTUP_SECONDS + 4 * STOP_SECONDS)
def test_stopping_make_demo_leaves_nothing_running_and_it_starts_again(demo: Demo) -> None:
    tree, log = demo.start_and_wait()
    assert_stops_cleanly(demo, tree, two_sigterms, 0)
    assert log.read_text().count("SIGTERM received; stopping") == 1
    assert_starts_again(demo)


@pytest.mark.soak
@pytest.mark.timeout(2 * STARTUP_SECONDS + 4 * STOP_SECONDS)
@pytest.mark.parametrize(
    "stop_signal", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=lambda s: s.name
)
def test_one_stop_signal_leaves_nothing_running_and_it_starts_again(
    demo: Demo, stop_signal: signal.Signals
) -> None:
    tree, log = demo.start_and_wait()
    assert_stops_cleanly(demo, tree, lambda t: t.signal_group(stop_signal), 0)
    assert f"{stop_signal.name} received; stopping" in log.read_text()
    assert_starts_again(demo)


@pytest.mark.soak
@pytest.mark.timeout(2 * STARTUP_SECONDS + 4 * STOP_SECONDS)
def test_killing_the_demo_supervisor_takes_the_whole_stack_down(demo: Demo) -> None:
    # Two ASGI processes, so that uvicorn's workers are grandchildren too.
    tree, log = demo.start_and_wait("--web-processes", "2")
    assert_stops_cleanly(demo, tree, lambda t: t.process.kill(), -signal.SIGKILL)
    assert "the supervisor is gone; stopping" in log.read_text()
    assert_starts_again(demo)


@pytest.mark.soak
@pytest.mark.timeout(2 * STARTUP_SECONDS + 4 * STOP_SECONDS)
def test_a_sigterm_while_the_demo_starts_stops_what_had_started(demo: Demo) -> None:
    tree, log = demo.start()
    wait_for_output(tree, log, "sandbox ready", timeout=STARTUP_SECONDS)
    tree.remember_sessions()
    tree.signal_group(signal.SIGTERM)
    assert tree.process.wait(timeout=STOP_SECONDS) == 0
    left = tree.wait_for_nothing_left(timeout=STOP_SECONDS)
    assert not left, describe(left)
    assert "SIGTERM received while starting; stopped" in log.read_text()
    assert_starts_again(demo)
