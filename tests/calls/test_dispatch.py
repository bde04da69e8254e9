"""Callbacks handled call by call: each call's steps in order, calls side by side."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import redis
from django.conf import settings

from calls import dispatch, handlers
from calls.models import Call, ReceptionLine

pytestmark = pytest.mark.django_db(transaction=True)

CALLS = 12
# Each call-back call goes through these states; handled out of order, the later states would
# make the earlier ones be ignored and the call's steps would read differently.
STATES = ("establishing", "established", "terminated")


@pytest.fixture(autouse=True)
def no_queued_callbacks() -> Iterator[None]:
    client = redis.Redis.from_url(settings.REDIS_URL)

    def wipe() -> None:
        assert dispatch.dispatcher().wait_until_idle()
        for key in client.scan_iter("portal:calls:*"):
            client.delete(key)

    wipe()
    yield
    wipe()


def state_body(call_id: str, state: str) -> str:
    data: dict[str, object] = {"@odata.type": "#microsoft.graph.call", "state": state}
    if state == "terminated":
        data["resultInfo"] = {"code": 0, "subcode": 5001, "message": "The caller hung up"}
    return json.dumps(
        {
            "value": [
                {
                    "changeType": "deleted" if state == "terminated" else "updated",
                    "resourceUrl": f"/communications/calls/{call_id}",
                    "resourceData": data,
                }
            ]
        }
    )


def call_back(graph_id: str) -> Call:
    return Call.objects.create(
        graph_id=graph_id,
        purpose=Call.Purpose.CALL_BACK,
        direction="outgoing",
        state="incoming",
        caller_phone="+447700900777",
    )


def steps_of(call: Call) -> list[str]:
    return [event.text for event in call.events.order_by("pk")]


EXPECTED_STEPS = ["State: establishing.", "State: established.", "Ended: The caller hung up."]


def test_each_call_s_steps_stay_in_order_while_calls_are_handled_together() -> None:
    calls = [call_back(f"dispatch-order-{number:02d}") for number in range(CALLS)]

    # The drain hands the callbacks over as they arrived: the calls' steps interleaved, some
    # batches holding one body, one holding many, as the inbox fills.
    interleaved = [state_body(call.graph_id, state) for state in STATES for call in calls]
    handed = handlers.handle_bodies(interleaved[:5])
    for body in interleaved[5:9]:
        handlers.handle_bodies([body])
    handlers.handle_bodies(interleaved[9:])
    assert dispatch.dispatcher().wait_until_idle()

    assert handed.changed == 5
    for call in calls:
        call.refresh_from_db()
        assert call.state == "terminated"
        assert call.routing == "Call-back connected"
        assert steps_of(call) == EXPECTED_STEPS


def test_a_call_held_by_another_handler_holds_up_no_other_call() -> None:
    busy, other = call_back("dispatch-busy"), call_back("dispatch-other")
    client = redis.Redis.from_url(settings.REDIS_URL)
    # Another worker is in the middle of the busy call.
    client.set(dispatch.LOCK_PREFIX + busy.graph_id, b"another-worker", ex=60)

    handlers.handle_bodies(
        [state_body(call.graph_id, state) for state in STATES for call in (busy, other)]
    )
    assert dispatch.dispatcher().wait_until_idle()

    other.refresh_from_db()
    busy.refresh_from_db()
    assert steps_of(other) == EXPECTED_STEPS
    assert busy.state == "incoming" and steps_of(busy) == []
    assert client.llen(dispatch.QUEUE_PREFIX + busy.graph_id) == len(STATES)

    # That worker died without finishing: once its lock lapses, the call's steps are taken up
    # again, still in order.
    client.delete(dispatch.LOCK_PREFIX + busy.graph_id)
    assert dispatch.resume_orphans() == 1
    assert dispatch.dispatcher().wait_until_idle()

    busy.refresh_from_db()
    assert steps_of(busy) == EXPECTED_STEPS
    assert not client.exists(dispatch.QUEUE_PREFIX + busy.graph_id)
    assert not client.sismember(dispatch.QUEUED_KEY, busy.graph_id)


def test_a_notification_about_a_call_nobody_holds_is_dropped_and_the_list_moves_on() -> None:
    known = call_back("dispatch-known")
    client = redis.Redis.from_url(settings.REDIS_URL)

    handlers.handle_bodies(
        [state_body("dispatch-unknown", "established")]
        + [state_body(known.graph_id, state) for state in STATES]
    )
    assert dispatch.dispatcher().wait_until_idle()

    assert steps_of(known) == EXPECTED_STEPS
    assert not client.exists(dispatch.QUEUE_PREFIX + "dispatch-unknown")


def test_a_worker_warms_up_to_answer_without_making_a_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO", logger="calls.dispatch")

    dispatch.warm_up()

    assert "calls: ready to answer" in caplog.text
    # The line is read when there is one, never made by a starting worker.
    assert not ReceptionLine.objects.exists()


def test_a_worker_warms_up_with_the_line_read_and_the_bot_signed_in(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ReceptionLine.objects.create()
    caplog.set_level("INFO", logger="calls.dispatch")

    dispatch.warm_up()

    assert "calls: ready to answer" in caplog.text
    assert "warming up the answer failed" not in caplog.text
