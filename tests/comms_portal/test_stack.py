"""The process supervisor behind `make demo` and the browser tests, on real child processes."""

from __future__ import annotations

import io
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from comms_portal.processes import PROJECT_DIR, StackError, Supervisor, wait_until
from comms_portal.stack import main
from tests.support.process_table import LaunchedTree, describe

SLEEPER = [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"]

# A child that starts a child of its own, like uvicorn's workers or Celery's pool.
WITH_GRANDCHILD = (
    "import subprocess, sys, time; "
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']); "
    "print('up', flush=True); time.sleep(120)"
)
# A child that takes a second to stop, so that a second signal lands while stopping.
SLOW_TO_STOP = """
import signal, sys, time
def stop(*_):
    time.sleep(1)
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
print("up", flush=True)
time.sleep(120)
"""


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


@pytest.mark.parametrize("option", ["--web-processes", "--users"])
def test_the_demo_refuses_a_count_below_one_naming_the_option(
    option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["demo", option, "0"])
    assert exit_.value.code == 2
    assert f"argument {option}: must be a whole number of at least 1, not '0'" in (
        capsys.readouterr().err
    )


def test_waiting_for_a_process_that_died_names_it() -> None:
    with pytest.raises(StackError, match="the sandbox exited while starting"):
        wait_until(lambda: False, what="the sandbox", timeout=5, alive=lambda: False)


@pytest.fixture
def supervised(tmp_path: Path) -> Iterator[list[LaunchedTree]]:
    """Launch ``python -m tests.support.supervised`` trees; kill whatever a failure left."""
    trees: list[LaunchedTree] = []
    yield trees
    for tree in trees:
        tree.kill_leftovers()


def launch(trees: list[LaunchedTree], log: Path, **children: str) -> LaunchedTree:
    """Start a supervisor of ``children`` (name=code) and wait until each says it is up."""
    argv = [sys.executable, "-m", "tests.support.supervised"]
    argv += [f"{name}={code}" for name, code in children.items()]
    tree = LaunchedTree.start(argv, env=dict(os.environ), log=log, cwd=PROJECT_DIR)
    trees.append(tree)
    wait_until(
        lambda: all(f"{name.ljust(8)} | up" in log.read_text() for name in children),
        what="the supervised children",
        timeout=30,
        alive=lambda: tree.process.poll() is None,
    )
    return tree


@pytest.mark.parametrize(
    "stop_signal", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name
)
def test_a_stop_signal_to_the_group_stops_children_and_their_children(
    supervised: list[LaunchedTree], tmp_path: Path, stop_signal: signal.Signals
) -> None:
    log = tmp_path / "supervisor.log"
    tree = launch(supervised, log, parent=WITH_GRANDCHILD)
    below = tree.remember_sessions()
    assert any(p.ppid != tree.process.pid for p in below), "no grandchild to watch"
    tree.signal_group(stop_signal)
    assert tree.process.wait(timeout=30) == 0
    left = tree.wait_for_nothing_left(timeout=20)
    assert not left, describe(left)
    assert f"{stop_signal.name} received; stopping" in log.read_text()


def test_two_quick_sigterms_stop_everything_once(
    supervised: list[LaunchedTree], tmp_path: Path
) -> None:
    log = tmp_path / "supervisor.log"
    tree = launch(supervised, log, parent=WITH_GRANDCHILD, slow=SLOW_TO_STOP)
    tree.remember_sessions()
    # As `make` run in a stopped group does: the group's SIGTERM, then make forwards one.
    tree.signal_group(signal.SIGTERM)
    tree.signal_group(signal.SIGTERM)
    assert tree.process.wait(timeout=30) == 0
    left = tree.wait_for_nothing_left(timeout=20)
    assert not left, describe(left)
    assert log.read_text().count("received; stopping") == 1


def test_killing_the_supervisor_stops_its_children_and_theirs(
    supervised: list[LaunchedTree], tmp_path: Path
) -> None:
    log = tmp_path / "supervisor.log"
    tree = launch(supervised, log, parent=WITH_GRANDCHILD, slow=SLOW_TO_STOP)
    below = tree.remember_sessions()
    assert any(p.ppid != tree.process.pid for p in below), "no grandchild to watch"
    tree.process.kill()
    assert tree.process.wait(timeout=10) == -signal.SIGKILL
    left = tree.wait_for_nothing_left(timeout=20)
    assert not left, describe(left)
    assert "the supervisor is gone; stopping" in log.read_text()


def test_when_one_child_dies_the_others_are_stopped_and_it_is_named(
    supervised: list[LaunchedTree], tmp_path: Path
) -> None:
    log = tmp_path / "supervisor.log"
    crasher = "import time; print('up', flush=True); time.sleep(0.5); raise SystemExit(3)"
    tree = launch(supervised, log, parent=WITH_GRANDCHILD, crasher=crasher)
    tree.remember_sessions()
    assert tree.process.wait(timeout=30) == 1
    left = tree.wait_for_nothing_left(timeout=20)
    assert not left, describe(left)
    assert "crasher exited with code 3; stopping" in log.read_text()
