"""``/subscriptions`` against the running sandbox: creation rules, ownership, renewal, removal."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.sandbox.conftest import app_token, bearer
from tests.support.examples import example_names, load_example, shape_differences
from tests.support.sandbox import RunningSandbox
from tests.support.webhook_receiver import (
    SubscriberCertificate,
    WebhookReceiver,
    make_subscriber_certificate,
)

DANIEL = "daniel.okafor@lumenhall.example"


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as running:
        yield running


@pytest.fixture(scope="module")
def certificate() -> SubscriberCertificate:
    return make_subscriber_certificate()


@pytest.fixture(scope="module")
def portal_token(sandbox: RunningSandbox) -> Iterator[str]:
    token = app_token(sandbox)
    yield token
    # The shared sandbox outlives this module's receiver: leave no subscription behind.
    context = ssl.create_default_context(cafile=sandbox.ca_bundle)
    with httpx.Client(
        base_url=sandbox.graph_base_url + "/", verify=context, trust_env=False
    ) as graph:
        fresh = bearer(app_token(sandbox))
        for item in graph.get("subscriptions", headers=fresh).json()["value"]:
            graph.delete(f"subscriptions/{item['id']}", headers=fresh)


def sandbox_now(sandbox: RunningSandbox) -> datetime:
    """Return the sandbox clock's time (other tests may have moved it)."""
    return datetime.fromisoformat(sandbox.control("GET", "/clock").json()["now"])


def expiry(sandbox: RunningSandbox, minutes: float) -> str:
    """Return an expirationDateTime ``minutes`` after the sandbox's now."""
    return (sandbox_now(sandbox) + timedelta(minutes=minutes)).isoformat()


def subscription_body(
    sandbox: RunningSandbox, receiver: WebhookReceiver, path: str, **overrides: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "changeType": "updated",
        "notificationUrl": receiver.url(path),
        "resource": "users",
        "expirationDateTime": expiry(sandbox, 60),
        "clientState": "lumenhall-portal",
    }
    body.update(overrides)
    return {name: value for name, value in body.items() if value is not None}


def create(graph: httpx.Client, token: str, body: dict[str, Any]) -> httpx.Response:
    return graph.post("subscriptions", headers=bearer(token), json=body)


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    error = response.json()["error"]
    return response.status_code, error["code"], error["message"]


def test_create_validates_the_endpoint_and_returns_the_subscription(
    sandbox: RunningSandbox, graph: httpx.Client, portal_token: str, receiver: WebhookReceiver
) -> None:
    body = subscription_body(sandbox, receiver, "/create-ok", latestSupportedTlsVersion="v1_2")

    response = create(graph, portal_token, body)

    assert response.status_code == 201, response.text
    created = response.json()
    assert created["resource"] == "users"
    assert created["clientState"] == "lumenhall-portal"
    assert created["applicationId"] == sandbox.app("Comms Portal")["client_id"]
    documented = load_example("subscriptions-create.request.json")["response"]
    assert shape_differences(created, documented) == []
    assert [path for path, _ in receiver.validations].count("/create-ok") == 1
    fetched = graph.get(f"subscriptions/{created['id']}", headers=bearer(portal_token))
    assert fetched.status_code == 200
    assert fetched.json()["expirationDateTime"] == created["expirationDateTime"]


def test_validation_token_is_echoed_url_decoded(
    sandbox: RunningSandbox, graph: httpx.Client, portal_token: str, receiver: WebhookReceiver
) -> None:
    create(graph, portal_token, subscription_body(sandbox, receiver, "/token-shape"))

    token = next(token for path, token in receiver.validations if path == "/token-shape")
    assert token.startswith("Validation: Testing client application reachability")


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("403", "HTTP status code is 'Forbidden'"),
        ("500", "HTTP status code is 'InternalServerError'"),
        ("wrong-body", "must exactly match validationToken"),
        ("json", "Content-Type text/plain"),
    ],
)
def test_failed_handshake_refuses_the_subscription(
    sandbox: RunningSandbox,
    graph: httpx.Client,
    portal_token: str,
    receiver: WebhookReceiver,
    mode: str,
    reason: str,
) -> None:
    path = f"/handshake-{mode}"
    receiver.behave(path, validation=mode)

    response = create(graph, portal_token, subscription_body(sandbox, receiver, path))

    status, code, message = error_of(response)
    assert (status, code) == (400, "ValidationError")
    assert message.startswith("Subscription validation request failed.")
    assert reason in message
    assert not _listed(graph, portal_token, receiver.url(path))


