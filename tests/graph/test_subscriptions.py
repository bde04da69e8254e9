"""Subscriptions: documented bodies out, typed subscriptions back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from comms_portal.graph import (
    Conflict,
    GraphClient,
    InvalidResponse,
    ServiceUnavailable,
    generate_encryption_certificate,
)
from comms_portal.graph.subscriptions import (
    create_subscription,
    delete_subscription,
    get_subscription,
    list_subscriptions,
    reauthorize_subscription,
    renew_subscription,
)
from tests.graph.fakegraph import FakeGraph, json_response, load_example

CREATED = load_example("subscriptions-create.request")
RENEWED = load_example("subscriptions-renew.request")
SUBSCRIPTION_ID = CREATED["response"]["id"]


def test_create_sends_the_documented_body_and_types_the_answer(
    graph: FakeGraph, client: GraphClient
) -> None:
    graph.queue("POST", "/v1.0/subscriptions", json_response(201, CREATED["response"]))

    subscription = create_subscription(
        client,
        resource="me/mailFolders('Inbox')/messages",
        change_type="created",
        notification_url="https://webhook.azurewebsites.net/api/send/myNotifyClient",
        expiration=datetime(2016, 11, 20, 18, 23, 45, 935691, tzinfo=UTC),
        client_state="secretClientValue",
    )

    sent = graph.seen[0].json()
    expected = {k: v for k, v in CREATED["request"].items() if k != "latestSupportedTlsVersion"}
    assert {**sent, "expirationDateTime": sent["expirationDateTime"][:26]} == {
        **expected,
        "expirationDateTime": expected["expirationDateTime"][:26],
    }
    assert subscription.id == SUBSCRIPTION_ID
    assert subscription.expiration_date_time == datetime(
        2016, 11, 20, 18, 23, 45, 935691, tzinfo=UTC
    )
    assert subscription.application_id == "24d3b144-21ae-4080-943f-7067b395b913"


def test_presence_subscription_carries_the_encryption_certificate(
    graph: FakeGraph, client: GraphClient
) -> None:
    example = load_example("subscriptions-create-presence.request")
    certificate = generate_encryption_certificate()
    expires = datetime(2023, 9, 14, 10, 0, tzinfo=UTC)
    graph.queue(
        "POST",
        "/v1.0/subscriptions",
        json_response(201, {**example["request"], "id": "presence-sub-1"}),
    )

    subscription = create_subscription(
        client,
        resource="communications/presences/{id}",
        change_type="updated",
        notification_url="https://webhook.contoso.com/api",
        lifecycle_notification_url="https://webhook.contoso.com/api",
        expiration=expires,
        client_state="{secret client state}",
        include_resource_data=True,
        encryption_certificate=certificate.certificate_base64,
        encryption_certificate_id="{certificate id}",
    )

    sent = graph.seen[0].json()
    assert set(sent) == set(example["request"])
    assert sent["encryptionCertificate"] == certificate.certificate_base64
    assert sent["expirationDateTime"] == "2023-09-14T10:00:00.000000Z"
    assert subscription.include_resource_data is True


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"include_resource_data": True}, "encryption_certificate"),
        ({"client_state": "x" * 129}, "client_state"),
        ({"client_state": ""}, "client_state"),
        ({"expiration": datetime(2030, 1, 1)}, "timezone-aware"),
        ({"resource": " "}, "required"),
    ],
    ids=["rich-without-certificate", "long-state", "empty-state", "naive-time", "no-resource"],
)
def test_create_refuses_bad_input_before_sending(
    graph: FakeGraph, client: GraphClient, changes: dict[str, object], message: str
) -> None:
    arguments: dict[str, object] = {
        "resource": "communications/presences/{id}",
        "change_type": "updated",
        "notification_url": "https://webhook.contoso.com/api",
        "expiration": datetime(2030, 1, 1, tzinfo=UTC),
        "client_state": "state",
        **changes,
    }
    with pytest.raises(ValueError, match=message):
        create_subscription(client, **arguments)  # type: ignore[arg-type]
    assert graph.seen == []


def test_a_duplicate_subscription_is_a_conflict(graph: FakeGraph, client: GraphClient) -> None:
    graph.queue(
        "POST",
        "/v1.0/subscriptions",
        json_response(409, {"error": {"code": "ExtensionError", "message": "Duplicate."}}),
    )
    with pytest.raises(Conflict):
        create_subscription(
            client,
            resource="/communications/callRecords",
            change_type="created",
            notification_url="https://webhook.contoso.com/api",
            expiration=datetime.now(UTC) + timedelta(days=2),
            client_state="secretClientState",
        )


def test_create_is_not_resent_after_a_gateway_timeout(
    graph: FakeGraph, client: GraphClient
) -> None:
    graph.queue("POST", "/v1.0/subscriptions", json_response(504, None))
    with pytest.raises(ServiceUnavailable):
        create_subscription(
            client,
            resource="/communications/callRecords",
            change_type="created",
            notification_url="https://webhook.contoso.com/api",
            expiration=datetime(2030, 1, 1, tzinfo=UTC),
            client_state="secretClientState",
        )
    assert len(graph.seen) == 1


def test_renew_patches_the_expiration(graph: FakeGraph, client: GraphClient) -> None:
    graph.queue(
        "PATCH", f"/v1.0/subscriptions/{SUBSCRIPTION_ID}", json_response(200, RENEWED["response"])
    )

    renewed = renew_subscription(
        client,
        SUBSCRIPTION_ID,
        expiration=datetime(2016, 11, 22, 18, 23, 45, 935691, tzinfo=UTC),
    )

    assert graph.seen[0].json() == {"expirationDateTime": "2016-11-22T18:23:45.935691Z"}
    assert renewed.change_type == "created,updated"


def test_renew_can_switch_the_certificate(graph: FakeGraph, client: GraphClient) -> None:
    graph.queue(
        "PATCH", f"/v1.0/subscriptions/{SUBSCRIPTION_ID}", json_response(200, RENEWED["response"])
    )

    renew_subscription(
        client,
        SUBSCRIPTION_ID,
        expiration=datetime(2030, 1, 1, tzinfo=UTC),
        encryption_certificate="TUlJQw==",
        encryption_certificate_id="portal-2030",
    )

    assert graph.seen[0].json()["encryptionCertificateId"] == "portal-2030"
    with pytest.raises(ValueError, match="both"):
        renew_subscription(
            client,
            SUBSCRIPTION_ID,
            expiration=datetime(2030, 1, 1, tzinfo=UTC),
            encryption_certificate="TUlJQw==",
        )


def test_get_list_reauthorize_and_delete(graph: FakeGraph, client: GraphClient) -> None:
    path = f"/v1.0/subscriptions/{SUBSCRIPTION_ID}"
    graph.queue("GET", path, json_response(200, CREATED["response"]))
    graph.queue("GET", "/v1.0/subscriptions", json_response(200, {"value": [RENEWED["response"]]}))
    graph.queue("POST", f"{path}/reauthorize", json_response(204))
    graph.queue("DELETE", path, json_response(204))

    assert get_subscription(client, SUBSCRIPTION_ID).client_state == "secretClientValue"
    assert [s.resource for s in list_subscriptions(client)] == ["me/messages"]
    reauthorize_subscription(client, SUBSCRIPTION_ID)
    delete_subscription(client, SUBSCRIPTION_ID)

    assert [(seen.method, seen.url.path) for seen in graph.seen] == [
        ("GET", path),
        ("GET", "/v1.0/subscriptions"),
        ("POST", f"{path}/reauthorize"),
        ("DELETE", path),
    ]
    assert graph.seen[2].body == b""


def test_a_subscription_without_expiration_is_invalid(
    graph: FakeGraph, client: GraphClient
) -> None:
    broken = {k: v for k, v in CREATED["response"].items() if k != "expirationDateTime"}
    graph.queue("GET", f"/v1.0/subscriptions/{SUBSCRIPTION_ID}", json_response(200, broken))
    with pytest.raises(InvalidResponse, match="expirationDateTime"):
        get_subscription(client, SUBSCRIPTION_ID)
