"""Presence subscriptions against the sandbox: created, fed, renewed, refused, recovered."""

# Fixtures are imported by name from engine_fixtures, so their parameters shadow them.
# ruff: noqa: F811

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings as SettingsWrapper
from pytest_django.live_server_helper import LiveServer

from accounts.graph_clients import graph_for_user
from accounts.models import User
from accounts.token_store import forget_user_tokens
from comms_portal.graph.subscriptions import create_subscription
from comms_portal.notifications import drain, lifecycle, tasks
from comms_portal.notifications import subscriptions as pipeline
from comms_portal.notifications.certificates import current_certificate
from comms_portal.notifications.models import Subscription
from directory.sync import sync_directory
from presence import polling, store, subscriptions, watchlist
from tests.presence.engine_fixtures import (  # noqa: F401  (fixtures)
    Control,
    bodies_of,
    clean_presence,
    control,
    delivered_bodies,
    enqueued,
    point_settings_at,
    sandbox,
    sign_in_person,
    start_private_sandbox,
    user_id_of,
    wait_for,
)
from tests.support.cast import AIKO, GRACE, LENA, PRIYA, TOMAS
from tests.support.examples import load_example
from tests.support.sandbox import RunningSandbox

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_presence")]
LIFECYCLE = tasks.process_lifecycle.name


@pytest.fixture(autouse=True)
def portal(settings: SettingsWrapper, sandbox: RunningSandbox, live_server: LiveServer) -> None:
    """The portal on the private sandbox, reachable by it at the live server's address."""
    point_settings_at(settings, sandbox)
    settings.PUBLIC_BASE_URL = live_server.url
    sync_directory()


def ids(sandbox: RunningSandbox, *upns: str) -> list[str]:
    return [user_id_of(sandbox.info, upn) for upn in upns]


def sandbox_now(control: Control) -> datetime:
    return datetime.fromisoformat(control("GET", "/clock")["now"].replace("Z", "+00:00"))


def force(control: Control, person_id: str, availability: str, activity: str) -> None:
    control("POST", f"/presence/{person_id}", {"availability": availability, "activity": activity})


def process_next_change(seen: int) -> int:
    """Wait for a change body beyond the first ``seen``, process it, return the new count."""
    bodies = wait_for(
        lambda: len(delivered_bodies()) > seen and delivered_bodies(),
        what="a change notification at the webhook",
    )
    for body in bodies[seen:]:
        drain.process_bodies([body])
    return len(bodies)


def test_watched_people_are_covered_first_and_notifications_reach_the_store(
    sandbox: RunningSandbox, control: Control
) -> None:
    priya = sign_in_person(PRIYA)
    grace_id, aiko_id = ids(sandbox, GRACE, AIKO)
    # The simulator may have Grace in a call already at this time of day: start from Available,
    # before there is a subscription, so the change below is a change.
    force(control, grace_id, "Available", "Available")
    watchlist.mark_watched([grace_id, aiko_id])

    report = subscriptions.maintain_subscriptions(now=sandbox_now(control))

    [subscription] = Subscription.objects.all()
    assert report.created == [subscription.graph_id] and subscription.owner == priya
    assert set(subscription.scope[:2]) == {grace_id, aiko_id}
    assert len(subscription.scope) == 60  # then everyone visible, up to 650
    [remote] = control("GET", "/subscriptions")["value"]
    assert remote["id"] == subscription.graph_id and remote["includeResourceData"] is True
    assert remote["notificationUrl"].endswith("/graph/notifications/presence")
    assert grace_id not in polling.people_to_poll() or store.get_one(grace_id) is None

    force(control, grace_id, "Busy", "InACall")
    process_next_change(0)

    stored = store.get_one(grace_id)
    assert stored is not None and (stored.availability, stored.activity) == ("Busy", "InACall")
    assert stored.source == "notification"


@pytest.fixture
def clock_sandbox(
    settings: SettingsWrapper, tmp_path: Path, portal: None
) -> Iterator[tuple[RunningSandbox, Control]]:
    """A sandbox of its own, since moving its clock ahead spoils sign-ins for later tests."""
    running = start_private_sandbox(tmp_path / "clock-sandbox")
    point_settings_at(settings, running)
    client = Control(running.info["control_url"])
    yield running, client
    client("POST", "/delivery-faults", {"kind": "drop", "count": 10_000})
    client.close()
    running.stop()


