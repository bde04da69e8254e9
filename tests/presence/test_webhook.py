"""The presence webhook: handshake, real notifications, and everything forged or malformed."""

# Fixtures are imported by name from engine_fixtures, so their parameters shadow them.
# ruff: noqa: F811

from __future__ import annotations

import base64
import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper
from pytest_django.live_server_helper import LiveServer

from comms_portal.notifications import drain, lifecycle
from comms_portal.notifications.models import Subscription
from directory.sync import sync_directory
from presence import store, subscriptions, watchlist
from presence.topics import presence_topic
from tests.presence.engine_fixtures import (  # noqa: F401  (fixtures)
    Control,
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
from tests.support.cast import GRACE, PRIYA
from tests.support.live import TopicInbox
from tests.support.sandbox import RunningSandbox

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_presence")]
URL = "/graph/notifications/presence"


@pytest.fixture
def grace(
    settings: SettingsWrapper, sandbox: RunningSandbox, live_server: LiveServer, control: Control
) -> str:
    """Grace, watched and covered by Priya's subscription, with nothing stored yet."""
    point_settings_at(settings, sandbox)
    settings.PUBLIC_BASE_URL = live_server.url
    sync_directory()
    sign_in_person(PRIYA)
    grace_id = user_id_of(sandbox.info, GRACE)
    # A known starting point, set before any subscription exists to report it.
    control("POST", f"/presence/{grace_id}", {"availability": "Away", "activity": "Away"})
    watchlist.mark_watched([grace_id])
    subscriptions.maintain_subscriptions()
    return grace_id


def real_body(control: Control, person_id: str, pair: tuple[str, str]) -> str:
    """Make the sandbox notify a change of ``person_id`` and return the body the webhook got."""
    seen = len(delivered_bodies())
    control("POST", f"/presence/{person_id}", {"availability": pair[0], "activity": pair[1]})
    bodies = wait_for(
        lambda: len(delivered_bodies()) > seen and delivered_bodies(),
        what="a change notification",
    )
    return str(bodies[-1])


def edited(body: str, change: Any) -> str:
    document = json.loads(body)
    change(document)
    return json.dumps(document)


def test_the_validation_handshake_echoes_the_token_as_plain_text(client: Client) -> None:
    token = "Validation: Testing client application reachability for subscription Request-Id: 1"
    response = client.post(f"{URL}?validationToken={token.replace(' ', '%20')}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode() == token


def test_a_genuine_notification_is_recorded(grace: str, control: Control) -> None:
    body = real_body(control, grace, ("Busy", "InACall"))

    report = drain.process_bodies([body])

    assert (report.handed, report.changed, report.dropped) == (1, 1, 0)
    stored = store.get_one(grace)
    assert stored is not None and (stored.availability, stored.activity) == ("Busy", "InACall")


def test_out_of_order_and_repeated_notifications_never_move_presence_backwards(
    grace: str, control: Control
) -> None:
    older = real_body(control, grace, ("Busy", "InACall"))
    newer = real_body(control, grace, ("Available", "Available"))
    inbox = TopicInbox(presence_topic(grace))

    assert drain.process_bodies([newer]).changed == 1
    assert drain.process_bodies([older]).changed == 0
    assert drain.process_bodies([newer]).changed == 0

    stored = store.get_one(grace)
    assert stored is not None and stored.availability == "Available"

    pushed_states = [message["presence"]["availability"] for message in inbox.messages()]
    inbox.close()
    assert pushed_states == ["Available"]


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda d: d["value"][0].update(clientState="guessed"), id="bad-clientState"),
        pytest.param(
            lambda d: d["value"][0].update(subscriptionId="7f7d1a52-0000-4000-8000-000000000000"),
            id="unknown-subscription",
        ),
    ],
)
def test_notifications_not_ours_are_answered_202_and_change_nothing(
    grace: str, control: Control, enqueued: list[tuple[str, list[Any]]], client: Client, tamper: Any
) -> None:
    forged = edited(real_body(control, grace, ("Busy", "InACall")), tamper)
    queued, requested = len(delivered_bodies()), len(enqueued)

    response = client.post(URL, forged, content_type="application/json")

    assert response.status_code == 202
    # Nothing handed to the worker.
    assert (len(delivered_bodies()), len(enqueued)) == (queued, requested)
    assert drain.process_bodies([forged]).handed == 0
    assert store.get_one(grace) is None


def _forged_token(real: str) -> str:
    """Sign the real token's claims and header with a key that is not the authority's."""
    header = jwt.get_unverified_header(real)
    claims = jwt.decode(real, options={"verify_signature": False})
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": header["kid"]})


def _tampered_data(document: dict[str, Any]) -> None:
    content = document["value"][0]["encryptedContent"]
    data = bytearray(base64.b64decode(content["data"]))
    data[len(data) // 2] ^= 0x01
    content["data"] = base64.b64encode(bytes(data)).decode()


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        pytest.param(
            lambda d: d.update(validationTokens=[_forged_token(d["validationTokens"][0])]),
            "BadTokenSignature",
            id="forged-validation-token",
        ),
        pytest.param(
            lambda d: d.pop("validationTokens"), "MissingValidationTokens", id="no-tokens"
        ),
        pytest.param(_tampered_data, "SignatureMismatch", id="tampered-ciphertext"),
    ],
)
def test_forged_tokens_and_tampered_ciphertext_are_dropped_in_the_task(
    grace: str,
    control: Control,
    client: Client,
    tamper: Any,
    reason: str,
) -> None:
    forged = edited(real_body(control, grace, ("DoNotDisturb", "Presenting")), tamper)

    # The clientState is right, so the webhook hands the body on; the task refuses it.
    assert client.post(URL, forged, content_type="application/json").status_code == 202
    report = drain.process_bodies([forged])

    assert report.handed == 0 and report.dropped == 1
    assert reason in " ".join(report.reasons)
    assert store.get_one(grace) is None


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"value": []}', b'{"value": [{}]}'])
def test_malformed_bodies_are_refused_with_400(client: Client, body: bytes) -> None:
    response = client.post(URL, body, content_type="application/json")
    assert response.status_code == 400


def test_an_oversized_body_is_refused_with_413(client: Client, settings: SettingsWrapper) -> None:
    settings.WEBHOOK_MAX_BODY_BYTES = 4096
    body = json.dumps({"value": [{"subscriptionId": "x" * 5000}]})
    assert client.post(URL, body, content_type="application/json").status_code == 413


def test_only_post_is_answered(client: Client) -> None:
    assert client.get(URL).status_code == 405
    assert client.get(f"{URL}/lifecycle").status_code == 405


def test_a_lifecycle_event_of_an_unknown_subscription_changes_nothing(
    client: Client, enqueued: list[tuple[str, list[Any]]]
) -> None:
    body = json.dumps(
        {"value": [{"subscriptionId": "nope", "clientState": "x", "lifecycleEvent": "missed"}]}
    )
    assert client.post(f"{URL}/lifecycle", body, content_type="application/json").status_code == 202
    assert enqueued == []
    assert lifecycle.process_lifecycle(body).handled == []
    assert not Subscription.objects.exists()
