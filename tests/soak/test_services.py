"""The portal's services failing under load: the database, Redis, the broker."""

from __future__ import annotations

import signal
import time

import pytest

from tests.soak.backlog import flood_from_other_processes, forged_bodies
from tests.soak.harness import SoakStack, seconds
from tests.soak.report import Row
from tests.soak.scenario import run_scenario, verdict

pytestmark = [pytest.mark.soak, pytest.mark.timeout(900)]


def database_down(run: SoakStack) -> dict[str, object]:
    """Take the database away for 60 s: open connections cut, new ones refused."""
    assert run.proxy is not None
    run.proxy.down()
    time.sleep(seconds(60))
    run.proxy.up()
    return {"database_down_seconds": seconds(60)}


def test_database_down() -> None:
    verdict(run_scenario("database_down", database_down))


def broker_refuses_during_retries(run: SoakStack) -> dict[str, object]:
    """Take the database away so drains retry, and make Redis refuse writes meanwhile.

    With ``maxmemory`` below what Redis holds and ``noeviction``, every write is refused
    (OOM): the retry a failed drain sends to the broker, and the intake's appends.
    """
    assert run.proxy is not None
    client = run.redis_client()
    run.proxy.down()
    time.sleep(seconds(15))
    client.config_set("maxmemory", "1")
    time.sleep(seconds(20))
    client.config_set("maxmemory", "0")
    time.sleep(seconds(10))
    run.proxy.up()
    return {"database_down_seconds": seconds(45), "broker_refusing_seconds": seconds(20)}


def test_broker_errors_during_resend() -> None:
    verdict(run_scenario("broker_errors_during_resend", broker_refuses_during_retries))


# Bodies queued for the drain to be busy with when Redis stops: at 1,000 a second, a
# backlog the drain needs seconds for, so the stop lands between a batch taken and done.
BACKLOG_BODIES = 10_000
BACKLOG_RATE = 1000.0
MID_DRAIN_WAIT_SECONDS = 120.0


def restart_redis_mid_drain(run: SoakStack) -> dict[str, object]:
    """Stop Redis while a drain holds a batch and more waits (SIGTERM, as a service manager
    does), then start it again.

    The worker is stopped while forged bodies of our subscriptions are posted, so a backlog
    waits; a new worker starts draining it, and Redis is stopped the moment a drain has a
    batch taken with more bodies still in the inbox.
    """
    assert run.redis is not None
    bodies = forged_bodies(run)
    run.stop_worker()
    count = int(seconds(BACKLOG_BODIES / BACKLOG_RATE) * BACKLOG_RATE)
    sent = flood_from_other_processes(run, bodies, rate=BACKLOG_RATE, duration=count / BACKLOG_RATE)
    run.start_worker(wait=False)
    deadline = time.monotonic() + MID_DRAIN_WAIT_SECONDS
    waiting, taken = run.mid_drain()
    while not (waiting and taken):
        if time.monotonic() > deadline:
            raise RuntimeError(f"no drain took a batch in {MID_DRAIN_WAIT_SECONDS:.0f} s")
        time.sleep(0.01)
        waiting, taken = run.mid_drain()
    accepted_before = _accepted(run)
    run.redis.stop(signal.SIGTERM)
    time.sleep(5)
    run.redis.start()
    after = run.mid_drain()
    return {
        "appendonly": run.redis.appendonly,
        "flood_202": sent["answers"].get("202", 0),
        "flood_answers": sent["answers"],
        "inbox_at_stop": waiting,
        "taken_at_stop": taken,
        "accepted_at_stop": accepted_before,
        # What Redis held again once started: with AOF all of it, without nothing.
        "inbox_after_start": after[0],
        "taken_after_start": after[1],
        # Without AOF these were accepted with 202 and are gone with Redis.
        "lost_with_redis": 0 if run.redis.appendonly else waiting + taken,
    }


def _accepted(run: SoakStack) -> int:
    return sum(
        int(value)
        for (name, labels), value in run.metrics().items()
        if name == "comms_portal_notifications_accepted_total" and ("kind", "presence") in labels
    )


def restart_kept_everything(run: SoakStack, row: Row) -> None:
    """With AOF, Redis came back with the backlog and the batch in hand, and all was drained."""
    healthy_again(run, row)
    outcome = row.details["fault"]
    account = row.details["accounting"]
    assert outcome["inbox_after_start"] + outcome["taken_after_start"] > 0, outcome
    # Counts kept too: every body the flood got 202 for was counted and dropped with a reason.
    assert account["accepted"] >= outcome["flood_202"] + account["sandbox_delivered_2xx"], account
    assert sum(account["dropped"].values()) >= outcome["flood_202"], account


def restart_lost_the_backlog(run: SoakStack, row: Row) -> None:
    """Without AOF, Redis came back empty: what waited is lost, as the README says."""
    healthy_again(run, row)
    outcome = row.details["fault"]
    # (Graph's deliveries retried meanwhile may already be queued again: a few, not thousands.)
    before = outcome["inbox_at_stop"] + outcome["taken_at_stop"]
    assert outcome["inbox_after_start"] + outcome["taken_after_start"] < before, outcome


def healthy_again(run: SoakStack, row: Row) -> None:
    # Every part says it is up again, the worker too (its heartbeat outlived the restart).
    deadline = time.monotonic() + 30
    health = run.stack_or_fail().health()
    while health.get("status") != "ok" and time.monotonic() < deadline:
        time.sleep(1)
        health = run.stack_or_fail().health()
    assert all(check.get("up") for check in health.get("checks", {}).values()), health


def test_redis_restart_with_aof() -> None:
    verdict(
        run_scenario(
            "redis_restart_aof",
            restart_redis_mid_drain,
            stack_options={"appendonly": True},
            rate=5.0,
            extra_checks=restart_kept_everything,
        )
    )


def test_redis_restart_without_aof() -> None:
    # Without persistence the accepted bodies still waiting are lost with Redis, as the README
    # says; what must still hold is that the store and every page converge on the sandbox.
    verdict(
        run_scenario(
            "redis_restart_no_aof",
            restart_redis_mid_drain,
            stack_options={"appendonly": False},
            rate=5.0,
            check_accounting=False,
            extra_checks=restart_lost_the_backlog,
        )
    )
