"""The callback intake takes only the calling platform's signed, fresh, unreplayed callbacks."""

# Fixtures are imported by name, so their parameters shadow them.
# ruff: noqa: F811

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import httpx
import jwt
import pytest
from asgiref.sync import async_to_sync
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pytest_django.fixtures import Settings as SettingsWrapper

from comms_portal.asgi import application
from comms_portal.notifications import inbox
from tests.calls.support import (  # noqa: F401  (fixtures)
    INTAKE,
    bot_webhook,
    captured_callback,
    control,
    receiver,
    through_asgi,
)
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.django_db(transaction=True)


def _headers(token: str | None) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def _real(receiver: WebhookReceiver) -> tuple[str, bytes]:
    post = captured_callback(receiver)
    token = post.headers["Authorization"].removeprefix("Bearer ")
    return token, json.dumps(post.body).encode()


def _queued() -> int:
    return inbox.waiting()


def test_a_real_callback_is_taken_into_the_inbox(bot_webhook: WebhookReceiver) -> None:
    token, body = _real(bot_webhook)

    answer = through_asgi(body, _headers(token))

    assert answer.status_code == 202
    queued = inbox.bodies_waiting()
    assert len(queued) == 1
    assert inbox.split_callback(queued[0]) == ("calls", body.decode())


@pytest.mark.parametrize(
    "authorization",
    [None, "Basic dXNlcjpwYXNz", "Bearer", "Bearer not-a-jwt", "Bearer a.b.c"],
    ids=["missing", "basic", "empty-bearer", "not-a-jwt", "garbage-jwt"],
)
def test_callbacks_without_a_usable_token_are_refused(
    bot_webhook: WebhookReceiver, authorization: str | None
) -> None:
    _, body = _real(bot_webhook)
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization

    answer = through_asgi(body, headers)

    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert _queued() == 0


def test_a_token_signed_by_another_key_is_refused(
    bot_webhook: WebhookReceiver, settings: SettingsWrapper, caplog: pytest.LogCaptureFixture
) -> None:
    real_token, body = _real(bot_webhook)
    claims = jwt.decode(real_token, options={"verify_signature": False})
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = jwt.get_unverified_header(real_token)["kid"]
    forged = jwt.encode(claims, forger, algorithm="RS256", headers={"kid": kid})

    answer = through_asgi(body, _headers(forged))

    assert answer.status_code == 401
    assert _queued() == 0
    assert "callback refused" in caplog.text


def test_a_token_naming_an_unknown_key_is_refused(bot_webhook: WebhookReceiver) -> None:
    real_token, body = _real(bot_webhook)
    claims = jwt.decode(real_token, options={"verify_signature": False})
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, forger, algorithm="RS256", headers={"kid": "forger-key"})

    assert through_asgi(body, _headers(forged)).status_code == 401


def test_a_token_for_another_bot_is_refused(
    bot_webhook: WebhookReceiver, settings: SettingsWrapper
) -> None:
    token, body = _real(bot_webhook)
    settings.CALLS_BOT_APP_ID = "00000000-0000-4000-8000-00000000b07"

    assert through_asgi(body, _headers(token)).status_code == 401
    assert _queued() == 0


def test_a_token_for_another_tenant_is_refused(
    bot_webhook: WebhookReceiver, settings: SettingsWrapper
) -> None:
    token, body = _real(bot_webhook)
    settings.ALLOWED_TENANTS = ["00000000-0000-4000-8000-0000000000aa"]

    assert through_asgi(body, _headers(token)).status_code == 401


def test_a_token_from_another_issuer_is_refused(
    bot_webhook: WebhookReceiver, settings: SettingsWrapper
) -> None:
    token, body = _real(bot_webhook)
    settings.CALLS_CALLBACK_ISSUERS = ["https://issuer.example"]

    assert through_asgi(body, _headers(token)).status_code == 401


def test_an_expired_token_is_refused(bot_webhook: WebhookReceiver) -> None:
    # The platform mints tokens that expired ten minutes ago (beyond the 5 minutes of skew).
    control("POST", "/calls/settings", {"callbackTokenSeconds": -600})
    token, body = _real(bot_webhook)

    assert jwt.decode(token, options={"verify_signature": False})["exp"] < time.time() - 300
    assert through_asgi(body, _headers(token)).status_code == 401
    assert _queued() == 0


