"""Every documented example the sandbox serves: same status, property names and JSON types.

This module replays the core's examples and keeps the catalogue: each example under
tests/fixtures/graph is replayed here or by the named module, or belongs to an area the
sandbox does not serve yet.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.sandbox.conftest import app_token, bearer
from tests.support.examples import EXAMPLES_DIR, load_example, shape_differences
from tests.support.sandbox import RunningSandbox
from tests.support.webhook_receiver import (
    SubscriberCertificate,
    WebhookReceiver,
    make_subscriber_certificate,
)

SANDBOX_TESTS = Path(__file__).resolve().parent
# Where each served example (by name, or by a prefix a module passes to example_names) is
# replayed against a running sandbox.
REPLAYED_BY: dict[str, tuple[str, ...]] = {
    "test_documented_examples.py": (
        "batch.request.json",
        "batch-dependson.request.json",
        "error-standard.response.json",
        "error-errors-page.response.json",
        "throttling-429.response.json",
        "subscriptions-delete.request.json",
        "subscriptions-reauthorize.request.json",
        "notification-generic.payload.json",
        "notification-lifecycle.payload.json",
        "notification-validation.request.json",
        "notification-validationtoken-jwt.claims.json",
    ),
    "presence/test_presence_examples.py": ("presence-",),
    "calls/test_calls_examples.py": (
        "calls-",
        "callback-",
        "calldelegation-delegates-list.response.json",
        "calldelegation-delegators-list-filter.response.json",
    ),
    "presence/test_presence_notifications.py": (
        "subscriptions-create-presence.request.json",
        "subscriptions-create-presence-bulk.request.json",
        "notification-presence-basic",
        "notification-presence-rich",
        "notification-presence-decrypted.payload.json",
    ),
    "test_subscriptions.py": ("subscriptions-create", "subscriptions-renew.request.json"),
    "virtual_events/test_virtual_events_examples.py": ("virtualevents-",),
    "virtual_events/test_virtual_events_notifications.py": ("notification-virtualevent-",),
    "callrecords/test_callrecords_api.py": ("callrecords-",),
    "meetings/test_meetings_api.py": (
        "onlinemeetings-create-passcode.request.json",
        "onlinemeetings-create.request.json",
        "onlinemeetings-createorget.request.json",
        "onlinemeetings-delete.request.json",
        "onlinemeetings-get-by-id.response.json",
        "onlinemeetings-list-filter-joinmeetingid.response.json",
        "onlinemeetings-list-filter-joinweburl.response.json",
        "onlinemeetings-update-lobby.request.json",
        "onlinemeetings-update.request.json",
    ),
    "meetings/test_meeting_calls.py": (
        "notification-onlinemeeting-decrypted-callstarted.payload.json",
        "notification-onlinemeeting-decrypted-participantleft.payload.json",
        "notification-onlinemeeting-decrypted-rosterupdated.payload.json",
        "notification-onlinemeeting-rich.payload.json",
        "onlinemeetings-attendance",
    ),
}
# Not replayed: getting one call delegate (the page's example is a placeholder stub) and the
# Teams chat messages a rich-notification example uses.
NOT_SERVED = (
    "calldelegation-delegationsettings-get",
    "notification-rich-chatmessage",
)


@pytest.fixture
def headers(sandbox: RunningSandbox) -> dict[str, str]:
    return bearer(app_token(sandbox))


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as running:
        yield running


@pytest.fixture(scope="module")
def certificate() -> SubscriberCertificate:
    return make_subscriber_certificate("Comms Portal examples")


def _source(module: str) -> str:
    """Return a test module's text, without this catalogue where it is declared."""
    text = (SANDBOX_TESTS / module).read_text()
    start = text.find("REPLAYED_BY: dict")
    if start >= 0:
        text = text[:start] + text[text.index("\n}\n", start) :]
    return text


def test_every_example_is_replayed_or_outside_what_the_sandbox_serves() -> None:
    sources = {name: _source(name) for name in REPLAYED_BY}
    unaccounted = []
    for example in sorted(path.name for path in EXAMPLES_DIR.glob("*.json")):
        replayers = [
            module
            for module, names in REPLAYED_BY.items()
            for name in names
            if example.startswith(name) and f'"{name}' in sources[module]
        ]
        out_of_scope = example.startswith(NOT_SERVED)
        if bool(replayers) == out_of_scope:
            unaccounted.append(example)
    assert unaccounted == []


def test_error_standard_example(sandbox: RunningSandbox, graph: httpx.Client) -> None:
    example = load_example("error-standard.response.json")
    response = graph.get("users", headers=bearer(app_token(sandbox, "Limited Reader")))
    assert response.status_code == example["status"]
    assert shape_differences(response.json(), example["response"], allow_extra=False) == []


def test_error_page_example_shape(graph: httpx.Client, headers: dict[str, str]) -> None:
    # The errors page's example (invalidRange) has no counterpart here; its envelope must match.
    example = load_example("error-errors-page.response.json")
    response = graph.get("users/not-a-user", headers=headers)
    assert response.status_code == 404
    assert shape_differences(response.json(), example["response"]) == []


