"""The drain under faults: nothing taken is lost, one bad body holds up nobody, one drain runs."""

# Fixtures are imported by name from engine_fixtures, so their parameters shadow them.
# ruff: noqa: F811

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper

from comms_portal.notifications import drain, inbox, pending, tasks
from comms_portal.notifications.models import Subscription
from comms_portal.notifications.registry import Change
from comms_portal.redis_client import get_redis
from presence import handlers, store
from tests.notifications.kinds import app_only_kind
from tests.presence.engine_fixtures import (  # noqa: F401  (fixtures)
    Control,
    clean_presence,
    control,
    delivered_bodies,
    sandbox,
    wait_for,
)
from tests.presence.test_webhook import grace, real_body  # noqa: F401  (fixtures)
from tests.support.faults import database_unavailable

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_presence")]
KIND = "test-widgets"
POISON = "widgets/poison"


@pytest.fixture
def widgets() -> Iterator[list[Change]]:
    """A basic (unencrypted) kind of the test's own, whose handler chokes on one resource."""
    with app_only_kind(KIND, rich=False, refuse=lambda change: change.resource == POISON) as got:
        yield got


def widget_subscription(graph_id: str = "widget-sub", client_state: str = "w1dget") -> None:
    Subscription.objects.create(
        kind=KIND,
        graph_id=graph_id,
        client_state=client_state,
        resource="/widgets",
        change_type="updated",
        expires_at=timezone.now() + timedelta(hours=1),
    )


def widget_body(resource: str, graph_id: str = "widget-sub", client_state: str = "w1dget") -> str:
    item = {
        "subscriptionId": graph_id,
        "clientState": client_state,
        "changeType": "updated",
        "resource": resource,
        "resourceData": {"id": resource.rsplit("/", 1)[-1]},
    }
    return json.dumps({"value": [item]})


def queue(*bodies: str) -> None:
    for body in bodies:
        async_to_sync(inbox.append)(body.encode())


def drain_once(drainer_id: str) -> int:
    return drain.drain_inbox(drainer_id, hand_over=lambda: None)


def test_a_body_that_breaks_its_handler_is_set_aside_and_the_others_go_through(
    widgets: list[Change],
) -> None:
    widget_subscription()
    queue(widget_body("widgets/1"), widget_body(POISON), widget_body("widgets/2"))

    assert drain_once("drain-a") == 3

    assert sorted(change.resource for change in widgets) == ["widgets/1", "widgets/2"]
    [buried] = inbox.buried()
    assert POISON in buried["body"]
    assert "ValueError: this change cannot be handled" in buried["reason"]
    assert inbox.waiting() == 0


def test_a_database_outage_keeps_the_batch_for_the_next_try(widgets: list[Change]) -> None:
    widget_subscription()
    queue(widget_body("widgets/1"), widget_body("widgets/2"))
    with database_unavailable(), pytest.raises(inbox.Interrupted):
        drain.drain_inbox("drain-b", hand_over=lambda: None, hold_on_interrupt_seconds=5)

    # Nothing was handled or dropped: the batch waits under the drain's name, and the lease
    # stays with it, so the beat's drains leave it alone until its retry comes.
    assert widgets == [] and inbox.buried() == []
    assert get_redis().llen(inbox.TAKEN_KEY_PREFIX + "drain-b") == 2
    assert drain_once("beat-drain") == 0

    # The retry keeps the task's id: it finds its batch first.
    assert drain_once("drain-b") == 2
    assert sorted(change.resource for change in widgets) == ["widgets/1", "widgets/2"]


def test_a_drain_stopped_by_a_long_fault_tries_again_within_a_poll_interval() -> None:
    # However long the outage, the held batch is tried again soon after it ends.
    delays = [tasks.retry_delay(retries) for retries in range(100)]
    assert delays[0] < delays[1] < delays[2]
    assert max(delays) <= 20 < settings.PRESENCE_POLL_SECONDS


