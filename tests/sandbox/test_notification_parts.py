"""The pure parts of change notifications: encryption, validation tokens, registry, payloads."""

from __future__ import annotations

import base64
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.clock import SandboxClock
from sandbox.graph.directory_subscriptions import USERS
from sandbox.graph.routing import GraphError
from sandbox.notifications.crypto import (
    CertificateError,
    encrypt_resource_data,
    load_encryption_certificate,
)
from sandbox.notifications.delivery_log import DeliveryFault, DeliveryFaults, DeliverySettings
from sandbox.notifications.hub import NotificationHub
from sandbox.notifications.payloads import (
    change_notification,
    lifecycle_notification,
    notification_collection,
)
from sandbox.notifications.registry import (
    LIFECYCLE_EVENTS,
    check_requested_ids,
    filtered_ids,
    lifecycle_events_of,
    register_subscription_resource,
    subscription_covers,
)
from sandbox.notifications.subscription import Subscription
from sandbox.notifications.tokens import NOTIFICATION_PUBLISHER_APP_ID, mint_validation_token
from sandbox.presence.subscriptions import PRESENCES
from tests.support.examples import load_example, shape_differences
from tests.support.webhook_receiver import (
    SubscriberCertificate,
    decrypt_notification_content,
    make_subscriber_certificate,
)

TENANT = "84bd8158-6d4d-4958-8b9f-9d6445542f95"
PORTAL_APP = "8e460676-ae3f-4b1e-8790-ee0fb5d6148f"
ADELE = "4562bcc8-c436-4f95-b7c0-4f8ce89dca5e"
NOW = datetime(2030, 1, 2, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def subscriber() -> SubscriberCertificate:
    return make_subscriber_certificate()


def _self_signed(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Fabrikam")])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )


def _subscription(
    subscriber: SubscriberCertificate | None = None, *, organization_id: bool = False
) -> Subscription:
    certificate = load_encryption_certificate(subscriber.base64_der) if subscriber else None
    return Subscription(
        id="7f105c7d-2dc5-4530-97cd-4e7ae6534c07",
        resource="communications/presences/" + ADELE,
        resource_kind="presence",
        change_types=("updated",),
        notification_url="http://127.0.0.1:8000/notify",
        expiration=NOW + timedelta(minutes=60),
        application_id=PORTAL_APP,
        creator_id=ADELE,
        tenant_id=TENANT,
        user_id=ADELE,
        created_at=NOW,
        client_state="secretClientValue",
        lifecycle_notification_url="http://127.0.0.1:8000/lifecycle",
        include_resource_data=subscriber is not None,
        encryption_certificate=subscriber.base64_der if subscriber else None,
        encryption_certificate_id="portal-cert-1" if subscriber else None,
        certificate=certificate,
        include_organization_id=organization_id,
    )


PRESENCE_DATA = {
    "@odata.id": f"users/{ADELE}/presence",
    "@odata.type": "#microsoft.graph.presence",
    "id": ADELE,
}
PRESENCE = {**PRESENCE_DATA, "availability": "Busy", "activity": "InACall"}


def test_encrypted_content_decrypts_with_the_subscriber_key(
    subscriber: SubscriberCertificate,
) -> None:
    content = encrypt_resource_data(
        PRESENCE, load_encryption_certificate(subscriber.base64_der), "portal-cert-1"
    )

    assert decrypt_notification_content(content, subscriber.private_key) == PRESENCE
    assert content["encryptionCertificateId"] == "portal-cert-1"
    assert content["encryptionCertificateThumbprint"] == subscriber.thumbprint


def test_tampered_ciphertext_fails_the_signature_check(subscriber: SubscriberCertificate) -> None:
    content = encrypt_resource_data(
        PRESENCE, load_encryption_certificate(subscriber.base64_der), "portal-cert-1"
    )
    data = bytearray(base64.b64decode(content["data"]))
    data[0] ^= 0x01
    tampered = {**content, "data": base64.b64encode(bytes(data)).decode()}

    with pytest.raises(ValueError, match="dataSignature"):
        decrypt_notification_content(tampered, subscriber.private_key)


def test_each_notification_gets_a_fresh_key(subscriber: SubscriberCertificate) -> None:
    certificate = load_encryption_certificate(subscriber.base64_der)
    first = encrypt_resource_data(PRESENCE, certificate, "c")
    second = encrypt_resource_data(PRESENCE, certificate, "c")

    assert first["data"] != second["data"]
    assert first["dataKey"] != second["dataKey"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=40, deadline=None)
@given(resource=st.dictionaries(st.text(max_size=10), json_values, max_size=6))
def test_any_json_resource_survives_encryption(
    subscriber: SubscriberCertificate, resource: dict[str, object]
) -> None:
    content = encrypt_resource_data(
        resource, load_encryption_certificate(subscriber.base64_der), "c"
    )

    assert decrypt_notification_content(content, subscriber.private_key) == resource


def test_certificate_may_be_pem(subscriber: SubscriberCertificate) -> None:
    pem = subscriber.certificate.public_bytes(serialization.Encoding.PEM).decode()

    assert load_encryption_certificate(pem).thumbprint == subscriber.thumbprint


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not base64 at all!", "base64-encoded X.509"),
        (base64.b64encode(b"random bytes that are no certificate").decode(), "X.509"),
    ],
)
def test_unusable_certificate_text_is_refused(text: str, message: str) -> None:
    with pytest.raises(CertificateError, match=message):
        load_encryption_certificate(text)