def test_failed_lifecycle_handshake_refuses_the_subscription(
    sandbox: RunningSandbox, graph: httpx.Client, portal_token: str, receiver: WebhookReceiver
) -> None:
    receiver.behave("/lifecycle-broken", validation="404")
    body = subscription_body(
        sandbox,
        receiver,
        "/lifecycle-fine",
        lifecycleNotificationUrl=receiver.url("/lifecycle-broken"),
    )

    status, code, _ = error_of(create(graph, portal_token, body))

    assert (status, code) == (400, "ValidationError")
    assert not _listed(graph, portal_token, receiver.url("/lifecycle-fine"))


def test_slow_handshake_times_out(
    sandbox: RunningSandbox, graph: httpx.Client, portal_token: str, receiver: WebhookReceiver
) -> None:
    receiver.behave("/handshake-slow", validation="slow")
    sandbox.control("POST", "/delivery-settings", json={"validationTimeout": 0.5})
    try:
        response = create(
            graph, portal_token, subscription_body(sandbox, receiver, "/handshake-slow")
        )
    finally:
        sandbox.control("POST", "/delivery-settings", json={"validationTimeout": 10})

    assert error_of(response) == (
        400,
        "InvalidRequest",
        "Subscription validation request timed out.",
    )


@pytest.mark.parametrize(
    ("overrides", "status", "fragment"),
    [
        ({"resource": "me/mailFolders('Inbox')/messages"}, 400, "is not supported for change"),
        ({"resource": "users/not-a-person"}, 404, "does not exist"),
        ({"changeType": "created"}, 400, "not supported for users"),
        ({"changeType": "updated,renamed"}, 400, "Invalid changeType"),
        ({"changeType": None}, 400, "changeType is a required property"),
        ({"expirationDateTime": None}, 400, "expirationDateTime is a required property"),
        ({"expirationDateTime": "tomorrow"}, 400, "Invalid expirationDateTime"),
        ({"clientState": "x" * 129}, 400, "maximum length is 128"),
        ({"latestSupportedTlsVersion": "v2_0"}, 400, "latestSupportedTlsVersion"),
        ({"notificationUrl": "http://webhook.contoso.com/api"}, 400, "https scheme"),
        ({"notificationUrl": "https://webhook.contoso.com/api"}, 400, "only to loopback"),
        ({"notificationUrl": "ftp://127.0.0.1/api"}, 400, "absolute https URL"),
        ({"lifecycleNotificationUrl": "http://10.1.2.3/x"}, 400, "lifecycleNotificationUrl"),
        ({"includeResourceData": True}, 400, "encryptionCertificate is required"),
        ({"includeResourceData": "yes"}, 400, "must be a boolean"),
        ({"expiresSoon": True}, 400, "does not exist on type 'microsoft.graph.subscription'"),
        ({"@odata.type": "#microsoft.graph.user"}, 400, "is not microsoft.graph.subscription"),
    ],
)
def test_bad_subscription_requests_get_graphs_errors(
    sandbox: RunningSandbox,
    graph: httpx.Client,
    portal_token: str,
    receiver: WebhookReceiver,
    overrides: dict[str, Any],
    status: int,
    fragment: str,
) -> None:
    body = subscription_body(sandbox, receiver, "/bad-input", **overrides)
    if "changeType" in overrides and overrides["changeType"] is None:
        body.pop("changeType", None)

    response = create(graph, portal_token, body)

    assert response.status_code == status, response.text
    assert fragment in response.json()["error"]["message"]
    assert graph.get("users?$top=1", headers=bearer(portal_token)).status_code == 200


