"""Load over time: a steady trickle with beat, and a flood while the worker is stopped."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest
import redis

from tests.soak.backlog import flood_from_other_processes, forged_bodies
from tests.soak.harness import CONVERGE_SECONDS, SoakStack, scale, seconds
from tests.soak.report import Row
from tests.soak.scenario import run_scenario, verdict

pytestmark = [pytest.mark.soak, pytest.mark.timeout(1800)]

DRAIN_TASK = b'"notifications.drain"'
MAX_DRAIN_TASKS = 2
LIFECYCLE_GOAL_SECONDS = 60
# The sandbox challenges each subscription about this often (Graph: "every few minutes").
CHALLENGE_SECONDS = 60
FLOOD_RATE = 1000.0
FLOOD_SECONDS = 120.0
# The portal's default cap (NOTIFICATION_INBOX_MAX_BODIES), left as it is: the full flood
# (120,000 bodies) is more than twice it, so the cap is reached and held.
INBOX_CAP = 50_000


def drain_tasks(client: redis.Redis[bytes]) -> int:
    """Count the drain tasks queued on the broker or taken by a worker and not yet done."""
    queued = sum(DRAIN_TASK in raw for raw in client.lrange("celery", 0, -1))
    taken = sum(DRAIN_TASK in raw for raw in client.hvals("unacked"))
    return queued + taken


class Sampler:
    """Sample, four times a second, what a scenario bounds: drain tasks, challenges, memory.

    A challenge answered between two samples is not seen pending at all: its time is under
    a quarter of a second.
    """

    def __init__(self, run: SoakStack) -> None:
        self.run = run
        self.drain_tasks: list[int] = []
        self.memory: list[int] = []
        self.inbox: list[int] = []
        self.challenged_at: dict[str, float] = {}
        self.lifecycle_latencies: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _sample(self) -> None:
        client = self.run.redis_client()
        while not self._stop.wait(0.25):
            try:
                self.drain_tasks.append(drain_tasks(client))
                self.memory.append(int(client.info("memory")["used_memory"]))
                self.inbox.append(int(client.llen("portal:notifications:inbox")))
                self._challenges()
            except (redis.RedisError, httpx.HTTPError):
                continue

    def _challenges(self) -> None:
        now = time.monotonic()
        for item in self.run.control("GET", "/subscriptions").json()["value"]:
            subscription = str(item["id"])
            if item.get("challengePending"):
                self.challenged_at.setdefault(subscription, now)
            elif subscription in self.challenged_at:
                self.lifecycle_latencies.append(now - self.challenged_at.pop(subscription))


def steady_trickle(run: SoakStack) -> dict[str, Any]:
    """Ten minutes of five changes a second, beat running, subscriptions challenged often."""
    with Sampler(run) as sampler:
        time.sleep(seconds(600))
        # A challenge being answered when the load stops gets the goal's time to finish.
        deadline = time.monotonic() + LIFECYCLE_GOAL_SECONDS
        while sampler.challenged_at and time.monotonic() < deadline:
            time.sleep(1)
    deliveries = run.control("GET", "/deliveries").json()["value"]
    return {
        "max_drain_tasks": max(sampler.drain_tasks, default=0),
        "lifecycle_challenges": sum(
            1 for d in deliveries if d["kind"] == "lifecycle" and d["outcome"] == "delivered"
        ),
        "challenges_seen_pending": len(sampler.lifecycle_latencies),
        "lifecycle_max_seconds": round(max(sampler.lifecycle_latencies, default=0.0), 1),
        "still_challenged": len(sampler.challenged_at),
        "seconds": seconds(600),
    }


def trickle_bounds(run: SoakStack, row: Row) -> None:
    outcome = row.details["fault"]
    assert outcome["max_drain_tasks"] <= MAX_DRAIN_TASKS, outcome
    assert outcome["lifecycle_challenges"] > 0, outcome
    assert outcome["lifecycle_max_seconds"] < LIFECYCLE_GOAL_SECONDS, outcome
    assert outcome["still_challenged"] == 0, outcome


def test_steady_trickle_with_beat() -> None:
    verdict(
        run_scenario(
            "steady_5_per_s_10_min",
            steady_trickle,
            rate=5.0,
            extra_checks=trickle_bounds,
            stack_options={"delivery_settings": {"reauthorizationInterval": CHALLENGE_SECONDS}},
        )
    )


def worker_stopped_under_a_flood(run: SoakStack) -> dict[str, Any]:
    """Stop the worker for two minutes while 1,000 bodies a second arrive; start it again."""
    bodies = forged_bodies(run)
    run.stop_worker()
    with Sampler(run) as sampler:
        sent = flood_from_other_processes(
            run, bodies, rate=FLOOD_RATE, duration=seconds(FLOOD_SECONDS)
        )
        inbox_at_restart = int(run.redis_client().llen("portal:notifications:inbox"))
        run.start_worker()
        restarted = time.monotonic()
        deadline = restarted + 600
        while run.redis_client().llen("portal:notifications:inbox") and time.monotonic() < deadline:
            time.sleep(1)
        drained_after = time.monotonic() - restarted
        # Graph sends the notifications the full inbox refused again later; the fault ends
        # when the sandbox has nothing left to deliver.
        while run.sandbox_pending() and time.monotonic() < deadline:
            time.sleep(1)
    return {
        **sent,
        "rate_asked": FLOOD_RATE,
        "inbox_cap": INBOX_CAP,
        "inbox_at_restart": inbox_at_restart,
        "max_redis_memory_mb": round(max(sampler.memory, default=0) / 2**20, 1),
        "max_inbox": max(sampler.inbox, default=0),
        "backlog_drained_seconds": round(drained_after, 1),
    }


def flood_bounds(run: SoakStack, row: Row) -> None:
    outcome = row.details["fault"]
    accepted_202 = outcome["answers"].get("202", 0)
    assert outcome["max_inbox"] <= INBOX_CAP, outcome
    assert outcome["max_redis_memory_mb"] < 256, outcome
    assert outcome["backlog_drained_seconds"] < 600, outcome
    # Every body answered 202 was counted as accepted, and (the accounting) handled or
    # dropped with a reason: the flood's forged ones as dropped, none of them lost.
    account = row.details["accounting"]
    assert account["accepted"] == accepted_202 + account["sandbox_delivered_2xx"], account
    assert sum(account["dropped"].values()) >= accepted_202, account
    if accepted_202 + outcome["answers"].get("503", 0) > INBOX_CAP:
        # More came than the inbox holds: it filled to its cap, held it, and refused the rest.
        assert outcome["max_inbox"] == INBOX_CAP, outcome
        assert outcome["answers"].get("503", 0) > 0, outcome
    if scale() == 1:
        # The full flood must bring more than the default cap, or the cap is not exercised.
        assert outcome["sent"] > INBOX_CAP, outcome


def test_worker_stopped_2_min_at_1000_per_s() -> None:
    verdict(
        run_scenario(
            "worker_stopped_1000_per_s",
            worker_stopped_under_a_flood,
            bound=CONVERGE_SECONDS,
            extra_checks=flood_bounds,
        )
    )
