"""Change-notification delivery from a private sandbox to a receiver in the test.

These tests move the sandbox clock (retries for hours, expiry, reauthorization), so they run
against their own sandbox and leave the shared one alone.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from msgraph import GraphServiceClient
from msgraph.generated.models.subscription import Subscription
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph.graph_request_adapter import options as graph_options
from msgraph_core import GraphClientFactory

from tests.sandbox.conftest import app_token, bearer, user_token_result
from tests.support.sandbox import RunningSandbox, start_sandbox
from tests.support.webhook_receiver import (
    SubscriberCertificate,
    WebhookReceiver,
    decrypt_notification_content,
    make_subscriber_certificate,
)

GRAPH_PUBLISHER = "0bf30f3b-4a52-48df-9a82-234910c4a086"
DANIEL = "daniel.okafor@lumenhall.example"
PRIYA = "priya.natarajan@lumenhall.example"


@pytest.fixture(scope="module")
def notifying(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """A sandbox of our own, since these tests move its clock by hours."""
    running = start_sandbox(Path(tmp_path_factory.mktemp("notifying-sandbox")))
    # Retries start after 0.2 s instead of 1 s, so a failing endpoint costs little time.
    running.control("POST", "/delivery-settings", json={"retryInitialDelay": 0.2})
    yield running
    running.stop()


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as running:
        yield running


@pytest.fixture(scope="module")
def certificate() -> SubscriberCertificate:
    return make_subscriber_certificate()


@pytest.fixture
def graph(notifying: RunningSandbox) -> Iterator[httpx.Client]:
    context = ssl.create_default_context(cafile=notifying.ca_bundle)
    with httpx.Client(
        base_url=notifying.graph_base_url + "/", verify=context, trust_env=False
    ) as client:
        yield client


def sandbox_now(sandbox: RunningSandbox) -> datetime:
    return datetime.fromisoformat(sandbox.control("GET", "/clock").json()["now"])


def expiry(sandbox: RunningSandbox, minutes: float) -> str:
    return (sandbox_now(sandbox) + timedelta(minutes=minutes)).isoformat()


def advance(sandbox: RunningSandbox, *, minutes: float) -> None:
    assert sandbox.control("POST", "/clock", json={"advance_seconds": minutes * 60}).is_success


def subscribe(
    sandbox: RunningSandbox,
    graph: httpx.Client,
    receiver: WebhookReceiver,
    name: str,
    *,
    resource: str = "users",
    minutes: float = 2 * 24 * 60,
    lifecycle: bool = True,
    token: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Create a subscription delivering to ``/{name}`` (and ``/{name}-lifecycle``)."""
    body: dict[str, Any] = {
        "changeType": "updated,deleted",
        "notificationUrl": receiver.url(f"/{name}"),
        "resource": resource,
        "expirationDateTime": expiry(sandbox, minutes),
        "clientState": f"state-{name}",
        **extra,
    }
    if lifecycle:
        body["lifecycleNotificationUrl"] = receiver.url(f"/{name}-lifecycle")
    response = graph.post("subscriptions", headers=bearer(token or app_token(sandbox)), json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def notify(sandbox: RunningSandbox, resource: str, change_type: str = "updated") -> int:
    response = sandbox.control(
        "POST", "/notify", json={"resource": resource, "changeType": change_type}
    )
    assert response.status_code == 202, response.text
    queued: int = response.json()["queued"]
    return queued


def deliveries(sandbox: RunningSandbox, subscription_id: str) -> list[dict[str, Any]]:
    response = sandbox.control("GET", f"/deliveries?subscription_id={subscription_id}")
    entries: list[dict[str, Any]] = response.json()["value"]
    return entries


def lifecycle_events(receiver: WebhookReceiver, name: str, subscription_id: str) -> list[str]:
    return [
        item["lifecycleEvent"]
        for item in receiver.notifications(f"/{name}-lifecycle")
        if item["subscriptionId"] == subscription_id
    ]


class SandboxTokens(AccessTokenProvider):
    """Hand the SDK a fresh app-only token from the sandbox for each request."""

    def __init__(self, sandbox: RunningSandbox) -> None:
        self.sandbox = sandbox

    async def get_authorization_token(
        self, uri: str, additional_authentication_context: dict[str, Any] | None = None
    ) -> str:
        return await asyncio.to_thread(app_token, self.sandbox)

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return AllowedHostsValidator(["127.0.0.1"])


def test_sdk_subscription_receives_a_notification_it_can_decrypt_and_verify(
    notifying: RunningSandbox, receiver: WebhookReceiver, certificate: SubscriberCertificate
) -> None:
    daniel = notifying.user(DANIEL)
    portal_app_id = notifying.app("Comms Portal")["client_id"]

    async def scenario() -> tuple[Subscription, Subscription, dict[str, Any]]:
        context = ssl.create_default_context(cafile=notifying.ca_bundle)
        http = GraphClientFactory.create_with_default_middleware(
            client=httpx.AsyncClient(verify=context, trust_env=False), options=graph_options
        )
        adapter = GraphRequestAdapter(
            BaseBearerTokenAuthenticationProvider(SandboxTokens(notifying)), client=http
        )
        adapter.base_url = notifying.graph_base_url
        client = GraphServiceClient(request_adapter=adapter)
        try:
            created = await client.subscriptions.post(
                Subscription(
                    change_type="updated",
                    notification_url=receiver.url("/sdk"),
                    resource=f"users/{daniel['id']}",
                    expiration_date_time=sandbox_now(notifying) + timedelta(hours=1),
                    client_state="sdk-secret",
                    include_resource_data=True,
                    encryption_certificate=certificate.base64_der,
                    encryption_certificate_id="sdk-cert",
                )
            )
            assert created is not None and created.id is not None
            renewed = await client.subscriptions.by_subscription_id(created.id).patch(
                Subscription(expiration_date_time=sandbox_now(notifying) + timedelta(hours=3))
            )
            assert renewed is not None
            changed = await asyncio.to_thread(
                notifying.control, "POST", f"/users/{daniel['id']}", {"jobTitle": "Head of Ops"}
            )
            assert changed.status_code == 200
            post = await asyncio.to_thread(
                receiver.wait_for, lambda: receiver.posts_to("/sdk"), what="the notification"
            )
            await client.subscriptions.by_subscription_id(created.id).delete()
            listing = await client.subscriptions.get()
            assert listing is not None
            assert all(item.id != created.id for item in listing.value or [])
            return created, renewed, post[0].body
        finally:
            await http.aclose()

    created, renewed, body = asyncio.run(scenario())

    assert renewed.expiration_date_time > created.expiration_date_time  # type: ignore[operator]
    [notification] = body["value"]
    assert notification["subscriptionId"] == created.id
    assert notification["clientState"] == "sdk-secret"
    assert notification["tenantId"] == notifying.tenant_id
    assert notification["changeType"] == "updated"
    assert notification["resourceData"]["id"] == daniel["id"]
    user = decrypt_notification_content(notification["encryptedContent"], certificate.private_key)
    assert user["id"] == daniel["id"]
    assert user["jobTitle"] == "Head of Ops"
    assert notification["encryptedContent"]["encryptionCertificateId"] == "sdk-cert"
    assert (
        notification["encryptedContent"]["encryptionCertificateThumbprint"]
        == certificate.thumbprint
    )
    [token] = body["validationTokens"]
    claims = _verified_validation_token(notifying, token, audience=portal_app_id)
    assert claims["appid"] == claims["azp"] == GRAPH_PUBLISHER
    assert claims["tid"] == notifying.tenant_id


def _verified_validation_token(
    sandbox: RunningSandbox, token: str, *, audience: str
) -> dict[str, Any]:
    """Check a validation token against the sandbox's published signing keys."""
    jwks_url = f"{sandbox.info['https_base_url']}/{sandbox.tenant_id}/discovery/v2.0/keys"
    context = ssl.create_default_context(cafile=sandbox.ca_bundle)
    keys = httpx.get(jwks_url, verify=context, trust_env=False).json()["keys"]
    kid = jwt.get_unverified_header(token)["kid"]
    key = jwt.PyJWK(next(key for key in keys if key["kid"] == kid))
    now = sandbox_now(sandbox).timestamp()
    claims: dict[str, Any] = jwt.decode(
        token,
        key.key,
        algorithms=["RS256"],
        audience=audience,
        issuer=f"https://sts.windows.net/{sandbox.tenant_id}/",
        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
    )
    assert claims["nbf"] <= now < claims["exp"]
    return claims


def test_basic_subscription_gets_no_encrypted_content_nor_tokens(
    notifying: RunningSandbox, graph: httpx.Client, receiver: WebhookReceiver
) -> None:
    priya = notifying.user(PRIYA)
    created = subscribe(notifying, graph, receiver, "basic", resource=f"users/{priya['id']}")

    notify(notifying, f"users/{priya['id']}")
    receiver.wait_for(lambda: receiver.posts_to("/basic"), what="the notification")

    body = receiver.posts_to("/basic")[0].body
    assert "validationTokens" not in body
    [notification] = body["value"]
    assert notification["subscriptionId"] == created["id"]
    assert "encryptedContent" not in notification
    assert receiver.posts_to("/basic")[0].headers["Content-Type"].startswith("application/json")


def test_notifications_for_one_url_are_batched(
    notifying: RunningSandbox, graph: httpx.Client, receiver: WebhookReceiver
) -> None:
    colleague = notifying.info["users"][3]
    whole = subscribe(notifying, graph, receiver, "batched", lifecycle=False)
    one = subscribe(
        notifying, graph, receiver, "batched", resource=f"users/{colleague['id']}", lifecycle=False
    )

    assert notify(notifying, f"users/{colleague['id']}") == 2
    receiver.wait_for(lambda: receiver.posts_to("/batched"), what="the batch")

    [post] = receiver.posts_to("/batched")
    assert {item["subscriptionId"] for item in post.body["value"]} == {whole["id"], one["id"]}


def test_change_types_not_subscribed_are_not_delivered(
    notifying: RunningSandbox, graph: httpx.Client, receiver: WebhookReceiver
) -> None:
    person = notifying.info["users"][4]
    subscribe(
        notifying,
        graph,
        receiver,
        "updates-only",
        resource=f"users/{person['id']}",
        changeType="updated",
        lifecycle=False,
    )

    notify(notifying, f"users/{person['id']}", "deleted")
    notify(notifying, f"users/{person['id']}", "updated")
    receiver.wait_for(lambda: receiver.notifications("/updates-only"), what="the update")

    assert [item["changeType"] for item in receiver.notifications("/updates-only")] == ["updated"]


def test_delivery_is_retried_while_the_endpoint_fails(
    notifying: RunningSandbox, graph: httpx.Client, receiver: WebhookReceiver
) -> None:
    receiver.behave("/flaky", statuses=[500, 503])
    created = subscribe(notifying, graph, receiver, "flaky")

    notify(notifying, "users/flaky-person")
    receiver.wait_for(
        lambda: receiver.notifications("/flaky"), timeout=15, what="the third attempt"
    )

    attempts = [
        entry for entry in deliveries(notifying, created["id"]) if entry["kind"] == "change"
    ]
    assert [(entry["attempt"], entry["outcome"], entry["status"]) for entry in attempts] == [
        (1, "failed", 500),
        (2, "failed", 503),
        (3, "delivered", 202),
    ]
    assert all(entry["notifications"] == 1 for entry in attempts)
    assert [post.answered for post in receiver.posts_to("/flaky")] == [500, 503, 202]


def never_told(
    sandbox: RunningSandbox, receiver: WebhookReceiver, name: str, sub_id: str, event: str
) -> None:
    """Assert the subscription's lifecycle URL never got ``event``.

    The hub queues a lifecycle notification in the same step as what causes it, so once that
    step shows in the delivery log and nothing is left to deliver, the receiver has all there
    will be (reauthorizationRequired challenges may come, as for every resource).
    """
    receiver.wait_for(
        lambda: (
            sandbox.control("GET", f"/deliveries?subscription_id={sub_id}").json()["pending"] == 0
        ),
        what="the subscription's queue to empty",
    )
    assert event not in lifecycle_events(receiver, name, sub_id)


def test_dropped_delivery_of_a_users_change_is_lost_without_a_missed_notification(
    notifying: RunningSandbox, graph: httpx.Client, receiver: WebhookReceiver
) -> None:
    # Graph sends missed for Outlook messages, events and contacts only.
    created = subscribe(notifying, graph, receiver, "dropped")
    fault = notifying.control(
        "POST", "/delivery-faults", json={"kind": "drop", "count": 1, "url": "*/dropped"}
    )
    assert fault.status_code == 201

    notify(notifying, "users/dropped-person")
    receiver.wait_for(
        lambda: any(e["outcome"] == "dropped" for e in deliveries(notifying, created["id"])),
        what="the dropped delivery",
    )

    assert receiver.posts_to("/dropped") == []
    never_told(notifying, receiver, "dropped", created["id"], "missed")
    [listed] = [item for item in _control_listing(notifying) if item["id"] == created["id"]]
    assert listed["missedNotifications"] == 1


def test_delayed_delivery_arrives_after_the_delay(
    notifying: RunningSandbox, graph: httpx.Client, receiver: WebhookReceiver
) -> None:
    created = subscribe(notifying, graph, receiver, "delayed", lifecycle=False)
    notifying.control(
        "POST", "/delivery-faults", json={"kind": "delay", "seconds": 600, "url": "*/delayed"}
    )

    notify(notifying, "users/delayed-person")
    receiver.wait_for(
        lambda: [e for e in deliveries(notifying, created["id"]) if e["outcome"] == "delayed"],
        what="the delay",
    )
    assert receiver.posts_to("/delayed") == []
    advance(notifying, minutes=11)

    receiver.wait_for(lambda: receiver.posts_to("/delayed"), what="the delayed delivery")


def test_undeliverable_notifications_are_dropped_after_four_hours(
    notifying: RunningSandbox, graph: httpx.Client, receiver: WebhookReceiver
) -> None:
    receiver.behave("/down", default_status=503)
    created = subscribe(notifying, graph, receiver, "down")
    notify(notifying, "users/down-person")
    receiver.wait_for(lambda: receiver.posts_to("/down"), what="a first attempt")

    advance(notifying, minutes=4 * 60 + 1)
    receiver.wait_for(
        lambda: any(e["outcome"] == "expired" for e in deliveries(notifying, created["id"])),
        what="the notification given up",
    )

    # Users subscriptions get no missed notification: the subscriber must resync by itself.
    never_told(notifying, receiver, "down", created["id"], "missed")


def test_reauthorization_is_required_before_expiry_and_reauthorize_clears_it(
    notifying: RunningSandbox, graph: httpx.Client, receiver: WebhookReceiver
) -> None:
    created = subscribe(notifying, graph, receiver, "expiring", minutes=30)

    advance(notifying, minutes=16)
    receiver.wait_for(
        lambda: "reauthorizationRequired" in lifecycle_events(receiver, "expiring", created["id"]),
        what="reauthorizationRequired",
    )
    pending = _control_subscription(notifying, created["id"])
    reauthorized = graph.post(
        f"subscriptions/{created['id']}/reauthorize", headers=bearer(app_token(notifying))
    )

    assert pending["challengePending"] is True
    assert reauthorized.status_code == 204
    assert _control_subscription(notifying, created["id"])["challengePending"] is False


def test_expired_subscription_disappears(
    notifying: RunningSandbox, graph: httpx.Client, receiver: WebhookReceiver
) -> None:
    created = subscribe(notifying, graph, receiver, "short-lived", minutes=10, lifecycle=False)
    token = app_token(notifying)
    assert graph.get(f"subscriptions/{created['id']}", headers=bearer(token)).status_code == 200

    advance(notifying, minutes=11)
    token = app_token(notifying)

    assert graph.get(f"subscriptions/{created['id']}", headers=bearer(token)).status_code == 404
    listing = graph.get("subscriptions", headers=bearer(token)).json()["value"]
    assert all(item["id"] != created["id"] for item in listing)
    assert all(item["id"] != created["id"] for item in _control_listing(notifying))


def test_removed_users_subscription_vanishes_without_a_lifecycle_notification(
    notifying: RunningSandbox, graph: httpx.Client, receiver: WebhookReceiver
) -> None:
    # Graph sends subscriptionRemoved for Outlook and Teams chatMessage subscriptions only.
    created = subscribe(notifying, graph, receiver, "removed")

    assert notifying.control("DELETE", f"/subscriptions/{created['id']}").status_code == 204

    never_told(notifying, receiver, "removed", created["id"], "subscriptionRemoved")
    assert all(item["id"] != created["id"] for item in _control_listing(notifying))
    token = bearer(app_token(notifying))
    assert graph.get(f"subscriptions/{created['id']}", headers=token).status_code == 404
    assert notifying.control("DELETE", f"/subscriptions/{created['id']}").status_code == 404


def test_subscriptions_of_a_deleted_person_vanish_without_a_lifecycle_notification(
    notifying: RunningSandbox, graph: httpx.Client, receiver: WebhookReceiver
) -> None:
    people = [user for user in notifying.info["users"][:-1] if not user["isServiceAccount"]]
    leaver = people[-1]
    _, signed_in = user_token_result(
        notifying, leaver["userPrincipalName"], ["https://graph.microsoft.com/User.Read.All"]
    )
    assert "access_token" in signed_in, signed_in
    created = subscribe(
        notifying, graph, receiver, "leaver-own", token=str(signed_in["access_token"])
    )
    [listed] = [item for item in _control_listing(notifying) if item["id"] == created["id"]]
    assert listed["userId"] == leaver["id"]

    assert notifying.control("DELETE", f"/users/{leaver['id']}").status_code == 204

    assert all(item["id"] != created["id"] for item in _control_listing(notifying))
    never_told(notifying, receiver, "leaver-own", created["id"], "subscriptionRemoved")


def test_deleting_a_person_notifies_without_resource_data(
    notifying: RunningSandbox,
    graph: httpx.Client,
    receiver: WebhookReceiver,
    certificate: SubscriberCertificate,
) -> None:
    leaver = notifying.info["users"][-1]
    subscribe(
        notifying,
        graph,
        receiver,
        "leaver",
        resource=f"users/{leaver['id']}",
        lifecycle=False,
        includeResourceData=True,
        encryptionCertificate=certificate.base64_der,
        encryptionCertificateId="leaver-cert",
    )

    assert notifying.control("DELETE", f"/users/{leaver['id']}").status_code == 204
    receiver.wait_for(lambda: receiver.posts_to("/leaver"), what="the deleted notification")

    [notification] = receiver.notifications("/leaver")
    assert notification["changeType"] == "deleted"
    assert notification["resource"] == f"Users/{leaver['id']}"
    assert "encryptedContent" not in notification


def test_delivery_log_honours_the_limit(notifying: RunningSandbox) -> None:
    everything = notifying.control("GET", "/deliveries").json()["value"]
    newest = notifying.control("GET", "/deliveries?limit=2").json()["value"]

    assert len(everything) > 2
    assert newest == everything[-2:]


@pytest.mark.parametrize(
    ("method", "path", "body", "fragment"),
    [
        ("GET", "/deliveries?limit=0", None, "limit must be"),
        ("GET", "/deliveries?limit=ten", None, "limit must be"),
        ("POST", "/delivery-faults", {"kind": "explode"}, 'kind must be "drop" or "delay"'),
        ("POST", "/delivery-faults", {"kind": "drop", "count": 0}, "count must be"),
        ("POST", "/delivery-faults", {"kind": "delay"}, "needs seconds"),
        ("POST", "/delivery-faults", {"kind": "drop", "url": "(", "regex": True}, "regular"),
        ("POST", "/delivery-faults", {"kind": "drop", "when": "now"}, "unknown properties"),
        ("POST", "/notify", {"resource": "users/x", "changeType": "moved"}, "changeType"),
        ("POST", "/notify", {"changeType": "updated"}, "resource must be"),
        (
            "POST",
            "/notify",
            {"resource": "users/x", "changeType": "updated", "resourceData": 1},
            "resourceData",
        ),
        ("POST", "/delivery-settings", {"maxAge": -1}, "0 or more"),
        ("POST", "/delivery-settings", {"speed": 2}, "unknown settings"),
    ],
)
def test_bad_control_requests_are_refused_and_change_nothing(
    notifying: RunningSandbox, method: str, path: str, body: Any, fragment: str
) -> None:
    settings_before = notifying.control("GET", "/delivery-settings").json()

    response = notifying.control(method, path, json=body)

    assert response.status_code == 400
    assert fragment in response.json()["error"]
    assert notifying.control("GET", "/delivery-faults").json()["value"] == []
    assert notifying.control("GET", "/delivery-settings").json() == settings_before


def _control_listing(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    listing: list[dict[str, Any]] = sandbox.control("GET", "/subscriptions").json()["value"]
    return listing


def _control_subscription(sandbox: RunningSandbox, subscription_id: str) -> dict[str, Any]:
    return next(item for item in _control_listing(sandbox) if item["id"] == subscription_id)