def test_expiration_beyond_the_resource_maximum_is_refused(
    sandbox: RunningSandbox, graph: httpx.Client, portal_token: str, receiver: WebhookReceiver
) -> None:
    body = subscription_body(
        sandbox, receiver, "/too-long", expirationDateTime=expiry(sandbox, 41760 + 5)
    )

    assert error_of(create(graph, portal_token, body)) == (
        400,
        "InvalidRequest",
        "Subscription expiration can only be 41760 minutes in the future.",
    )


def test_expiration_in_the_past_is_refused(
    sandbox: RunningSandbox, graph: httpx.Client, portal_token: str, receiver: WebhookReceiver
) -> None:
    body = subscription_body(sandbox, receiver, "/past", expirationDateTime=expiry(sandbox, -1))

    status, _, message = error_of(create(graph, portal_token, body))

    assert status == 400
    assert "must be in the future" in message


def test_client_state_of_128_characters_is_accepted(
    sandbox: RunningSandbox, graph: httpx.Client, portal_token: str, receiver: WebhookReceiver
) -> None:
    body = subscription_body(sandbox, receiver, "/long-state", clientState="s" * 128)

    assert create(graph, portal_token, body).status_code == 201


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"encryptionCertificateId": None}, "encryptionCertificateId is required"),
        ({"encryptionCertificate": "bm90IGEgY2VydGlmaWNhdGU="}, "X.509"),
        ({"encryptionCertificateId": "i" * 129}, "at most 128 characters"),
    ],
)
def test_rich_subscription_needs_a_usable_certificate(
    sandbox: RunningSandbox,
    graph: httpx.Client,
    portal_token: str,
    receiver: WebhookReceiver,
    certificate: SubscriberCertificate,
    overrides: dict[str, Any],
    fragment: str,
) -> None:
    rich = {
        "includeResourceData": True,
        "encryptionCertificate": certificate.base64_der,
        "encryptionCertificateId": "portal-cert",
    }
    body = subscription_body(sandbox, receiver, "/rich-bad", **{**rich, **overrides})

    status, _, message = error_of(create(graph, portal_token, body))

    assert status == 400
    assert fragment in message


def test_duplicate_subscription_conflicts(
    sandbox: RunningSandbox, graph: httpx.Client, portal_token: str, receiver: WebhookReceiver
) -> None:
    body = subscription_body(sandbox, receiver, "/duplicate", changeType="updated,deleted")
    first = create(graph, portal_token, body)
    assert first.status_code == 201

    again = create(graph, portal_token, {**body, "changeType": "deleted, updated"})

    assert error_of(again) == (
        409,
        "Conflict",
        f"Subscription Id {first.json()['id']} already exists for the requested combination.",
    )


def test_app_without_user_read_all_is_denied(
    sandbox: RunningSandbox, graph: httpx.Client, receiver: WebhookReceiver
) -> None:
    limited = app_token(sandbox, "Limited Reader")

    status, code, _ = error_of(
        create(graph, limited, subscription_body(sandbox, receiver, "/limited"))
    )

    assert (status, code) == (403, "Authorization_RequestDenied")


def test_listing_shows_only_the_callers_subscriptions_without_client_state(
    sandbox: RunningSandbox, graph: httpx.Client, portal_token: str, receiver: WebhookReceiver
) -> None:
    created = create(graph, portal_token, subscription_body(sandbox, receiver, "/listed")).json()
    limited = app_token(sandbox, "Limited Reader")

    mine = graph.get("subscriptions", headers=bearer(portal_token)).json()
    theirs = graph.get("subscriptions", headers=bearer(limited)).json()

    listed = next(item for item in mine["value"] if item["id"] == created["id"])
    assert listed["clientState"] is None
    assert mine["@odata.context"].endswith("/$metadata#subscriptions")
    assert all(item["id"] != created["id"] for item in theirs["value"])
    other = graph.get(f"subscriptions/{created['id']}", headers=bearer(limited))
    assert other.status_code == 404