def test_certificate_without_rsa_key_is_refused() -> None:
    certificate = _self_signed(ec.generate_private_key(ec.SECP256R1()))
    der = base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()

    with pytest.raises(CertificateError, match="RSA public key"):
        load_encryption_certificate(der)


def test_certificate_with_short_rsa_key_is_refused() -> None:
    # A deliberately weak key: the sandbox must refuse it.
    weak_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    certificate = _self_signed(weak_key)
    der = base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()

    with pytest.raises(CertificateError, match="2048 to 4096 bits, not 1024"):
        load_encryption_certificate(der)


def test_validation_token_has_the_documented_claims(subscriber: SubscriberCertificate) -> None:
    signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = mint_validation_token(
        signing_key=signing_key,
        key_id="sandbox-key-1",
        tenant_id=TENANT,
        audience_app_id=PORTAL_APP,
        now=NOW,
    )

    claims = jwt.decode(
        token,
        signing_key.public_key(),
        algorithms=["RS256"],
        audience=PORTAL_APP,
        issuer=f"https://sts.windows.net/{TENANT}/",
        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
    )
    assert jwt.get_unverified_header(token)["kid"] == "sandbox-key-1"
    assert claims["appid"] == claims["azp"] == NOTIFICATION_PUBLISHER_APP_ID
    assert claims["tid"] == TENANT
    assert claims["nbf"] == claims["iat"] == int(NOW.timestamp())
    assert claims["exp"] > claims["iat"]
    documented = load_example("notification-validationtoken-jwt.claims.json")["response"]
    assert shape_differences(claims, documented) == []


@pytest.mark.parametrize(
    ("watched", "changed", "covered"),
    [
        ("users", f"Users/{ADELE}", True),
        ("/users", f"users/{ADELE}", True),
        (f"users/{ADELE}", f"Users/{ADELE}", True),
        (f"users/{ADELE}", "users/someone-else", False),
        ("users", "groups/1", False),
        ("users", "usersx/1", False),
        (
            f"/communications/presences?$filter=id in ('{ADELE}','b')",
            f"communications/presences/{ADELE}",
            True,
        ),
        ("communications/presences?$filter=id in ('a', 'b')", "communications/presences/c", False),
    ],
)
def test_subscription_covers_members_and_filtered_ids(
    watched: str, changed: str, covered: bool
) -> None:
    assert subscription_covers(watched, changed) is covered


def test_filtered_ids_reads_quoted_lists() -> None:
    assert filtered_ids("/communications/presences?$filter=id in ('a', 'b''c')") == (
        "communications/presences",
        ["a", "b'c"],
    )
    assert filtered_ids("users") is None


def test_id_list_beyond_the_resource_limit_is_refused() -> None:
    entry = register_subscription_resource(
        "limited test ids",
        r"limitedtest\?.*",
        ("updated",),
        60,
        ("Presence.Read.All",),
        (),
        max_ids=2,
    )

    check_requested_ids(entry, "limitedtest?$filter=id in ('a','b')")
    with pytest.raises(GraphError) as refused:
        check_requested_ids(entry, "limitedtest?$filter=id in ('a','b','c')")
    assert refused.value.status == 400
    assert "at most 2 distinct ids" in refused.value.message


def test_registering_a_name_twice_is_an_error() -> None:
    register_subscription_resource("twice test", r"twice", ("updated",), 60, ("X",), ())

    with pytest.raises(ValueError, match="already registered"):
        register_subscription_resource("twice test", r"twice", ("updated",), 60, ("X",), ())


def test_lifecycle_events_are_sent_only_where_the_resource_gets_them() -> None:
    # Outlook messages get all three; presence (like users) only reauthorizationRequired.
    mail = register_subscription_resource(
        "mail test",
        r"me/messages",
        ("created",),
        4230,
        ("Mail.Read",),
        (),
        lifecycle_events=LIFECYCLE_EVENTS,
    )
    hub = NotificationHub(SandboxClock())
    messages = replace(_subscription(), id="mail", resource="me/messages", resource_kind=mail.name)
    presence = replace(_subscription(), resource_kind=PRESENCES.name)
    for subscription in (messages, presence):
        hub.subscriptions.add(subscription)

    sent = {
        (subscription.id, event): hub.send_lifecycle(subscription, event)
        for subscription in (messages, presence)
        for event in ("reauthorizationRequired", "missed", "subscriptionRemoved")
    }
    hub.remove(presence.id, notify=True)

    assert [key for key, queued in sent.items() if queued] == [
        ("mail", "reauthorizationRequired"),
        ("mail", "missed"),
        ("mail", "subscriptionRemoved"),
        (presence.id, "reauthorizationRequired"),
    ]
    assert hub.pending_count(presence.id) == 1
    assert lifecycle_events_of(USERS.name) == frozenset({"reauthorizationRequired"})