def test_a_subscription_is_renewed_before_it_expires_on_the_sandbox_clock(
    clock_sandbox: tuple[RunningSandbox, Control],
) -> None:
    _, control = clock_sandbox
    sign_in_person(PRIYA)
    subscriptions.maintain_subscriptions(now=sandbox_now(control))
    first = Subscription.objects.get()

    assert subscriptions.maintain_subscriptions(now=sandbox_now(control)).renewed == []

    control("POST", "/clock", {"advance_seconds": 45 * 60})
    later = sandbox_now(control)
    report = subscriptions.maintain_subscriptions(now=later)

    renewed = Subscription.objects.get()
    assert report.renewed == [first.graph_id] and renewed.graph_id == first.graph_id
    assert (renewed.expires_at - later).total_seconds() > 55 * 60
    [remote] = control("GET", "/subscriptions")["value"]
    remote_expiry = datetime.fromisoformat(remote["expirationDateTime"].replace("Z", "+00:00"))
    assert abs((remote_expiry - renewed.expires_at).total_seconds()) < 1


def test_a_second_subscription_refused_for_an_owner_moves_to_another_owner(
    sandbox: RunningSandbox, control: Control
) -> None:
    priya = sign_in_person(PRIYA)
    tomas = sign_in_person(TOMAS)
    grace_id = ids(sandbox, GRACE)[0]
    # Priya already holds a presence subscription made outside the portal's records.
    create_subscription(
        graph_for_user(priya.pk),
        resource=f"/communications/presences/{grace_id}",
        change_type="updated",
        notification_url=pipeline.notification_url("presence"),
        expiration=sandbox_now(control) + timedelta(minutes=30),
        client_state="made-elsewhere",
        include_resource_data=True,
        encryption_certificate=current_certificate().certificate_base64,
        encryption_certificate_id=current_certificate().certificate_id,
    )

    report = subscriptions.maintain_subscriptions(now=sandbox_now(control))

    assert report.refused_owners == [priya.pk]
    assert pipeline.is_owner_blocked("presence", priya.pk)
    [ours] = Subscription.objects.all()
    assert ours.owner == tomas and grace_id in ours.scope


def deliveries_of(control: Control, graph_id: str) -> dict[str, Any]:
    """Return the sandbox's delivery log and queue of one subscription."""
    answer: dict[str, Any] = control("GET", f"/deliveries?subscription_id={graph_id}")
    return answer


def lost_one_delivery(control: Control, graph_id: str) -> None:
    """Wait until the sandbox has dropped a delivery and has nothing left to send."""
    wait_for(
        lambda: any(e["outcome"] == "dropped" for e in deliveries_of(control, graph_id)["value"]),
        what="the dropped delivery",
    )
    # Lifecycle notifications are queued with their cause: none queued means none sent.
    wait_for(lambda: deliveries_of(control, graph_id)["pending"] == 0, what="an empty queue")


def lifecycle_events_posted(enqueued: list[tuple[str, list[Any]]]) -> list[str]:
    """Return the lifecycle events the intake handed to the lifecycle task, in order."""
    return [
        item["lifecycleEvent"]
        for body in bodies_of(enqueued, LIFECYCLE)
        for item in json.loads(body)["value"]
    ]


def lifecycle_body(sandbox: RunningSandbox, subscription: Subscription, event: str) -> str:
    """Return a lifecycle notification for ``subscription``, as Graph posts one."""
    documented = load_example("notification-lifecycle.payload.json")["request"]["value"][0]
    item = {
        **documented,
        "subscriptionId": subscription.graph_id,
        "subscriptionExpirationDateTime": subscription.expires_at.isoformat(),
        "tenantId": sandbox.tenant_id,
        "clientState": subscription.client_state,
        "lifecycleEvent": event,
    }
    return json.dumps({"value": [item]})


def post_to_lifecycle_intake(client: Client, body: str) -> None:
    answer = client.post(reverse("notifications:lifecycle"), body, content_type="application/json")
    assert answer.status_code == 202, answer.content


def test_a_lost_presence_notification_goes_unannounced_and_reconciliation_heals_it(
    sandbox: RunningSandbox, control: Control, enqueued: list[tuple[str, list[Any]]]
) -> None:
    sign_in_person(PRIYA)
    lena_id = ids(sandbox, LENA)[0]
    force(control, lena_id, "Available", "Available")  # whatever an earlier test left
    watchlist.mark_watched([lena_id])
    subscriptions.maintain_subscriptions(now=sandbox_now(control))
    graph_id = Subscription.objects.get().graph_id
    control("POST", "/delivery-faults", {"kind": "drop", "count": 1, "url": "*/presence"})

    force(control, lena_id, "DoNotDisturb", "Presenting")
    lost_one_delivery(control, graph_id)

    # Graph sends "missed" for Outlook resources only: for presence nothing says so.
    assert "missed" not in lifecycle_events_posted(enqueued) and delivered_bodies() == []
    assert store.get_one(lena_id) is None or store.get_one(lena_id).availability != "DoNotDisturb"

    polling.reconcile()

    stored = store.get_one(lena_id)
    assert stored is not None and stored.availability == "DoNotDisturb"
    assert stored.source == "poll"