def test_renew_reauthorize_and_delete(
    sandbox: RunningSandbox, graph: httpx.Client, portal_token: str, receiver: WebhookReceiver
) -> None:
    created = create(graph, portal_token, subscription_body(sandbox, receiver, "/renewed")).json()
    url = f"subscriptions/{created['id']}"
    later = expiry(sandbox, 600)

    renewed = graph.patch(url, headers=bearer(portal_token), json={"expirationDateTime": later})
    reauthorized = graph.post(f"{url}/reauthorize", headers=bearer(portal_token))
    refused = graph.patch(
        url,
        headers=bearer(portal_token),
        json={"lifecycleNotificationUrl": receiver.url("/late-lifecycle")},
    )
    deleted = graph.delete(url, headers=bearer(portal_token))

    assert renewed.status_code == 200
    assert renewed.json()["expirationDateTime"] > created["expirationDateTime"]
    documented = load_example("subscriptions-renew.request.json")["response"]
    assert shape_differences(renewed.json(), documented) == []
    assert reauthorized.status_code == 204
    assert refused.status_code == 400
    assert "cannot be changed" in refused.json()["error"]["message"]
    assert deleted.status_code == 204
    assert graph.get(url, headers=bearer(portal_token)).status_code == 404
    assert graph.delete(url, headers=bearer(portal_token)).status_code == 404


