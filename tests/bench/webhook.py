"""Webhook intake: notifications accepted per second and answer times at a steady, open-loop rate.

The portal runs as deployed (ASGI server and Celery worker). Its bodies are real: the worker
is told to stop consuming for a moment, presence changes are forced in the sandbox, and the
change notifications the sandbox delivered (validation tokens, encrypted content, the real
subscription's clientState) are read back from the broker. Each is split into one-notification
bodies and replayed at a fixed rate; the worker verifies and decrypts them as it would Graph's.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import uvloop

from comms_portal.celery import app as celery_app
from comms_portal.redis_client import get_redis
from comms_portal.stack import Stack
from presence.models import PresenceSubscription
from tests.bench.harness import BenchEnvironment, portal_running
from tests.bench.http_load import open_loop, post_request
from tests.bench.latency import pool_of_people
from tests.bench.people import sign_in_over_http, wait_for_coverage
from tests.bench.report import Section, summary_ms
from tests.support.cast import PRIYA

WEBHOOK_PATH = "/graph/notifications/presence"
TASK_NAME = "presence.process_notifications"
QUEUE = "celery"
CAPTURED_CHANGES = 40
CAPTURE_SECONDS = 30.0
GOAL_P99_MS = 50


def notification_bodies_in_queue() -> list[str]:
    """Return the notification bodies waiting in the broker for the worker."""
    bodies = []
    for raw in get_redis().lrange(QUEUE, 0, -1):
        message = json.loads(raw)
        if message.get("headers", {}).get("task") != TASK_NAME:
            continue
        payload = message["body"]
        if message.get("properties", {}).get("body_encoding") == "base64":
            payload = base64.b64decode(payload)
        args = json.loads(payload)[0]
        bodies.append(str(args[0]))
    return bodies


def single_notification_bodies(bodies: list[str]) -> list[bytes]:
    """Split each delivered body into bodies of one notification, with its validation tokens."""
    singles = []
    for body in bodies:
        collection: dict[str, Any] = json.loads(body)
        for item in collection.get("value", []):
            single = {"value": [item], "validationTokens": collection.get("validationTokens", [])}
            singles.append(json.dumps(single).encode())
    return singles


def capture_real_bodies(bench: BenchEnvironment) -> list[bytes]:
    """Have the sandbox deliver real notifications and read them back from the broker."""
    subscription = PresenceSubscription.objects.order_by("pk").first()
    if subscription is None:
        raise RuntimeError("no presence subscription to receive notifications")
    assert bench.sandbox is not None
    celery_app.control.cancel_consumer(QUEUE, reply=True, timeout=5)
    try:
        for number, person_id in enumerate(subscription.person_ids[:CAPTURED_CHANGES]):
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
            singles = single_notification_bodies(notification_bodies_in_queue())
            if len(singles) >= CAPTURED_CHANGES:
                break
            time.sleep(0.25)
    finally:
        celery_app.control.add_consumer(QUEUE, reply=True, timeout=5)
    if not singles:
        raise RuntimeError("the sandbox delivered no notification to capture")
    return singles


def replay(stack: Stack, bodies: list[bytes], *, rate: float, seconds: float) -> Any:
    """Post ``bodies`` to the webhook at ``rate`` a second for ``seconds``."""
    port = stack.config.web_port
    requests = [post_request("127.0.0.1", port, WEBHOOK_PATH, body) for body in bodies]
    return uvloop.run(
        open_loop("127.0.0.1", port, requests, rate=rate, seconds=seconds, wanted_status=202)
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
        ],
    )
    with portal_running(bench, name="webhook") as stack:
        sign_in_over_http(stack, PRIYA)
        wait_for_coverage(celery_app, pool_of_people(100), timeout=120)
        bodies = capture_real_bodies(bench)
        result = replay(stack, bodies, rate=sizes.webhook_rate, seconds=sizes.webhook_seconds)
        # What the worker has not reached yet is not part of the next benchmark's load.
        celery_app.control.purge()
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
        "replayed open-loop; answer time counts from each request's scheduled send time",
        "the Celery worker verifies, decrypts and stores every accepted body meanwhile, on the "
        "same two cores",
    ]
    return section