@pytest.mark.parametrize(
    "events", [frozenset({"missed"}), frozenset({"reauthorizationRequired", "gone"})]
)
def test_a_resource_declares_only_known_lifecycle_events_and_always_reauthorization(
    events: frozenset[str],
) -> None:
    with pytest.raises(ValueError, match="lifecycle events"):
        register_subscription_resource(
            f"odd lifecycle {sorted(events)}",
            r"odd",
            ("updated",),
            60,
            ("X",),
            (),
            lifecycle_events=events,
        )


def test_basic_presence_notification_matches_the_documented_shape() -> None:
    notification = change_notification(
        _subscription(organization_id=True),
        change_type="updated",
        resource=f"communications/presences/{ADELE}",
        resource_data=PRESENCE_DATA,
        rich_payload=None,
    )
    body = notification_collection([notification], None)

    documented = load_example("notification-presence-basic.payload.json")["request"]
    assert shape_differences(body, documented) == []
    assert "validationTokens" not in body


def test_rich_presence_notification_matches_the_documented_shape(
    subscriber: SubscriberCertificate,
) -> None:
    notification = change_notification(
        _subscription(subscriber, organization_id=True),
        change_type="updated",
        resource=f"communications/presences/{ADELE}",
        resource_data=PRESENCE_DATA,
        rich_payload=PRESENCE,
    )
    body = notification_collection([notification], ["token"])

    for name in ("notification-presence-rich", "notification-rich-chatmessage"):
        documented = load_example(f"{name}.payload.json")["request"]
        assert shape_differences(body, documented) == [], name
    decrypted = decrypt_notification_content(
        notification["encryptedContent"], subscriber.private_key
    )
    documented_plain = load_example("notification-presence-decrypted.payload.json")["response"]
    assert shape_differences(decrypted, documented_plain) == []


def test_deleted_resource_notification_carries_no_encrypted_content(
    subscriber: SubscriberCertificate,
) -> None:
    notification = change_notification(
        _subscription(subscriber),
        change_type="deleted",
        resource=f"Users/{ADELE}",
        resource_data={
            "@odata.type": "#Microsoft.Graph.User",
            "@odata.id": f"Users/{ADELE}",
            "id": ADELE,
        },
        rich_payload=None,
    )

    assert "encryptedContent" not in notification


def test_generic_notification_matches_the_documented_shape() -> None:
    notification = change_notification(
        _subscription(),
        change_type="updated",
        resource=f"Users/{ADELE}",
        resource_data={
            "@odata.type": "#Microsoft.Graph.User",
            "@odata.id": f"Users/{ADELE}",
            "@odata.etag": 'W/"1"',
            "id": ADELE,
        },
        rich_payload=None,
    )
    body = notification_collection([notification], None)

    for name in (
        "notification-generic",
        "notification-virtualevent-event-created",
        "notification-virtualevent-registration-created",
    ):
        documented = load_example(f"{name}.payload.json")["request"]
        assert shape_differences(body, documented) == [], name


@pytest.mark.parametrize("event", ["reauthorizationRequired", "missed", "subscriptionRemoved"])
def test_lifecycle_notification_has_exactly_the_documented_properties(event: str) -> None:
    body = notification_collection([lifecycle_notification(_subscription(), event)], None)  # type: ignore[arg-type]

    documented = load_example("notification-lifecycle.payload.json")["request"]
    assert shape_differences(body, documented, allow_extra=False) == []
    assert body["value"][0]["lifecycleEvent"] == event


def test_subscription_serializes_like_the_documented_create_response() -> None:
    serialized = {"@odata.context": "https://x/v1.0/$metadata#subscriptions/$entity"}
    serialized |= _subscription().to_graph()

    for name in ("subscriptions-create.request.json", "subscriptions-renew.request.json"):
        documented = load_example(name)["response"]
        assert shape_differences(serialized, documented) == [], name
    assert serialized["expirationDateTime"] == "2030-01-02T11:00:00.0000000Z"


def test_retry_delay_doubles_up_to_the_cap() -> None:
    timing = DeliverySettings(retry_initial_delay=2.0, retry_max_delay=10.0)

    assert [timing.retry_delay(attempt) for attempt in range(1, 6)] == [2, 4, 8, 10, 10]


def test_delivery_faults_are_consumed_in_order_and_by_url() -> None:
    faults = DeliveryFaults()
    faults.add(DeliveryFault(kind="drop", remaining=1, url_pattern=re.compile("lifecycle")))
    faults.add(DeliveryFault(kind="delay", remaining=2, seconds=5))

    assert faults.take("http://127.0.0.1/notify").kind == "delay"  # type: ignore[union-attr]
    assert faults.take("http://127.0.0.1/lifecycle").kind == "drop"  # type: ignore[union-attr]
    assert faults.take("http://127.0.0.1/lifecycle").kind == "delay"  # type: ignore[union-attr]
    assert faults.take("http://127.0.0.1/lifecycle") is None