def test_a_replayed_callback_is_refused(bot_webhook: WebhookReceiver) -> None:
    token, body = _real(bot_webhook)

    assert through_asgi(body, _headers(token)).status_code == 202
    assert through_asgi(body, _headers(token)).status_code == 401
    assert _queued() == 1


def test_a_callback_refused_while_the_inbox_is_full_may_come_again(
    bot_webhook: WebhookReceiver, settings: SettingsWrapper
) -> None:
    token, body = _real(bot_webhook)
    settings.NOTIFICATION_INBOX_MAX_BODIES = 0

    full = through_asgi(body, _headers(token))
    settings.NOTIFICATION_INBOX_MAX_BODIES = 50_000
    again = through_asgi(body, _headers(token))

    assert full.status_code == 503 and full.headers["retry-after"]
    assert again.status_code == 202
    assert _queued() == 1


def test_keys_rotated_by_the_platform_are_picked_up(
    bot_webhook: WebhookReceiver, settings: SettingsWrapper
) -> None:
    # An unknown key id makes the intake read the keys again (no more often than this).
    settings.CALLS_KEYS_MIN_REFRESH_SECONDS = 0
    token, body = _real(bot_webhook)
    assert through_asgi(body, _headers(token)).status_code == 202
    control("POST", "/calls/keys/rotate", {"dropOld": True})
    time.sleep(0.1)

    new_token, new_body = _real(bot_webhook)

    assert jwt.get_unverified_header(new_token)["kid"] != jwt.get_unverified_header(token)["kid"]
    assert through_asgi(new_body, _headers(new_token)).status_code == 202


def test_callbacks_arriving_while_the_keys_are_first_read_are_all_taken(
    bot_webhook: WebhookReceiver,
) -> None:
    # A fresh process reads the platform's keys once; callbacks that come meanwhile wait for
    # that read instead of being refused for naming a key not known yet.
    token, body = _real(bot_webhook)
    call_id = json.loads(body)["value"][0]["resourceUrl"].rsplit("/", 1)[-1]
    bodies = [body.decode().replace(call_id, str(uuid.uuid4())).encode() for _ in range(8)]

    async def together() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            return await asyncio.gather(
                *(http.post(INTAKE, content=one, headers=_headers(token)) for one in bodies)
            )

    answers = async_to_sync(together)()

    assert [answer.status_code for answer in answers] == [202] * len(bodies)
    assert _queued() == len(bodies)


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b"[]", b'{"value": []}', b'{"value": [{}]}', b'{"value": [{"changeType": "x"}]}'],
    ids=["empty", "not-json", "array", "no-notifications", "empty-item", "bad-change-type"],
)
def test_a_malformed_body_with_a_good_token_is_refused(
    bot_webhook: WebhookReceiver, body: bytes
) -> None:
    token, _ = _real(bot_webhook)

    assert through_asgi(body, _headers(token)).status_code == 400
    assert _queued() == 0


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
_notification = st.fixed_dictionaries(
    {},
    optional={
        "changeType": st.sampled_from(["created", "updated", "deleted", "other"]) | _json,
        "resourceUrl": st.sampled_from(
            ["/communications/calls/x", "/communications/calls/x/participants", "/other", ""]
        )
        | _json,
        "resourceData": _json,
    },
)
_bodies = st.one_of(
    st.binary(max_size=200),
    _json.map(lambda value: json.dumps(value).encode()),
    st.fixed_dictionaries({"value": st.lists(_notification, max_size=3) | _json}).map(
        lambda value: json.dumps(value).encode()
    ),
)


def test_malformed_bodies_never_reach_the_handler_and_never_fail_the_intake(
    bot_webhook: WebhookReceiver,
) -> None:
    token, _ = _real(bot_webhook)
    seen: list[tuple[bytes, int]] = []

    @hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(body=_bodies)
    def check(body: bytes) -> None:
        answer = through_asgi(body, _headers(token))
        seen.append((body, answer.status_code))
        assert answer.status_code in (202, 400, 401)

    check()
    for body, status in seen:
        if status == 202:
            parsed: Any = json.loads(body)
            assert isinstance(parsed["value"], list) and parsed["value"]
            for item in parsed["value"]:
                assert item["changeType"] in ("created", "updated", "deleted")
                assert item["resourceUrl"].startswith("/communications/calls/")