def test_a_killed_drains_batch_is_put_back_once_its_lease_lapses(widgets: list[Change]) -> None:
    widget_subscription()
    queue(widget_body("widgets/1"), widget_body("widgets/2"))
    redis = get_redis()
    # As a SIGKILLed worker leaves it: a batch taken, a lease nobody renews.
    redis.lmove(inbox.INBOX_KEY, inbox.TAKEN_KEY_PREFIX + "killed", "LEFT", "RIGHT")
    redis.sadd(inbox.DRAINERS_KEY, "killed")
    redis.set(inbox.ACTIVE_KEY, "killed", ex=1)

    assert drain_once("beat-1") == 0  # the lease still holds
    time.sleep(1.1)
    assert drain_once("beat-2") == 2

    assert [change.resource for change in widgets] == ["widgets/1", "widgets/2"]  # in order
    assert redis.llen(inbox.TAKEN_KEY_PREFIX + "killed") == 0


def test_only_one_drain_works_at_a_time(widgets: list[Change]) -> None:
    widget_subscription()
    queue(widget_body("widgets/1"))
    get_redis().set(inbox.ACTIVE_KEY, "another", ex=30)

    assert drain_once("second") == 0
    assert inbox.waiting() == 1


def test_a_full_inbox_answers_503_so_graph_sends_again_later(
    widgets: list[Change], settings: SettingsWrapper, client: Client
) -> None:
    settings.NOTIFICATION_INBOX_MAX_BODIES = 2
    widget_subscription()
    url = f"/graph/notifications/{KIND}"
    answers = [
        client.post(url, widget_body(f"widgets/{n}"), content_type="application/json")
        for n in range(3)
    ]

    assert [answer.status_code for answer in answers] == [202, 202, 503]
    assert answers[2]["Retry-After"] == "30"
    assert inbox.waiting() == 2
    drain_once("drain-c")
    assert client.post(url, widget_body("widgets/9"), "application/json").status_code == 202


def test_notifications_of_a_subscription_being_created_wait_for_its_record(
    widgets: list[Change], client: Client
) -> None:
    pending.expect("brand-new-state", KIND)
    body = widget_body("widgets/early", graph_id="new-sub", client_state="brand-new-state")

    # Graph posts before the portal has the subscription's id: kept, not refused.
    answer = client.post(f"/graph/notifications/{KIND}", body, "application/json")
    assert answer.status_code == 202 and inbox.bodies_waiting() == [body]
    # The worker meets it before the record exists: set aside for a moment, not dropped.
    get_redis().delete(inbox.INBOX_KEY)
    assert drain.handle_batch([body]).deferred == [body]
    assert widgets == [] and get_redis().zcard(inbox.DEFERRED_KEY) == 1

    widget_subscription("new-sub", "brand-new-state")
    pending.settle("brand-new-state")
    time.sleep(drain.DEFER_SECONDS)
    drain_once("drain-d")

    assert [change.resource for change in widgets] == ["widgets/early"]


def test_an_unknown_client_state_is_still_refused(widgets: list[Change], client: Client) -> None:
    pending.expect("brand-new-state", KIND)
    body = widget_body("widgets/x", graph_id="forged", client_state="guessed")

    assert client.post(f"/graph/notifications/{KIND}", body, "application/json").status_code == 202
    assert inbox.waiting() == 0


def test_presence_without_a_sequence_number_is_read_not_believed(
    grace: str, control: Control
) -> None:
    subscription = Subscription.objects.of_kind("presence").get()
    # Grace is Away (as the fixture set her); a late notification without Graph's order
    # stamp claims she is Offline.
    late = Change(
        subscription=subscription,
        change_type="updated",
        resource=f"communications/presences/{grace}",
        resource_data={"id": grace, "availability": "Offline", "activity": "Offline"},
        resource_id=grace,
        tenant_id=None,
    )

    handlers.handle_presence_changes([late])

    stored = store.get_one(grace)
    assert stored is not None
    assert (stored.availability, stored.source) == ("Away", "poll")
