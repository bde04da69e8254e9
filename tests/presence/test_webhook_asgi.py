"""The webhook's lean ASGI route answers exactly as the Django views do, and only for its paths."""

# Fixtures are imported by name, so their parameters shadow them.
# ruff: noqa: F811

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from asgiref.sync import async_to_sync
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper

from comms_portal.asgi import application
from presence import store
from tests.presence.engine_fixtures import (  # noqa: F401  (fixtures)
    Control,
    clean_presence,
    delivered_bodies,
    enqueued,
)
from tests.presence.test_webhook import (  # noqa: F401  (fixtures)
    URL,
    control,
    edited,
    grace,
    real_body,
    sandbox,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_presence")]
LIFECYCLE_URL = f"{URL}/lifecycle"


def through_asgi(
    method: str, path: str, body: bytes = b"", *, host: str = "testserver"
) -> httpx.Response:
    """Send one request to the portal's ASGI application, as uvicorn would hand it over."""

    async def exchange() -> httpx.Response:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{host}") as http:
            return await http.request(
                method, path, content=body, headers={"Content-Type": "application/json"}
            )

    return async_to_sync(exchange)()


def test_the_handshake_is_echoed_as_plain_text_that_browsers_never_sniff() -> None:
    token = "Validation: Testing client application reachability for subscription Request-Id: 2"

    answer = through_asgi("POST", f"{URL}?validationToken={token.replace(' ', '%20')}")

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.text == token


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        pytest.param("POST", f"{URL}?validationToken={'t' * 5000}", b"", id="token-too-long"),
        pytest.param("GET", URL, b"", id="get-changes"),
        pytest.param("PUT", LIFECYCLE_URL, b"{}", id="put-lifecycle"),
        pytest.param("POST", URL, b"{not json", id="not-json"),
        pytest.param("POST", URL, b"[]", id="not-an-object"),
        pytest.param("POST", URL, b'{"value": [{}]}', id="item-without-fields"),
        pytest.param("POST", LIFECYCLE_URL, b'{"value": []}', id="empty-lifecycle"),
        pytest.param(
            "POST",
            URL,
            json.dumps({"value": [{"subscriptionId": "nope", "clientState": "x"}]}).encode(),
            id="unknown-subscription",
        ),
    ],
)
def test_each_answer_matches_the_django_view(
    client: Client, enqueued: list[tuple[str, list[Any]]], method: str, path: str, body: bytes
) -> None:
    expected = client.generic(method, path, body, content_type="application/json")

    answer = through_asgi(method, path, body)

    assert answer.status_code == expected.status_code
    assert answer.content == expected.content
    assert enqueued == []  # none of these is a notification of ours


def test_a_body_over_the_limit_is_refused_with_413(settings: SettingsWrapper) -> None:
    settings.WEBHOOK_MAX_BODY_BYTES = 4096
    body = json.dumps({"value": [{"subscriptionId": "x" * 5000}]}).encode()

    assert through_asgi("POST", URL, body).status_code == 413


def test_a_host_outside_allowed_hosts_is_refused_as_django_refuses_it() -> None:
    answer = through_asgi("POST", URL, b'{"value": []}', host="attacker.example")

    assert answer.status_code == 400
    assert answer.text == "Invalid Host header"


def test_other_paths_still_reach_django() -> None:
    assert through_asgi("GET", "/graph/notifications/presence-not-ours").status_code == 404


def test_a_genuine_notification_is_queued_and_a_forged_one_is_not(
    grace: str, control: Control
) -> None:
    genuine = real_body(control, grace, ("Busy", "InACall"))
    forged = edited(genuine, lambda d: d["value"][0].update(clientState="not-the-secret"))
    queued = len(delivered_bodies())

    assert through_asgi("POST", URL, forged.encode()).status_code == 202
    assert len(delivered_bodies()) == queued
    assert through_asgi("POST", URL, genuine.encode()).status_code == 202

    assert delivered_bodies()[queued:] == [genuine]
    assert store.get_one(grace) is None  # recording is the task's job, not the webhook's
