"""Graph and the authority failing: throttling, 503 bursts, signing keys out of reach."""

from __future__ import annotations

import time

import pytest

from tests.soak.harness import SoakStack, seconds
from tests.soak.scenario import run_scenario, verdict

pytestmark = [pytest.mark.soak, pytest.mark.timeout(900)]

EVERY_GRAPH_REQUEST = "^/(v1.0|beta)/.*"
NEW_PEOPLE = 10


def throttled_with_retry_after_60(run: SoakStack) -> dict[str, object]:
    """New people are watched while Graph answers 429 with ``Retry-After: 60``.

    Their first read and their subscriptions are refused; the portal must hold off for the
    minute Graph asked for, then read them. The fault ends when the last 429's minute is up.
    """
    run.fault(path_regex=EVERY_GRAPH_REQUEST, kind="429", retry_after=60, count=3)
    more = run.watch_more(NEW_PEOPLE)
    run.open_page("page-new", more)
    deadline = time.monotonic() + 120
    while run.faults_left() and time.monotonic() < deadline:
        time.sleep(1)
    served = 3 - run.faults_left()
    run.clear_faults()
    time.sleep(60)
    return {"throttled_answers": served, "retry_after": 60, "new_people": len(more)}


def test_graph_429_retry_after_60() -> None:
    verdict(run_scenario("graph_429_retry_after_60", throttled_with_retry_after_60))


def bursts_of_503(run: SoakStack) -> dict[str, object]:
    """Graph answers 503 in bursts for a minute while new people are watched."""
    more = run.watch_more(NEW_PEOPLE)
    bursts = 0
    deadline = time.monotonic() + seconds(60)
    opened = False
    while time.monotonic() < deadline:
        run.fault(path_regex=EVERY_GRAPH_REQUEST, kind="503", retry_after=2, count=5)
        bursts += 1
        if not opened:
            run.open_page("page-new", more)
            opened = True
        time.sleep(5)
    run.clear_faults()
    return {"bursts": bursts, "new_people": len(more)}


def test_graph_503_bursts() -> None:
    verdict(run_scenario("graph_503_bursts", bursts_of_503))


def signing_keys_unreachable(run: SoakStack) -> dict[str, object]:
    """The authority's signing keys are out of reach for 120 s while the worker restarts.

    A fresh worker has no keys in memory, so it cannot check the notifications' validation
    tokens until the keys can be read again; nothing may be dropped meanwhile.
    """
    run.fault(path="/*/discovery/v2.0/keys", kind="503", retry_after=5, count=1_000_000)
    run.kill_worker()
    run.start_worker()
    time.sleep(seconds(120))
    refused = 1_000_000 - run.faults_left()
    run.clear_faults()
    return {"keys_refused": refused, "seconds": seconds(120)}


def test_jwks_unreachable_120s() -> None:
    verdict(run_scenario("jwks_unreachable_120s", signing_keys_unreachable))
