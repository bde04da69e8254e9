"""Presence subscriptions: Graph's rules, and rich notifications a subscriber can decrypt."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.sandbox.conftest import bearer
from tests.sandbox.presence.conftest import Tokens, force, graph_error, in_minutes, user_id
from tests.support.cast import AIKO, LENA, MARCUS, MEGAN, PRIYA, SAMUEL, TOMAS
from tests.support.examples import load_example, shape_differences
from tests.support.sandbox import RunningSandbox
from tests.support.webhook_receiver import (
    SubscriberCertificate,
    WebhookReceiver,
    decrypt_notification_content,
    make_subscriber_certificate,
)

DANIEL = "daniel.okafor@lumenhall.example"


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as running:
        yield running


@pytest.fixture(scope="module")
def certificate() -> SubscriberCertificate:
    return make_subscriber_certificate("Comms Portal presence")


def subscription_body(
    sandbox: RunningSandbox,
    receiver: WebhookReceiver,
    certificate: SubscriberCertificate,
    resource: str,
    *,
    path: str,
    minutes: float = 55,
    **changes: Any,
) -> dict[str, Any]:
    body = {
        "changeType": "updated",
        "notificationUrl": receiver.url(path),
        "resource": resource,
        "expirationDateTime": in_minutes(sandbox, minutes),
        "includeResourceData": True,
        "encryptionCertificate": certificate.base64_der,
        "encryptionCertificateId": "presence-cert",
        "clientState": "presence-secret",
        **changes,
    }
    return {name: value for name, value in body.items() if value is not None}


def bulk(*ids: str) -> str:
    return "/communications/presences?$filter=id in (" + ", ".join(f"'{i}'" for i in ids) + ")"


def test_presence_subscription_rules(
    presence_sandbox: RunningSandbox,
    graph: httpx.Client,
    tokens: Tokens,
    receiver: WebhookReceiver,
    certificate: SubscriberCertificate,
) -> None:
    priya = user_id(presence_sandbox, PRIYA)
    single = f"communications/presences/{priya}"

    def create(token: str, **changes: Any) -> httpx.Response:
        resource = changes.pop("resource", single)
        body = subscription_body(
            presence_sandbox, receiver, certificate, resource, path="/rules", **changes
        )
        return graph.post("subscriptions", headers=bearer(token), json=body)

    daniel = tokens.user(DANIEL)
    assert graph_error(create(tokens.app()))[0] == 403  # application permissions: unsupported
    assert graph_error(create(daniel, expirationDateTime=in_minutes(presence_sandbox, 61)))[0] == (
        400
    )
    many = [f"00000000-0000-4000-8000-{n:012d}" for n in range(651)]
    assert graph_error(create(daniel, resource=bulk(*many)))[0] == 400
    no_certificate = create(
        daniel, includeResourceData=None, encryptionCertificate=None, encryptionCertificateId=None
    )
    assert graph_error(no_certificate)[0] == 400
    assert graph_error(create(daniel, resource="communications/presences/not-a-guid"))[0] == 400
    first = create(daniel, resource=bulk(*many[:650]))
    assert first.status_code == 201, first.text
    try:
        second = create(daniel, resource=single)  # one presence subscription per person per app
        assert graph_error(second) == (403, "Forbidden")
        assert "at most 1" in second.json()["error"]["message"]
        other_person = create(tokens.user(SAMUEL))
        assert other_person.status_code == 201, other_person.text
        graph.delete(
            f"subscriptions/{other_person.json()['id']}", headers=bearer(tokens.user(SAMUEL))
        )
    finally:
        graph.delete(f"subscriptions/{first.json()['id']}", headers=bearer(daniel))


def test_documented_subscription_requests_are_accepted(
    presence_sandbox: RunningSandbox,
    graph: httpx.Client,
    tokens: Tokens,
    receiver: WebhookReceiver,
    certificate: SubscriberCertificate,
) -> None:
    ids = [user_id(presence_sandbox, upn) for upn in (TOMAS, AIKO)]
    for name, resource, upn in (
        ("subscriptions-create-presence.request.json", f"communications/presences/{ids[0]}", AIKO),
        ("subscriptions-create-presence-bulk.request.json", bulk(*ids), TOMAS),
    ):
        example = load_example(name)
        body = {
            **example["request"],
            "resource": resource,
            "notificationUrl": receiver.url("/documented"),
            "lifecycleNotificationUrl": receiver.url("/documented-lifecycle"),
            "expirationDateTime": in_minutes(presence_sandbox, 59),
            "encryptionCertificate": certificate.base64_der,
        }
        token = tokens.user(upn)
        created = graph.post("subscriptions", headers=bearer(token), json=body)
        assert created.status_code == example["status"], created.text
        graph.delete(f"subscriptions/{created.json()['id']}", headers=bearer(token))


def test_changes_reach_subscribers_encrypted_once_each(
    presence_sandbox: RunningSandbox,
    graph: httpx.Client,
    tokens: Tokens,
    receiver: WebhookReceiver,
    certificate: SubscriberCertificate,
) -> None:
    lena, marcus = user_id(presence_sandbox, LENA), user_id(presence_sandbox, MARCUS)
    # Start from Lena's Teams client alone: no preferred presence, no status message.
    app = bearer(tokens.app())
    cleared = graph.post(f"users/{lena}/presence/clearUserPreferredPresence", headers=app)
    assert cleared.status_code == 200, cleared.text
    no_message = {"statusMessage": {"message": {"content": "", "contentType": "text"}}}
    emptied = graph.post(f"users/{lena}/presence/setStatusMessage", headers=app, json=no_message)
    assert emptied.status_code == 200, emptied.text
    force(presence_sandbox, lena, "Available", "Available")
    megan = tokens.user(MEGAN)
    body = subscription_body(
        presence_sandbox, receiver, certificate, bulk(lena, marcus), path="/wall"
    )
    created = graph.post("subscriptions", headers=bearer(megan), json=body)
    assert created.status_code == 201, created.text
    subscription_id = created.json()["id"]
    try:
        # A colleague joins a call: the Teams client reports it, the subscriber hears of it.
        force(presence_sandbox, lena, "Busy", "InACall")
        notes = receiver.wait_for(
            lambda: receiver.notifications("/wall"), what="a presence notification"
        )
        note = notes[0]
        assert note["subscriptionId"] == subscription_id
        assert note["resource"] == f"communications/presences/{lena}"
        assert note["resourceData"] == {
            "@odata.type": "#microsoft.graph.presence",
            "@odata.id": f"users/{lena}/presence",
            "id": lena,
        }
        for example in ("notification-presence-basic", "notification-presence-rich"):
            documented = load_example(f"{example}.payload.json")["request"]["value"][0]
            assert shape_differences(note, documented) == []
        post = receiver.posts_to("/wall")[0].body
        assert isinstance(post["validationTokens"], list) and post["validationTokens"]
        content = decrypt_notification_content(note["encryptedContent"], certificate.private_key)
        decrypted = load_example("notification-presence-decrypted.payload.json")["response"]
        assert shape_differences(content, decrypted) == []
        assert (content["id"], content["availability"], content["activity"]) == (
            lena,
            "Busy",
            "InACall",
        )
        assert content["@odata.type"] == "#microsoft.graph.presence"
        assert isinstance(content["sequenceNumber"], str)

        # The same state again is no change, so nothing more is sent.
        force(presence_sandbox, lena, "Busy", "InACall")
        # A status message set through Graph is a change.
        message = {"statusMessage": {"message": {"content": "On a customer call"}}}
        set_message = graph.post(
            f"users/{lena}/presence/setStatusMessage", headers=bearer(tokens.app()), json=message
        )
        assert set_message.status_code == 200
        receiver.wait_for(lambda: len(receiver.notifications("/wall")) >= 2, what="the second")
        time.sleep(0.5)  # room for a duplicate to arrive, if one were sent
        notes = receiver.notifications("/wall")
        assert len(notes) == 2
        second = decrypt_notification_content(notes[1]["encryptedContent"], certificate.private_key)
        assert second["statusMessage"] == {
            "message": {"content": "On a customer call", "contentType": "text"}
        }
        assert second["sequenceNumber"] > content["sequenceNumber"]
    finally:
        graph.delete(f"subscriptions/{subscription_id}", headers=bearer(megan))


def test_presence_subscriptions_get_reauthorization_challenges_but_no_other_lifecycle_events(
    presence_sandbox: RunningSandbox,
    graph: httpx.Client,
    tokens: Tokens,
    receiver: WebhookReceiver,
    certificate: SubscriberCertificate,
) -> None:
    # change-notifications-lifecycle-events: reauthorizationRequired reaches every resource;
    # subscriptionRemoved and missed only Outlook (and Teams chatMessage) subscriptions.
    samuel = user_id(presence_sandbox, SAMUEL)
    force(presence_sandbox, samuel, "Available", "Available")
    body = subscription_body(
        presence_sandbox,
        receiver,
        certificate,
        f"communications/presences/{samuel}",
        path="/samuel",
        minutes=10,  # inside the last 15 minutes: challenged at once
        lifecycleNotificationUrl=receiver.url("/samuel-lifecycle"),
    )
    created = graph.post("subscriptions", headers=bearer(tokens.user(PRIYA)), json=body)
    assert created.status_code == 201, created.text
    subscription_id = created.json()["id"]

    def log() -> dict[str, Any]:
        answer: dict[str, Any] = presence_sandbox.control(
            "GET", f"/deliveries?subscription_id={subscription_id}"
        ).json()
        return answer

    def events() -> list[str]:
        return [item["lifecycleEvent"] for item in receiver.notifications("/samuel-lifecycle")]

    try:
        receiver.wait_for(lambda: "reauthorizationRequired" in events(), what="a challenge")

        # A change whose delivery is lost: no missed notification follows.
        presence_sandbox.control(
            "POST", "/delivery-faults", json={"kind": "drop", "count": 1, "url": "*/samuel"}
        )
        force(presence_sandbox, samuel, "Away", "Away")
        receiver.wait_for(
            lambda: any(entry["outcome"] == "dropped" for entry in log()["value"]),
            what="the dropped delivery",
        )
        # Removed as Graph might remove it: it vanishes without a subscriptionRemoved.
        removed = presence_sandbox.control("DELETE", f"/subscriptions/{subscription_id}")
        assert removed.status_code == 204
        # Lifecycle notifications are queued as their cause happens: an empty queue means
        # the receiver has every one there is.
        receiver.wait_for(lambda: log()["pending"] == 0, what="the queue to empty")
        assert set(events()) == {"reauthorizationRequired"}
        assert receiver.posts_to("/samuel") == []
    finally:
        presence_sandbox.control("DELETE", f"/subscriptions/{subscription_id}?notify=false")
