"""Incoming notifications: documented payloads parse, anything else is InvalidNotification."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from comms_portal.graph import (
    InvalidNotification,
    client_state_matches,
    parse_notifications,
)
from tests.graph.fakegraph import load_example


def example_body(name: str) -> bytes:
    return json.dumps(load_example(name)["request"]).encode()


def test_presence_notification_example_parses() -> None:
    collection = parse_notifications(example_body("notification-presence-basic.payload"))

    [notification] = collection.value
    assert notification.subscription_id == "{Subscription id}"
    assert notification.change_type == "updated"
    assert notification.resource == "communications/presences/{id}"
    assert notification.subscription_expiration_date_time == datetime(2023, 9, 14, 10, tzinfo=UTC)
    assert notification.resource_data is not None
    assert notification.resource_data.odata_type == "#microsoft.graph.presence"
    assert notification.encrypted_content is None
    assert not collection.has_resource_data
    assert not notification.is_lifecycle


def test_rich_presence_notification_example_carries_encrypted_content() -> None:
    collection = parse_notifications(example_body("notification-presence-rich.payload"))

    [notification] = collection.value
    assert notification.encrypted_content is not None
    assert notification.encrypted_content.encryption_certificate_id == (
        "{User specified id of encryption certificate}"
    )
    assert collection.validation_tokens == ["{Validation Tokens}"]
    assert collection.has_resource_data


def test_lifecycle_notification_example_parses() -> None:
    collection = parse_notifications(example_body("notification-lifecycle.payload"))

    [notification] = collection.value
    assert notification.is_lifecycle
    assert notification.change_type is None
    assert notification.client_state == "<secretClientState>"


@pytest.mark.parametrize(
    "name",
    [
        "notification-generic.payload",
        "notification-onlinemeeting-rich.payload",
        "notification-rich-chatmessage.payload",
        "notification-virtualevent-event-created.payload",
        "notification-virtualevent-registration-created.payload",
    ],
)
def test_other_documented_notifications_parse(name: str) -> None:
    collection = parse_notifications(example_body(name))
    assert collection.value[0].subscription_id


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[]", "not a JSON object"),
        (b"{}", "'value' list"),
        (b'{"value": {}}', "'value' list"),
        (b'{"value": []}', "value"),
        (b'{"value": [{"changeType": "updated", "resource": "x"}]}', "subscriptionId"),
        (b'{"value": [{"subscriptionId": "s"}]}', "changeType and resource"),
        (b'{"value": [{"subscriptionId": 7, "lifecycleEvent": "missed"}]}', "subscriptionId"),
        (
            b'{"value": [{"subscriptionId": "s", "lifecycleEvent": "missed"}],'
            b' "validationTokens": "one"}',
            "validationTokens",
        ),
        (
            b'{"value": [{"subscriptionId": "s", "changeType": "updated", "resource": "r",'
            b' "encryptedContent": {"data": "x"}}]}',
            "dataKey",
        ),
        (b"[" * 100_000 + b"]" * 100_000, "not"),
    ],
    ids=[
        "empty",
        "not-utf8",
        "array",
        "no-value",
        "value-object",
        "value-empty",
        "no-subscription",
        "neither-change-nor-lifecycle",
        "subscription-not-string",
        "tokens-not-list",
        "encrypted-content-incomplete",
        "deeply-nested",
    ],
)
def test_malformed_bodies_are_refused_with_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(InvalidNotification) as raised:
        parse_notifications(body)
    assert reason in raised.value.reason


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=30,
)
notification_like = st.fixed_dictionaries(
    {
        "value": st.lists(
            st.dictionaries(
                st.sampled_from(
                    [
                        "subscriptionId",
                        "changeType",
                        "resource",
                        "lifecycleEvent",
                        "resourceData",
                        "encryptedContent",
                        "subscriptionExpirationDateTime",
                        "tenantId",
                        "clientState",
                    ]
                ),
                json_values,
            ),
            max_size=3,
        )
    },
    optional={"validationTokens": json_values},
)


@settings(max_examples=300, deadline=None)
@given(document=json_values | notification_like)
def test_any_json_either_parses_or_is_invalid_notification(document: object) -> None:
    try:
        collection = parse_notifications(json.dumps(document))
    except InvalidNotification as refused:
        assert refused.reason
    else:
        assert all(item.subscription_id for item in collection.value)


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=200))
def test_any_bytes_either_parse_or_are_invalid_notification(body: bytes) -> None:
    try:
        collection = parse_notifications(body)
    except InvalidNotification as refused:
        assert refused.reason
    else:
        assert collection.value


def test_client_state_must_match_exactly() -> None:
    assert client_state_matches("secretClientValue", "secretClientValue")
    assert not client_state_matches("secretClientValue", "secretClientValuf")
    assert not client_state_matches("secretClientValue", "")
    assert not client_state_matches("secretClientValue", None)
    assert not client_state_matches("secretClientValue", "secretClientValue ")


def test_client_state_with_a_lone_surrogate_is_a_mismatch_not_a_crash() -> None:
    collection = parse_notifications(
        b'{"value": [{"subscriptionId": "s", "lifecycleEvent": "missed",'
        b' "clientState": "\\ud800"}]}'
    )
    assert not client_state_matches("secretClientValue", collection.value[0].client_state)


@pytest.mark.parametrize("field", ["subscriptionId", "clientState"])
def test_ids_with_control_characters_are_refused_before_any_lookup(field: str) -> None:
    item = {
        "subscriptionId": "5b3d1a52-1111-4000-8000-00000000f022",
        "clientState": "secret",
        "lifecycleEvent": "reauthorizationRequired",
    }
    item[field] = "abc\u0000def"
    with pytest.raises(InvalidNotification):
        parse_notifications(json.dumps({"value": [item]}).encode())