def _assert_throttled(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert 1 <= float(response.headers["Retry-After"]) <= 20
    documented = load_example("throttling-429.response.json")["response"]
    assert shape_differences(response.json(), documented) == []
    assert response.json()["error"]["code"] == "TooManyRequests"


def test_subscription_writes_are_throttled_while_reads_go_on(
    sandbox: RunningSandbox, graph: httpx.Client, portal_token: str, receiver: WebhookReceiver
) -> None:
    limits = sandbox.control("GET", "/throttling").json()["limits"]
    assert limits["subscriptions-write"]["requests"] == 1000
    assert limits["subscriptions"]["requests"] == 5000
    few = {"bucket": "subscriptions-write", "requests": 2, "window_seconds": 20}
    assert sandbox.control("POST", "/throttling", json=few).status_code == 200
    try:
        created = create(graph, portal_token, subscription_body(sandbox, receiver, "/writes"))
        assert created.status_code == 201, created.text
        url = f"subscriptions/{created.json()['id']}"
        renewal = {"expirationDateTime": expiry(sandbox, 90)}
        assert graph.patch(url, headers=bearer(portal_token), json=renewal).status_code == 200

        refused_delete = graph.delete(url, headers=bearer(portal_token))
        refused_reauthorize = graph.post(f"{url}/reauthorize", headers=bearer(portal_token))
        too_many = subscription_body(sandbox, receiver, "/writes-too-many")
        refused_create = create(graph, portal_token, too_many)

        for refused in (refused_delete, refused_reauthorize, refused_create):
            _assert_throttled(refused)
        # The refused create never reached its endpoint, and nothing was created.
        assert all(path != "/writes-too-many" for path, _ in receiver.validations)
        assert not _listed(graph, portal_token, too_many["notificationUrl"])
        # Reads count against the any-verb limit only.
        assert graph.get(url, headers=bearer(portal_token)).status_code == 200

        sandbox.control("POST", "/clock", json={"advance_seconds": 21})
        assert graph.delete(url, headers=bearer(portal_token)).status_code == 204
    finally:
        sandbox.control("DELETE", "/throttling")


def test_every_subscription_request_counts_against_the_any_verb_limit(
    sandbox: RunningSandbox, graph: httpx.Client, portal_token: str, receiver: WebhookReceiver
) -> None:
    few = {"bucket": "subscriptions", "requests": 2, "window_seconds": 20}
    assert sandbox.control("POST", "/throttling", json=few).status_code == 200
    try:
        listings = [graph.get("subscriptions", headers=bearer(portal_token)) for _ in range(3)]
        assert [answer.status_code for answer in listings[:2]] == [200, 200]
        _assert_throttled(listings[2])
        _assert_throttled(
            create(graph, portal_token, subscription_body(sandbox, receiver, "/any-verb"))
        )
        # Other areas keep their own budgets.
        assert graph.get("users?$top=1", headers=bearer(portal_token)).status_code == 200
    finally:
        sandbox.control("DELETE", "/throttling")


def test_renewal_beyond_the_maximum_is_refused_and_keeps_the_old_expiry(
    sandbox: RunningSandbox, graph: httpx.Client, portal_token: str, receiver: WebhookReceiver
) -> None:
    created = create(graph, portal_token, subscription_body(sandbox, receiver, "/renew-far")).json()
    url = f"subscriptions/{created['id']}"

    response = graph.patch(
        url, headers=bearer(portal_token), json={"expirationDateTime": expiry(sandbox, 50_000)}
    )

    assert response.status_code == 400
    current = graph.get(url, headers=bearer(portal_token)).json()
    assert current["expirationDateTime"] == created["expirationDateTime"]


def test_malformed_json_and_wrong_content_type_are_refused(
    graph: httpx.Client, portal_token: str
) -> None:
    broken = graph.post(
        "subscriptions",
        headers={**bearer(portal_token), "Content-Type": "application/json"},
        content=b"{not json",
    )
    text = graph.post(
        "subscriptions",
        headers={**bearer(portal_token), "Content-Type": "text/plain"},
        content=b"hello",
    )

    assert broken.status_code == 400
    assert text.status_code == 415


@pytest.mark.parametrize("name", example_names("subscriptions-create"))
def test_documented_create_requests_are_accepted_on_a_sandbox_resource(
    sandbox: RunningSandbox,
    graph: httpx.Client,
    portal_token: str,
    receiver: WebhookReceiver,
    certificate: SubscriberCertificate,
    name: str,
) -> None:
    documented = load_example(name)["request"]
    # Same property names; values the sandbox can serve (its own resource, receiver, times).
    body = dict(documented)
    body.update(
        resource="users",
        changeType="updated",
        notificationUrl=receiver.url(f"/example-{name}"),
        expirationDateTime=expiry(sandbox, 30),
    )
    if "lifecycleNotificationUrl" in body:
        body["lifecycleNotificationUrl"] = receiver.url(f"/example-lifecycle-{name}")
    if "encryptionCertificate" in body:
        body["encryptionCertificate"] = certificate.base64_der

    response = create(graph, portal_token, body)

    assert response.status_code == 201, response.text
    answer = response.json()
    assert set(documented) - {"encryptionCertificate"} <= set(answer)
    if load_example(name).get("response"):
        assert shape_differences(answer, load_example(name)["response"]) == []


def _listed(graph: httpx.Client, token: str, notification_url: str) -> bool:
    listing = graph.get("subscriptions", headers=bearer(token)).json()["value"]
    return any(item["notificationUrl"] == notification_url for item in listing)


def test_renewal_rotates_the_encryption_certificate_only_as_a_pair(
    sandbox: RunningSandbox,
    graph: httpx.Client,
    portal_token: str,
    receiver: WebhookReceiver,
    certificate: SubscriberCertificate,
) -> None:
    rich = {
        "includeResourceData": True,
        "encryptionCertificate": certificate.base64_der,
        "encryptionCertificateId": "portal-cert-1",
    }
    body = subscription_body(sandbox, receiver, "/rotated", **rich)
    created = create(graph, portal_token, body).json()
    url = f"subscriptions/{created['id']}"
    newer = make_subscriber_certificate()

    half = graph.patch(
        url, headers=bearer(portal_token), json={"encryptionCertificateId": "portal-cert-2"}
    )
    garbage = graph.patch(
        url,
        headers=bearer(portal_token),
        json={"encryptionCertificate": "bm90IGEgY2VydA==", "encryptionCertificateId": "x"},
    )
    rotated = graph.patch(
        url,
        headers=bearer(portal_token),
        json={
            "expirationDateTime": expiry(sandbox, 600),
            "encryptionCertificate": newer.base64_der,
            "encryptionCertificateId": "portal-cert-2",
        },
    )

    assert half.status_code == 400
    assert "together" in half.json()["error"]["message"]
    assert garbage.status_code == 400
    assert rotated.status_code == 200
    assert rotated.json()["encryptionCertificateId"] == "portal-cert-2"
