"""Change notifications of virtual events: new events, and a webinar's registrations."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.sandbox.virtual_events.conftest import Tokens, graph_error, webinar_body
from tests.support.cast import MEGAN, TOMAS
from tests.support.examples import load_example, shape_differences
from tests.support.webhook_receiver import WebhookReceiver

WEBINARS = "solutions/virtualEvents/webinars"


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as running:
        yield running


def expiry(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def subscribe(
    graph: httpx.Client,
    headers: dict[str, str],
    receiver: WebhookReceiver,
    resource: str,
    path: str,
    change_type: str = "created",
    hours: float = 20,
) -> httpx.Response:
    return graph.post(
        "subscriptions",
        json={
            "changeType": change_type,
            "notificationUrl": receiver.url(path),
            "resource": resource,
            "expirationDateTime": expiry(hours),
            "clientState": "events-secret",
        },
        headers=headers,
    )


def without_ids(item: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in item.items() if key != "id"}


def test_new_events_notify_the_apps_tenant_subscription(
    graph: httpx.Client, tokens: Tokens, receiver: WebhookReceiver
) -> None:
    # Delegated callers may not subscribe to the tenant's events, nor for more than a day.
    refused = subscribe(graph, tokens.user(MEGAN), receiver, "solutions/virtualEvents/events", "/e")
    assert refused.status_code == 403
    too_long = subscribe(
        graph, tokens.app(), receiver, "solutions/virtualEvents/events", "/e", hours=25
    )
    assert too_long.status_code == 400
    made = subscribe(graph, tokens.app(), receiver, "solutions/virtualEvents/events", "/events")
    assert made.status_code == 201, made.text
    webinar = graph.post(WEBINARS, json=webinar_body(), headers=tokens.user(MEGAN)).json()
    (notification,) = receiver.wait_for(lambda: receiver.notifications("/events"), what="events")
    documented = load_example("notification-virtualevent-event-created.payload.json")
    assert shape_differences(notification, documented["request"]["value"][0]) == []
    assert notification["resourceData"]["id"] == f"{WEBINARS}/{webinar['id']}/"
    assert "encryptedContent" not in notification


def test_registrations_notify_created_and_updated(
    graph: httpx.Client, tokens: Tokens, receiver: WebhookReceiver
) -> None:
    webinar = graph.post(WEBINARS, json=webinar_body(), headers=tokens.user(MEGAN)).json()
    graph.post(f"{WEBINARS}/{webinar['id']}/publish", headers=tokens.user(MEGAN))
    resource = f"{WEBINARS}/{webinar['id']}/registrations"
    # Only the organizers (or an app with the policy) may watch them.
    assert subscribe(graph, tokens.user(TOMAS), receiver, resource, "/r").status_code == 403
    assert (
        graph_error(
            subscribe(graph, tokens.app(), receiver, f"{WEBINARS}/nothing@here/registrations", "/r")
        )[0]
        == 404
    )
    made = subscribe(graph, tokens.app(), receiver, resource, "/registrations", "created,updated")
    assert made.status_code == 201, made.text
    body = {"preferredTimezone": "UTC", "preferredLanguage": "en-us"}
    registration = graph.post(f"{resource}", json=body, headers=tokens.user(TOMAS)).json()
    graph.post(f"{resource}/{registration['id']}/cancel", headers=tokens.user(TOMAS))
    notifications = receiver.wait_for(
        lambda: (
            len(receiver.notifications("/registrations")) >= 2
            and receiver.notifications("/registrations")
        ),
        what="registration notifications",
    )
    documented = load_example("notification-virtualevent-registration-created.payload.json")
    # Each change is its own delivery, so they may arrive in either order.
    by_change = {n["changeType"]: n for n in notifications}
    assert sorted(by_change) == ["created", "updated"]
    assert shape_differences(by_change["created"], documented["request"]["value"][0]) == []
    for notification in notifications:
        assert notification["resourceData"]["id"] == f"{resource}/{registration['id']}"
        assert notification["resource"] == resource
