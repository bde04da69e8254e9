"""Ten thousand random bodies at the webhook: never a 5xx, never a change of state."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import User
from comms_portal.notifications import drain
from comms_portal.notifications.certificates import current_certificate
from comms_portal.notifications.models import Subscription
from presence import store
from presence.store import PresenceState

URL = "/graph/notifications/presence"
SUBSCRIPTION_ID = "5b3d1a52-1111-4000-8000-00000000f022"
CLIENT_STATE = "a-secret-only-the-portal-and-graph-know"
PERSON = "6e2f44f5-0000-4000-8000-0000000f0220"
BEFORE = PresenceState(PERSON, "Busy", "InACall", observed_at=100.0, source="poll")

json_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=24)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3)
    ),
    max_leaves=8,
)
encrypted_content = st.fixed_dictionaries(
    {
        "data": st.text(max_size=40) | st.just("AAAA"),
        "dataKey": st.text(max_size=40),
        "dataSignature": st.text(max_size=40),
        "encryptionCertificateId": st.text(max_size=20),
    }
)
notification = st.fixed_dictionaries(
    {"subscriptionId": st.sampled_from([SUBSCRIPTION_ID, "unknown"]) | st.text(max_size=40)},
    optional={
        "clientState": st.sampled_from([CLIENT_STATE, "guess"]) | st.text(max_size=20),
        "changeType": st.sampled_from(["updated", "created"]) | json_scalars,
        "resource": st.sampled_from([f"communications/presences/{PERSON}"]) | json_scalars,
        "resourceData": st.fixed_dictionaries({"id": st.text(max_size=40)}) | json_values,
        "encryptedContent": encrypted_content | json_values,
        "lifecycleEvent": st.sampled_from(["missed", "subscriptionRemoved"]) | json_scalars,
        "tenantId": json_scalars,
    },
)
collection = st.fixed_dictionaries(
    {"value": st.lists(notification, max_size=3) | json_values},
    optional={"validationTokens": st.lists(st.text(max_size=60), max_size=2) | json_values},
)
bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda value: json.dumps(value).encode()),
    collection.map(lambda value: json.dumps(value).encode()),
)


@pytest.fixture
def subscription(db: Any) -> Subscription:
    owner = User.objects.create(username="fuzz-owner", object_id="fuzz", tenant_id="t")
    return Subscription.objects.create(
        owner=owner,
        graph_id=SUBSCRIPTION_ID,
        client_state=CLIENT_STATE,
        kind="presence",
        resource=f"/communications/presences/{PERSON}",
        change_type="updated",
        scope=[PERSON],
        expires_at=timezone.now() + timedelta(minutes=50),
        certificate=current_certificate(),
    )


@settings(
    max_examples=10_000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=bodies)
def test_random_bodies_get_no_5xx_and_change_nothing(
    subscription: Subscription, body: bytes
) -> None:
    store.forget([PERSON])
    store.apply_updates([BEFORE])
    before = store.get_one(PERSON)
    assert before is not None and before.availability == BEFORE.availability
    response = Client().post(URL, body, content_type="application/json")

    assert response.status_code in (202, 400), response.content
    if response.status_code == 202:
        # Whatever reached the worker must not change anyone either.
        drain.process_bodies([body.decode("utf-8", "replace")])
    assert store.get_one(PERSON) == before
    subscription.refresh_from_db()
    assert subscription.client_state == CLIENT_STATE and subscription.scope == [PERSON]