def test_throttling_example(
    sandbox: RunningSandbox, graph: httpx.Client, headers: dict[str, str]
) -> None:
    example = load_example("throttling-429.response.json")
    sandbox.control(
        "POST", "/faults", json={"path": "/v1.0/users", "kind": "429", "retry_after": 2}
    )
    response = graph.get("users", headers=headers)
    assert response.status_code == example["status"] and response.headers["Retry-After"] == "2"
    # Beyond the sample, innerError also carries client-request-id, as every Graph error does.
    assert shape_differences(response.json(), example["response"]) == []


def test_batch_example_runs_with_documented_shapes(
    sandbox: RunningSandbox, graph: httpx.Client, headers: dict[str, str]
) -> None:
    example = load_example("batch.request.json")
    response = graph.post("$batch", json=example["request"], headers=headers)
    assert response.status_code == example["status"]
    ours = {item["id"]: item for item in response.json()["responses"]}
    assert set(ours) == {item["id"] for item in example["response"]["responses"]}
    for documented in example["response"]["responses"]:
        mine = ours[documented["id"]]
        assert set(mine) >= {"id", "status", "headers"}
        if mine["status"] >= 400:
            assert (
                shape_differences(mine["body"], example["response"]["responses"][2]["body"]) == []
            )
    # The users query (city eq null, $select, $count) answers as documented.
    documented_users = example["response"]["responses"][4]
    assert ours["5"]["status"] == documented_users["status"] == 200
    assert shape_differences(ours["5"]["body"], documented_users["body"]) == []
    assert ours["5"]["headers"]["Content-Type"] == documented_users["headers"]["Content-Type"]
    # The sandbox serves none of memberOf, planner, groups or SSO credentials (and /me needs
    # a person's token): those items come back with a Graph error body.
    assert {ours[key]["status"] for key in "1234"} <= {400, 403, 404, 405}


def test_batch_dependson_example_order(graph: httpx.Client, headers: dict[str, str]) -> None:
    example = load_example("batch-dependson.request.json")
    requests = [{**item, "url": "/users?$top=1"} for item in example["request"]["requests"]]
    answers = graph.post("$batch", json={"requests": requests}, headers=headers).json()["responses"]
    assert [item["id"] for item in answers] == ["1", "2", "4", "3"]
    assert all(item["status"] == 200 for item in answers)


def _sandbox_now(sandbox: RunningSandbox) -> datetime:
    return datetime.fromisoformat(sandbox.control("GET", "/clock").json()["now"])


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


def test_subscription_and_notification_examples_as_the_sandbox_sends_them(
    sandbox: RunningSandbox,
    graph: httpx.Client,
    headers: dict[str, str],
    receiver: WebhookReceiver,
    certificate: SubscriberCertificate,
) -> None:
    person = sandbox.info["users"][6]
    expires = _sandbox_now(sandbox) + timedelta(minutes=10)  # near expiry: challenged at once
    body = {
        "changeType": "updated",
        "notificationUrl": receiver.url("/examples"),
        "lifecycleNotificationUrl": receiver.url("/examples-lifecycle"),
        "resource": f"users/{person['id']}",
        "expirationDateTime": expires.isoformat(),
        "clientState": "secretClientValue",
        "includeResourceData": True,
        "encryptionCertificate": certificate.base64_der,
        "encryptionCertificateId": "examples-cert",
    }
    created = graph.post("subscriptions", headers=headers, json=body)
    assert created.status_code == 201, created.text
    url = f"subscriptions/{created.json()['id']}"
    try:
        # The validation request reaches both endpoints as documented.
        validation = load_example("notification-validation.request.json")
        checked = {path: sent for path, sent in receiver.validation_headers}
        for path in ("/examples", "/examples-lifecycle"):
            content_type = validation["request_headers"]["Content-Type"]
            assert checked[path]["Content-Type"] == content_type

        lifecycle = receiver.wait_for(
            lambda: receiver.posts_to("/examples-lifecycle"), what="reauthorizationRequired"
        )[0].body
        documented_lifecycle = load_example("notification-lifecycle.payload.json")["request"]
        assert shape_differences(lifecycle, documented_lifecycle, allow_extra=False) == []
        assert lifecycle["value"][0]["lifecycleEvent"] == "reauthorizationRequired"

        # A directory change (the same job title again still counts as one).
        change = {"jobTitle": person["jobTitle"]}
        assert sandbox.control("POST", f"/users/{person['id']}", json=change).status_code == 200
        posted = receiver.wait_for(lambda: receiver.posts_to("/examples"), what="a change")[0]
        generic = load_example("notification-generic.payload.json")["request"]["value"][0]
        # That example is an Outlook message; a user's resourceData carries no @odata.etag.
        generic_user = {
            **generic,
            "resourceData": {
                k: v for k, v in generic["resourceData"].items() if k != "@odata.etag"
            },
        }
        assert shape_differences(posted.body["value"][0], generic_user) == []
        token_claims = load_example("notification-validationtoken-jwt.claims.json")["response"]
        [token] = posted.body["validationTokens"]
        assert shape_differences(_claims(token), token_claims) == []

        for name, answer in (
            (
                "subscriptions-reauthorize.request.json",
                graph.post(f"{url}/reauthorize", headers=headers),
            ),
            ("subscriptions-delete.request.json", graph.delete(url, headers=headers)),
        ):
            example = load_example(name)
            assert answer.status_code == example["status"], name
            assert answer.content == b"", name
    finally:
        graph.delete(url, headers=headers)
