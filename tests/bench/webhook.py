"""Webhook intake: notifications accepted per second and answer times at a steady, open-loop rate.

The portal runs as deployed (ASGI server and Celery worker). Its bodies are real: the worker
is told to stop consuming for a moment, presence changes are forced in the sandbox, and the
change notifications the sandbox delivered (validation tokens, encrypted content, the real
subscription's clientState) are read back from the webhook's inbox. Each is split into
one-notification bodies and replayed at a fixed rate; the worker verifies and decrypts them as
it would Graph's, and the time it needs to catch up afterwards is reported too.
"""

from __future__ import annotations

import json
import time
from typing import Any

import uvloop

from comms_portal.celery import app as celery_app
from comms_portal.notifications import inbox
from comms_portal.notifications.models import Subscription
from comms_portal.redis_client import get_redis
from comms_portal.stack import Stack
from tests.bench.harness import BenchEnvironment, portal_running
from tests.bench.http_load import open_loop, post_request
from tests.bench.latency import pool_of_people
from tests.bench.people import sign_in_over_http, wait_for_coverage
from tests.bench.report import Section, summary_ms
from tests.support.cast import PRIYA

WEBHOOK_PATH = "/graph/notifications/presence"
DRAIN_TASK = "notifications.drain"
CAPTURED_CHANGES = 40
CAPTURE_SECONDS = 30.0
GOAL_P99_MS = 50
CATCH_UP_SECONDS = 120.0
WARMUP_SECONDS = 2.0


def single_notification_bodies(bodies: list[str]) -> list[bytes]:
    """Split each delivered body into bodies of one notification, with its validation tokens."""
    singles = []
    for body in bodies:
        collection: dict[str, Any] = json.loads(body)
        for item in collection.get("value", []):
            single = {"value": [item], "validationTokens": collection.get("validationTokens", [])}
            singles.append(json.dumps(single).encode())
    return singles


def wait_until_no_drain(timeout: float) -> None:
    """Wait until no drain task is running or reserved (a drain would take the bodies).

    Other work (a first call-records heal over Graph's 30 days, say) may go on: it does not
    read the inbox.
    """
    celery_app.control.purge()
    deadline = time.monotonic() + timeout
    drains: list[str] = []
    while time.monotonic() < deadline:
        inspector = celery_app.control.inspect(timeout=1)
        workers = [*(inspector.active() or {}).values(), *(inspector.reserved() or {}).values()]
        names = [task.get("name", "?") for tasks in workers for task in tasks]
        drains = [name for name in names if name == DRAIN_TASK]
        if not drains:
            return
        time.sleep(0.25)
    raise RuntimeError(f"a notification drain was still running after {timeout:.0f} s")


def capture_real_bodies(bench: BenchEnvironment) -> list[bytes]:
    """Have the sandbox deliver real notifications and read them back from the inbox."""
    subscription = Subscription.objects.of_kind("presence").order_by("pk").first()
    if subscription is None:
        raise RuntimeError("no presence subscription to receive notifications")
    assert bench.sandbox is not None
    redis = get_redis()
    # With the drain flag held up, the webhook requests no drain: bodies stay in the inbox.
    redis.set(inbox.DRAIN_PENDING_KEY, b"bench", ex=int(CAPTURE_SECONDS * 3))
    try:
        wait_until_no_drain(CAPTURE_SECONDS)
        redis.set(inbox.DRAIN_PENDING_KEY, b"bench", ex=int(CAPTURE_SECONDS * 3))
        for number, person_id in enumerate(subscription.scope[:CAPTURED_CHANGES]):
            bench.sandbox.control(
                "POST",
                f"/presence/{person_id}",
                json={
                    "availability": "Busy",
                    "activity": "InACall",
                    "statusMessage": f"webhook capture {number}",
                },
            ).raise_for_status()
        deadline = time.monotonic() + CAPTURE_SECONDS
        singles: list[bytes] = []
        while time.monotonic() < deadline:
            singles = single_notification_bodies(inbox.bodies_waiting())
            if len(singles) >= CAPTURED_CHANGES:
                break
            time.sleep(0.25)
    finally:
        redis.delete(inbox.DRAIN_PENDING_KEY)
    if not singles:
        deliveries = bench.sandbox.control(
            "GET", f"/deliveries?subscription_id={subscription.graph_id}&limit=5"
        ).text
        raise RuntimeError(
            f"the sandbox delivered no notification to capture: inbox {inbox.waiting()}, "
            f"subscription {subscription.graph_id}, last deliveries {deliveries[:1500]}"
        )
    return singles


