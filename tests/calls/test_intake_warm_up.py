"""A web process reads the calling platform's keys as it starts, and starts whatever they do."""

# Fixtures are imported by name, so their parameters shadow them.
# ruff: noqa: F811

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from pytest_django.fixtures import Settings as SettingsWrapper

from comms_portal.asgi import application
from comms_portal.notifications import inbox
from comms_portal.notifications.asgi import IntakeLifespan
from tests.calls.support import (  # noqa: F401  (fixtures)
    bot_webhook,
    captured_callback,
    receiver,
    through_asgi,
)
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.django_db(transaction=True)

# Nothing listens here: reading the platform's keys from it fails at once.
UNREACHABLE = "https://127.0.0.1:9/v1/.well-known/OpenIdConfiguration"


def _start_and_stop_the_server() -> list[str]:
    """Take the web process through the server's start (waiting for its warm-up) and stop."""

    async def lifespan() -> list[str]:
        inbound: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        answers: list[str] = []

        async def send(message: Any) -> None:
            answers.append(message["type"])

        lifespan_app = application.application_mapping["lifespan"]
        assert isinstance(lifespan_app, IntakeLifespan)
        lifespan_app.warming = None  # an earlier start's
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}}
        server = asyncio.create_task(application(scope, inbound.get, send))
        await inbound.put({"type": "lifespan.startup"})
        while lifespan_app.warming is None:
            await asyncio.sleep(0)
        await lifespan_app.warming
        await inbound.put({"type": "lifespan.shutdown"})
        await server
        return answers

    return async_to_sync(lifespan)()


def _real(receiver: WebhookReceiver) -> tuple[dict[str, str], bytes]:
    post = captured_callback(receiver)
    headers = {
        "Content-Type": "application/json",
        "Authorization": post.headers["Authorization"],
    }
    return headers, json.dumps(post.body).encode()


def test_the_first_callback_after_a_start_waits_for_no_read_of_the_keys(
    bot_webhook: WebhookReceiver, settings: SettingsWrapper
) -> None:
    assert _start_and_stop_the_server() == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]
    # Read at start: the first callback is taken with the platform's keys out of reach.
    settings.CALLS_PLATFORM_OPENID_CONFIGURATION = UNREACHABLE
    headers, body = _real(bot_webhook)

    assert through_asgi(body, headers).status_code == 202
    assert inbox.waiting() == 1


def test_a_web_process_starts_while_the_platform_s_keys_are_out_of_reach(
    bot_webhook: WebhookReceiver, settings: SettingsWrapper
) -> None:
    platform = settings.CALLS_PLATFORM_OPENID_CONFIGURATION
    settings.CALLS_PLATFORM_OPENID_CONFIGURATION = UNREACHABLE

    assert _start_and_stop_the_server() == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]

    # Back within the refresh limit: the failed read at start did not use it up.
    settings.CALLS_PLATFORM_OPENID_CONFIGURATION = platform
    headers, body = _real(bot_webhook)
    assert through_asgi(body, headers).status_code == 202
    assert inbox.waiting() == 1


def test_a_callback_with_an_unknown_key_is_still_refused_after_a_warm_start(
    bot_webhook: WebhookReceiver,
) -> None:
    _start_and_stop_the_server()
    headers, body = _real(bot_webhook)
    headers["Authorization"] = "Bearer " + _token_with_kid(
        headers["Authorization"].removeprefix("Bearer "), "not-a-platform-key"
    )

    assert through_asgi(body, headers).status_code == 401
    assert inbox.waiting() == 0


def _token_with_kid(token: str, kid: str) -> str:
    """Return ``token`` with its header naming key ``kid`` (its signature no longer holds)."""
    header, payload, signature = token.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    decoded["kid"] = kid
    encoded = base64.urlsafe_b64encode(json.dumps(decoded).encode()).rstrip(b"=").decode()
    return ".".join((encoded, payload, signature))
