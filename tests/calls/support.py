"""Real callbacks of the test sandbox, carried into the portal's intake and drained in-process.

The sandbox posts its callbacks to a loopback receiver (the portal under test listens on no
port here); :class:`CallbackPump` hands each one, with its headers, to the portal's ASGI
application exactly as uvicorn would, then drains the inbox as the worker does. The receiver
is also the portal's public address for what the platform fetches: each GET (a prompt, a
spoken message) goes to the portal's ASGI application as it arrives, so the sandbox plays
what the portal's views really serve.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import redis
from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import connections

from calls import authentication, dispatch
from comms_portal.asgi import application
from comms_portal.notifications import drain, inbox
from tests.support import session_sandbox
from tests.support.webhook_receiver import ReceivedPost, WebhookReceiver

INTAKE = "/graph/notifications/calls"


def control(method: str, path: str, body: Any = None) -> httpx.Response:
    """Call the session sandbox's control API."""
    return session_sandbox.control(method, path, body)


def sandbox_info() -> dict[str, Any]:
    return dict(control("GET", "/info").json())


def user_id(upn: str) -> str:
    """Return the object id of a person of the sandbox tenant."""
    for user in sandbox_info()["users"]:
        if user["userPrincipalName"] == upn:
            return str(user["id"])
    raise LookupError(upn)


def set_presence(upn: str, availability: str, activity: str) -> None:
    answer = control(
        "POST", f"/presence/{user_id(upn)}", {"availability": availability, "activity": activity}
    )
    assert answer.status_code == 200, answer.text


def presence_in_sandbox(upn: str) -> tuple[str, str]:
    person = control("GET", f"/presence/state?ids={user_id(upn)}").json()["people"][0]
    return person["availability"], person["activity"]


def through_asgi(body: bytes, headers: dict[str, str], path: str = INTAKE) -> httpx.Response:
    """POST one callback to the portal's ASGI application."""

    async def exchange() -> httpx.Response:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            return await http.post(path, content=body, headers=headers)

    return async_to_sync(exchange)()


def portal_get(path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """Answer one GET the platform makes of the portal's public address, by the portal itself."""

    async def exchange() -> httpx.Response:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            return await http.get(path, headers={"Accept": headers.get("Accept", "*/*")})

    try:
        answer = async_to_sync(exchange)()
    finally:
        # The view ran in this server thread, on a database connection of its own.
        connections.close_all()
    return answer.status_code, dict(answer.headers), answer.content


def drain_now() -> int:
    """Drain the inbox as the worker does, without lingering; wait for the calls' handlers."""
    drained = inbox.drain(
        f"test-{uuid.uuid4()}", drain.handle_batch, hand_over=lambda: None, linger_seconds=0
    )
    assert dispatch.dispatcher().wait_until_idle(), "the calls' handlers did not finish"
    return drained


class CallbackPump:
    """Forward the sandbox's callbacks into the portal and drain them, until a check holds."""

    def __init__(self, receiver: WebhookReceiver) -> None:
        self.receiver = receiver
        self.forwarded = 0
        self.answers: list[int] = []

    def pending(self) -> list[ReceivedPost]:
        posts = self.receiver.posts
        fresh = posts[self.forwarded :]
        self.forwarded = len(posts)
        return fresh

    def step(self) -> int:
        moved = 0
        for post in self.pending():
            headers = {"Content-Type": "application/json"}
            if "Authorization" in post.headers:
                headers["Authorization"] = post.headers["Authorization"]
            answer = through_asgi(json.dumps(post.body).encode(), headers)
            self.answers.append(answer.status_code)
            moved += 1
        if moved:
            drain_now()
        return moved

    def until(self, check: Callable[[], Any], timeout: float = 20.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.step()
            result = check()
            if result:
                return result
            time.sleep(0.05)
        raise AssertionError(f"not reached in {timeout} s; intake answers {self.answers}")


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(on_get=portal_get) as running:
        yield running


@pytest.fixture
def bot_webhook(receiver: WebhookReceiver, settings: Any) -> Iterator[WebhookReceiver]:
    """Point the sandbox bot's webhook, and the portal's callback address, at the receiver."""
    base = receiver.url("/").rstrip("/")
    settings.PUBLIC_BASE_URL = base
    control("POST", "/calls/webhook", {"url": base + INTAKE})
    control(
        "POST",
        "/calls/settings",
        {"answerSeconds": 0.2, "declineSeconds": 0.1, "promptSeconds": 0.1},
    )
    authentication.forget_keys()
    client = redis.Redis.from_url(settings.REDIS_URL)
    for pattern in ("portal:notifications:*", "portal:calls:*"):
        for key in client.scan_iter(pattern):
            client.delete(key)
    yield receiver
    control("POST", "/calls/settings", {"callbackTokenSeconds": 3600})


def captured_callback(receiver: WebhookReceiver, *, caller: str = "+447700900123") -> ReceivedPost:
    """Ring the reception line and return the real callback the platform posted."""
    answer = control("POST", "/calls/incoming", {"from": {"phone": caller}})
    assert answer.status_code == 201, answer.text
    call_id = answer.json()["id"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for post in receiver.posts:
            if call_id in json.dumps(post.body):
                return post
        time.sleep(0.02)
    raise AssertionError("the platform posted no callback")


def bot_app_id() -> str:
    return str(settings.CALLS_BOT_APP_ID)
