"""A second resource kind on the pipeline gets its own changes, and only its own."""

# Fixtures are imported by name from engine_fixtures, so their parameters shadow them.
# ruff: noqa: F811

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from comms_portal.notifications import drain, registry, tasks
from comms_portal.notifications import subscriptions as pipeline
from comms_portal.notifications.models import Subscription
from comms_portal.notifications.registry import Change, Handled, ResourceKind
from presence import store
from tests.notifications.kinds import app_only_kind
from tests.presence.engine_fixtures import (  # noqa: F401  (fixtures)
    Control,
    clean_presence,
    control,
    delivered_bodies,
    enqueued,
    sandbox,
    user_id_of,
    wait_for,
)
from tests.presence.test_webhook import grace, real_body  # noqa: F401  (fixtures)
from tests.support.cast import AIKO
from tests.support.sandbox import RunningSandbox

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_presence")]
KIND = "directory-users"


@pytest.fixture
def users_kind() -> Iterator[list[Change]]:
    """A kind of the test's own: directory users (app-only, rich), recording what it gets."""
    with app_only_kind(KIND, rich=True) as received:
        yield received


def subscribe_to_users() -> Subscription:
    return pipeline.subscribe(KIND, owner=None, resource="/users", change_type="updated")


def test_a_second_kind_receives_its_own_changes_and_presence_keeps_its_own(
    grace: str, control: Control, sandbox: RunningSandbox, users_kind: list[Change]
) -> None:
    users = subscribe_to_users()
    assert users.certificate is not None  # rich: encrypted to the portal's certificate
    aiko = user_id_of(sandbox.info, AIKO)

    control("POST", f"/users/{aiko}", {"jobTitle": "Head of Tests"})
    real_body(control, grace, ("Busy", "InACall"))
    wait_for(lambda: len(delivered_bodies()) >= 2, what="both notifications")

    report = drain.process_bodies(delivered_bodies())

    assert report.by_kind == {KIND: 1, "presence": 1}
    [change] = users_kind
    assert change.subscription.graph_id == users.graph_id
    assert change.resource_data is not None and change.resource_data["jobTitle"] == "Head of Tests"
    assert change.resource_id == aiko
    stored = store.get_one(grace)
    assert stored is not None and stored.availability == "Busy"


def test_a_notification_posted_to_another_kinds_url_is_refused(
    grace: str,
    control: Control,
    sandbox: RunningSandbox,
    users_kind: list[Change],
    client: Client,
) -> None:
    subscribe_to_users()
    aiko = user_id_of(sandbox.info, AIKO)
    control("POST", f"/users/{aiko}", {"jobTitle": "Analyst"})
    [body] = wait_for(delivered_bodies, what="the users notification")
    waiting = len(delivered_bodies())

    answer = client.post("/graph/notifications/presence", body, content_type="application/json")

    # Answered like any post (a forger learns nothing), but nothing is queued.
    assert answer.status_code == 202
    assert len(delivered_bodies()) == waiting


def test_a_kind_nobody_registered_has_no_intake(client: Client) -> None:
    body = json.dumps({"value": [{"subscriptionId": "x", "clientState": "y"}]})
    assert client.post("/graph/notifications/nobody", body, "application/json").status_code == 404
    assert client.get("/graph/notifications/nobody").status_code == 404


def test_kind_names_that_would_clash_with_urls_or_keys_are_refused() -> None:
    for name in ("lifecycle", "Has Spaces", "", "x" * 41):
        with pytest.raises(ValueError, match="resource kind name"):
            registry.register(
                ResourceKind(
                    name=name,
                    handle_changes=lambda changes: Handled(),
                    maintain=lambda: None,
                    resync=lambda subscription: 0,
                    max_lifetime=timedelta(hours=1),
                    renew_before=timedelta(minutes=10),
                )
            )


def test_an_app_only_kind_is_never_subscribed_with_a_persons_token(
    users_kind: list[Change],
) -> None:
    from accounts.models import User

    owner = User.objects.create(username="someone", object_id="o", tenant_id="t")
    with pytest.raises(ValueError, match="app token"):
        pipeline.subscribe(KIND, owner=owner, resource="/users", change_type="updated")


def test_lifecycle_events_reach_the_lifecycle_task_at_both_urls(
    grace: str, client: Client, enqueued: list[tuple[str, list[Any]]]
) -> None:
    subscription = Subscription.objects.of_kind("presence").get()
    body = json.dumps(
        {
            "value": [
                {
                    "subscriptionId": subscription.graph_id,
                    "clientState": subscription.client_state,
                    "lifecycleEvent": "missed",
                }
            ]
        }
    )
    enqueued.clear()
    for url in ("/graph/notifications/lifecycle", "/graph/notifications/presence/lifecycle"):
        assert client.post(url, body, content_type="application/json").status_code == 202
    names = [name for name, _ in enqueued]
    assert names == [tasks.process_lifecycle.name] * 2