def wait_for_empty_inbox(timeout: float) -> float | None:
    """Return the seconds until the worker had drained the inbox, or None if it had not."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if not inbox.waiting():
            return time.monotonic() - started
        time.sleep(0.1)
    return None


def replay(stack: Stack, bodies: list[bytes], *, rate: float, seconds: float) -> Any:
    """Post ``bodies`` to the webhook at ``rate`` a second for ``seconds``."""
    port = stack.config.web_port
    requests = [post_request("127.0.0.1", port, WEBHOOK_PATH, body) for body in bodies]
    return uvloop.run(
        open_loop(
            "127.0.0.1",
            port,
            requests,
            rate=rate,
            seconds=seconds,
            wanted_status=202,
            warmup_seconds=WARMUP_SECONDS,
        )
    )


def run(bench: BenchEnvironment) -> Section:
    """Measure the webhook at a steady rate and return the table."""
    sizes = bench.sizes
    section = Section(
        name="webhook",
        title=f"Webhook intake (goal: p99 under {GOAL_P99_MS} ms; Graph demands under 3 s)",
        columns=[
            "offered/s",
            "seconds",
            "sent",
            "accepted",
            "accepted/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "max ms",
            "errors",
            "backlog at end",
            "caught up after s",
        ],
    )
    with portal_running(bench, name="webhook") as stack:
        sign_in_over_http(stack, PRIYA)
        wait_for_coverage(pool_of_people(100), timeout=120)
        bodies = capture_real_bodies(bench)
        result = replay(stack, bodies, rate=sizes.webhook_rate, seconds=sizes.webhook_seconds)
        backlog = inbox.waiting()
        caught_up = wait_for_empty_inbox(CATCH_UP_SECONDS)
        # What the worker has not reached yet is not part of the next benchmark's load.
        celery_app.control.purge()
        get_redis().delete(inbox.INBOX_KEY)
    stats = summary_ms(result.latencies)
    accepted = result.statuses.get(202, 0)
    window = max(result.last_answered - result.first_sent, 1e-9)
    other_statuses = {str(code): n for code, n in result.statuses.items() if code != 202}
    errors = sum(other_statuses.values()) + sum(result.errors.values())
    section.rows.append(
        {
            "offered/s": round(sizes.webhook_rate),
            "seconds": sizes.webhook_seconds,
            "sent": result.scheduled,
            "accepted": accepted,
            "accepted/s": round(accepted / window, 1),
            "p50 ms": stats["p50_ms"],
            "p95 ms": stats["p95_ms"],
            "p99 ms": stats["p99_ms"],
            "max ms": stats["max_ms"],
            "errors": errors,
            "backlog at end": backlog,
            "caught up after s": round(caught_up, 1) if caught_up is not None else "not in time",
        }
    )
    section.details.update(
        {
            "answers": stats,
            "other_statuses": other_statuses,
            "client_errors": dict(result.errors),
            "connections": result.connections,
            "distinct_bodies": len(bodies),
        }
    )
    section.notes += [
        f"{len(bodies)} real one-notification bodies (captured from the sandbox's deliveries) "
        f"replayed open-loop after {WARMUP_SECONDS:g} s of the same traffic unrecorded (to open "
        "the connections a steady sender keeps); answer time counts from each request's "
        "scheduled send time; the load generator runs with its garbage collector paused",
        "the Celery worker verifies, decrypts and stores every accepted body meanwhile, on the "
        "same two cores; backlog: bodies still queued when the replay ended, drained after",
    ]
    return section
