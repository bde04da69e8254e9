"""The process supervisor behind `make demo` and the browser tests, on real child processes."""

from __future__ import annotations

import io
import sys

import pytest

from comms_portal.processes import StackError, Supervisor, wait_until

SLEEPER = [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"]


def test_each_line_is_prefixed_with_the_process_name() -> None:
    out = io.StringIO()
    supervisor = Supervisor(out=out)
    child = supervisor.start("echo", [sys.executable, "-c", "print('hello')"], env={})
    child.process.wait(timeout=10)
    child.pump.join(timeout=5)
    assert "echo     | hello" in out.getvalue()


def test_a_dead_child_is_found_and_the_others_are_stopped() -> None:
    out = io.StringIO()
    supervisor = Supervisor(out=out)
    sleeper = supervisor.start("sleeper", SLEEPER, env={})
    supervisor.start("crasher", [sys.executable, "-c", "raise SystemExit(3)"], env={})
    wait_until(lambda: supervisor.first_exit() is not None, what="crasher", timeout=10)
    dead = supervisor.first_exit()
    assert dead is not None
    assert (dead.name, dead.process.returncode) == ("crasher", 3)
    supervisor.stop_all(grace_seconds=5)
    assert sleeper.process.returncode is not None
    assert supervisor.children == []


def test_a_child_that_ignores_sigterm_is_killed() -> None:
    stubborn = [
        sys.executable,
        "-c",
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('up', flush=True); time.sleep(60)",
    ]
    out = io.StringIO()
    supervisor = Supervisor(out=out)
    child = supervisor.start("stubborn", stubborn, env={})
    wait_until(lambda: "up" in out.getvalue(), what="stubborn", timeout=10)
    supervisor.stop_all(grace_seconds=0.5)
    assert child.process.returncode is not None
    assert "did not stop in time; killing it" in out.getvalue()


def test_waiting_for_a_process_that_died_names_it() -> None:
    with pytest.raises(StackError, match="the sandbox exited while starting"):
        wait_until(lambda: False, what="the sandbox", timeout=5, alive=lambda: False)
