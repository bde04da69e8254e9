"""A lean ASGI route for the presence webhook, in front of Django's HTTP handler.

Graph may post a thousand notifications a second, and each wants its answer within
milliseconds (https://learn.microsoft.com/graph/change-notifications-delivery-webhooks).
Django's handler would run the whole middleware stack and hop onto its one thread for sync
code twice a request (the request_started/finished signals), so at that rate requests queue
behind each other. This route answers the two webhook paths itself, with exactly the checks
and answers of ``presence.webhook_views`` (both call ``presence.webhook``); every other
request goes on to Django unchanged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.urls import reverse

from presence import webhook
from presence.webhook import Answer, Channel

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
# Loose on purpose: Django's handler and static-files wrapper declare narrower message types.
ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]


class BodyTooLarge(Exception):
    """The client sent more bytes than the webhook accepts."""


class ClientGone(Exception):
    """The client disconnected before its body arrived."""


class WebhookIntake:
    """Answer the presence webhook paths directly; hand everything else to ``app``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._paths: dict[str, Channel] | None = None

    def _channel_of(self, path: str) -> Channel | None:
        if self._paths is None:
            # Resolved on first use: the URLconf is the single source of these paths.
            self._paths = {
                reverse("presence-webhook:notifications"): "change",
                reverse("presence-webhook:lifecycle"): "lifecycle",
            }
        return self._paths.get(path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        channel = self._channel_of(scope["path"]) if scope["type"] == "http" else None
        if channel is None:
            await self.app(scope, receive, send)
            return
        try:
            answer = await self._answer(scope, receive, channel)
        except ClientGone:
            return
        await _send_answer(send, answer)

    async def _answer(self, scope: Scope, receive: Receive, channel: Channel) -> Answer:
        if not _host_allowed(_header(scope, b"host")):
            # As Django answers a Host header outside ALLOWED_HOSTS.
            return Answer(400, "Invalid Host header")
        if scope["method"] != "POST":
            return Answer(405, "", (("Allow", "POST"),))
        token = _query_value(scope, "validationToken")
        if token is not None:
            return webhook.validation_echo(token)
        refused = webhook.declared_length_refused(_header(scope, b"content-length"))
        if refused is not None:
            return refused
        try:
            body = await _read_body(receive, settings.WEBHOOK_MAX_BODY_BYTES)
        except BodyTooLarge:
            return Answer(413, "body too large")
        return await webhook.answer_body(body, channel)


def _host_allowed(host: str | None) -> bool:
    allowed = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]  # Django's own DEBUG default
    domain, _port = split_domain_port(host or "")
    return bool(domain) and validate_host(domain, allowed)


def _query_value(scope: Scope, name: str) -> str | None:
    """Return the last value of ``name`` in the query string, decoded as Django decodes it."""
    raw = scope.get("query_string", b"").decode("utf-8", "replace")
    values = [value for key, value in parse_qsl(raw, keep_blank_values=True) if key == name]
    return values[-1] if values else None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


async def _read_body(receive: Receive, limit: int) -> bytes:
    """Read the request body, refusing it as soon as it grows past ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send_answer(send: Send, answer: Answer) -> None:
    body = answer.text.encode("utf-8")
    headers = [
        (b"content-type", webhook.PLAIN_TEXT.encode()),
        (b"content-length", str(len(body)).encode()),
        *(
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in answer.headers
        ),
    ]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