def test_a_missed_event_makes_the_portal_reread_what_the_subscription_covers(
    sandbox: RunningSandbox,
    control: Control,
    enqueued: list[tuple[str, list[Any]]],
    client: Client,
) -> None:
    # No sandbox resource gets "missed" (Graph sends it for Outlook ones), so the event is
    # made by hand, for a subscription the portal holds, and posted to the real intake.
    sign_in_person(PRIYA)
    lena_id = ids(sandbox, LENA)[0]
    force(control, lena_id, "Available", "Available")  # whatever an earlier test left
    watchlist.mark_watched([lena_id])
    subscriptions.maintain_subscriptions(now=sandbox_now(control))
    subscription = Subscription.objects.get()
    control("POST", "/delivery-faults", {"kind": "drop", "count": 1, "url": "*/presence"})
    force(control, lena_id, "DoNotDisturb", "Presenting")
    lost_one_delivery(control, subscription.graph_id)

    post_to_lifecycle_intake(client, lifecycle_body(sandbox, subscription, "missed"))
    [body] = [body for body in bodies_of(enqueued, LIFECYCLE) if '"missed"' in body]
    result = lifecycle.process_lifecycle(body)

    assert result.handled == [f"missed:{subscription.graph_id}"] and result.resynced >= 1
    stored = store.get_one(lena_id)
    assert stored is not None and stored.availability == "DoNotDisturb"
    assert stored.source == "poll"


def test_a_subscription_removed_at_graph_is_noticed_and_recreated_by_upkeep(
    sandbox: RunningSandbox, control: Control, enqueued: list[tuple[str, list[Any]]]
) -> None:
    sign_in_person(PRIYA)
    subscriptions.maintain_subscriptions(now=sandbox_now(control))
    old = Subscription.objects.get()

    # Graph sends subscriptionRemoved for Outlook and Teams chatMessage subscriptions only:
    # a presence subscription just vanishes, as after an outage or a restarted tenant.
    control("DELETE", f"/subscriptions/{old.graph_id}")
    wait_for(lambda: deliveries_of(control, old.graph_id)["pending"] == 0, what="an empty queue")
    assert "subscriptionRemoved" not in lifecycle_events_posted(enqueued)
    report = subscriptions.maintain_subscriptions(now=sandbox_now(control))

    assert old.graph_id in report.dropped
    new = Subscription.objects.get()
    assert new.graph_id != old.graph_id and new.scope == old.scope
    assert [s["id"] for s in control("GET", "/subscriptions")["value"]] == [new.graph_id]


def test_a_subscription_removed_event_is_answered_with_a_new_subscription_and_a_reread(
    sandbox: RunningSandbox,
    control: Control,
    enqueued: list[tuple[str, list[Any]]],
    client: Client,
) -> None:
    # As Graph does for the resources that get subscriptionRemoved: the subscription is gone,
    # then the lifecycle URL hears of it. No sandbox resource gets the event, so it is made
    # by hand and posted to the real intake.
    sign_in_person(PRIYA)
    subscriptions.maintain_subscriptions(now=sandbox_now(control))
    old = Subscription.objects.get()
    control("DELETE", f"/subscriptions/{old.graph_id}")

    post_to_lifecycle_intake(client, lifecycle_body(sandbox, old, "subscriptionRemoved"))
    [body] = [body for body in bodies_of(enqueued, LIFECYCLE) if '"subscriptionRemoved"' in body]
    result = lifecycle.process_lifecycle(body)

    assert result.handled == [f"subscriptionRemoved:{old.graph_id}"]
    new = Subscription.objects.get()
    assert new.graph_id != old.graph_id and new.scope == old.scope
    assert result.resynced == len(old.scope)
    assert [s["id"] for s in control("GET", "/subscriptions")["value"]] == [new.graph_id]


def test_an_owner_who_signs_out_loses_the_subscription_and_people_fall_back_to_polls(
    sandbox: RunningSandbox, control: Control
) -> None:
    priya = sign_in_person(PRIYA)
    aiko_id = ids(sandbox, AIKO)[0]
    watchlist.mark_watched([aiko_id])
    subscriptions.maintain_subscriptions(now=sandbox_now(control))
    subscription = Subscription.objects.get()
    polling.poll_uncovered()
    assert aiko_id not in polling.people_to_poll()

    forget_user_tokens(User.objects.get(pk=priya.pk))
    report = subscriptions.maintain_subscriptions(now=sandbox_now(control))

    assert report.dropped == [subscription.graph_id]
    assert not Subscription.objects.exists()
    # Without her token it cannot be deleted at Graph: it lapses at its expiry, and its
    # notifications meanwhile are refused as unknown.
    [remote] = control("GET", "/subscriptions")["value"]
    assert remote["id"] == subscription.graph_id
    assert aiko_id in polling.people_to_poll()
