"""The notification inbox: the webhook queues bodies, one drain task empties them in batches."""

# Fixtures are imported by name, so their parameters shadow them.
# ruff: noqa: F811

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.test import Client

from comms_portal.notifications import drain, inbox, tasks
from comms_portal.redis_client import get_redis
from presence import store
from tests.presence.engine_fixtures import (  # noqa: F401  (fixtures)
    Control,
    clean_presence,
    control,
    delivered_bodies,
    enqueued,
    sandbox,
    wait_for,
)
from tests.presence.test_webhook import URL, edited, grace, real_body  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_presence")]
DRAIN = tasks.drain_notifications.name


def drain_once(drainer_id: str) -> int:
    """Drain the inbox here, as the drain task does, without queueing any other task."""
    return drain.drain_inbox(drainer_id, hand_over=lambda: None)


def drain_requests(captured: list[tuple[str, list[Any]]]) -> int:
    return sum(1 for name, _ in captured if name == DRAIN)


def test_bodies_queue_up_behind_one_drain_request(
    grace: str, control: Control, client: Client, enqueued: list[tuple[str, list[Any]]]
) -> None:
    # The sandbox's own delivery of this change already asked for a drain.
    body = real_body(control, grace, ("Busy", "InACall"))
    wait_for(lambda: drain_requests(enqueued) == 1, what="the drain request")

    for _ in range(5):
        assert client.post(URL, body, content_type="application/json").status_code == 202

    # Six bodies wait, and still only the one drain task was requested for them all.
    assert len(delivered_bodies()) == 6
    assert drain_requests(enqueued) == 1
    assert store.get_one(grace) is None  # recording is the drain's job


def test_a_drain_records_every_body_and_lowers_its_flag(
    grace: str, control: Control, client: Client, enqueued: list[tuple[str, list[Any]]]
) -> None:
    real_body(control, grace, ("Busy", "InACall"))
    newest = real_body(control, grace, ("DoNotDisturb", "Presenting"))

    assert drain_once("drain-1") == 2

    stored = store.get_one(grace)
    assert stored is not None and (stored.availability, stored.activity) == (
        "DoNotDisturb",
        "Presenting",
    )
    assert delivered_bodies() == []
    # The flag is down, so the next body asks for a drain of its own again.
    requested = drain_requests(enqueued)
    assert client.post(URL, newest, content_type="application/json").status_code == 202
    assert drain_requests(enqueued) == requested + 1


def test_a_batch_with_malformed_and_forged_bodies_still_records_the_genuine_one(
    grace: str, control: Control
) -> None:
    genuine = real_body(control, grace, ("Busy", "InACall"))
    forged = edited(genuine, lambda d: d["value"][0].update(clientState="guessed"))
    tampered = edited(
        genuine,
        lambda d: d["value"][0]["encryptedContent"].update(dataSignature="AAAA"),
    )

    report = drain.process_bodies(["{not json", forged, tampered, genuine])

    assert (report.handed, report.changed) == (1, 1)
    assert report.dropped == 3
    assert any("malformed body" in reason for reason in report.reasons)
    assert any("clientState" in reason for reason in report.reasons)
    assert any("encrypted content refused" in reason for reason in report.reasons)
    stored = store.get_one(grace)
    assert stored is not None and stored.availability == "Busy"


def test_a_drain_that_dies_mid_batch_loses_nothing(grace: str, control: Control) -> None:
    real_body(control, grace, ("BeRightBack", "BeRightBack"))
    real_body(control, grace, ("Busy", "InACall"))
    assert len(delivered_bodies()) == 2

    def dies(bodies: list[str]) -> None:
        raise SystemExit("the worker process was killed")

    with pytest.raises(SystemExit):
        inbox.drain("task-7", dies, hand_over=lambda: None)
    # The batch left the inbox but is kept under the task's name...
    assert delivered_bodies() == []
    assert get_redis().llen(inbox.TAKEN_KEY_PREFIX + "task-7") == 2

    # ...and Celery redelivers the task (late acknowledgement): it handles that batch first.
    assert drain_once("task-7") == 2
    stored = store.get_one(grace)
    assert stored is not None and stored.availability == "Busy"
    assert get_redis().llen(inbox.TAKEN_KEY_PREFIX + "task-7") == 0


def test_a_long_drain_hands_over_to_a_fresh_task(grace: str, control: Control) -> None:
    body = real_body(control, grace, ("Busy", "InACall"))
    for _ in range(inbox.BATCH_SIZE + 10):
        async_to_sync(inbox.append)(body.encode())
    handed_over: list[bool] = []
    handled: list[int] = []

    def hand_over() -> None:
        # The fresh task may start at once on another worker: the lease must be free by then.
        handed_over.append(get_redis().get(inbox.ACTIVE_KEY) is None)

    done = inbox.drain(
        "long-drain",
        lambda bodies: handled.append(len(bodies)),
        hand_over=hand_over,
        turn_seconds=0.0,
    )

    # One batch, then the turn is over: a fresh task continues, and the flag stays up so
    # the webhook does not request yet another.
    assert handled == [inbox.BATCH_SIZE] and done == inbox.BATCH_SIZE
    assert handed_over == [True]
    assert inbox.waiting() == 11
    assert not inbox.claim_drain()


def test_a_drain_that_keeps_working_keeps_its_flag_up(grace: str, control: Control) -> None:
    body = real_body(control, grace, ("Busy", "InACall"))
    redis = get_redis()
    # Nearly lapsed, as after ten minutes of drains handing over to one another.
    redis.set(inbox.DRAIN_PENDING_KEY, b"1", ex=3)
    async_to_sync(inbox.append)(body.encode())

    inbox.drain("busy-drain", lambda bodies: None, hand_over=lambda: None, turn_seconds=0.0)

    # Renewed: bodies arriving now still see a drain pending and request no second one.
    assert redis.ttl(inbox.DRAIN_PENDING_KEY) > 60
