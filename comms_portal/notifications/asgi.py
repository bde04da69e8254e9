"""A lean ASGI route for the notification intake, in front of Django's HTTP handler.

Graph may post a thousand notifications a second, and each wants its answer within
milliseconds (https://learn.microsoft.com/graph/change-notifications-delivery-webhooks).
Django's handler would run the whole middleware stack and hop onto its one thread for sync
code twice a request (the request_started/finished signals), so at that rate requests queue
behind each other. This route answers the intake paths itself, with exactly the checks and
answers of ``comms_portal.notifications.views`` (both call ``intake``); every other request
goes on to Django unchanged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.urls import reverse

from comms_portal.notifications import intake, registry
from comms_portal.notifications.intake import LIFECYCLE, Answer, Endpoint

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
# Loose on purpose: Django's handler and static-files wrapper declare narrower message types.
ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]


class BodyTooLarge(Exception):
    """The client sent more bytes than the intake accepts."""


class ClientGone(Exception):
    """The client disconnected before its body arrived."""


def endpoint_of(path: str, prefix: str) -> Endpoint | None:
    """Return the intake endpoint ``path`` names under ``prefix``, or None for other paths."""
    if not path.startswith(prefix):
        return None
    rest = path[len(prefix) :]
    if rest == "lifecycle":
        return LIFECYCLE
    kind, _, tail = rest.partition("/")
    if registry.callback_kind(kind) is not None:
        return Endpoint(kind=kind, callback=True) if not tail else None
    if not registry.is_registered(kind):
        return None
    if not tail:
        return Endpoint(kind=kind)
    # Subscriptions made before the one lifecycle URL still post to their kind's own.
    return LIFECYCLE if tail == "lifecycle" else None


class NotificationIntake:
    """Answer the intake paths directly; hand everything else to ``app``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._prefix: str | None = None

    def resolve_paths(self) -> None:
        """Read the intake's paths from the URLconf now (which loads it whole), not on a request."""
        self._endpoint_of("/")

    def _endpoint_of(self, path: str) -> Endpoint | None:
        if self._prefix is None:
            # Resolved on first use: the URLconf is the single source of these paths.
            self._prefix = reverse("notifications:lifecycle").removesuffix("lifecycle")
        return endpoint_of(path, self._prefix)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self._endpoint_of(scope["path"]) if scope["type"] == "http" else None
        if endpoint is None:
            await self.app(scope, receive, send)
            return
        try:
            answer = await self._answer(scope, receive, endpoint)
        except ClientGone:
            return
        await _send_answer(send, answer)

    async def _answer(self, scope: Scope, receive: Receive, endpoint: Endpoint) -> Answer:
        if not _host_allowed(_header(scope, b"host")):
            # As Django answers a Host header outside ALLOWED_HOSTS.
            return Answer(400, "Invalid Host header")
        if scope["method"] != "POST":
            return Answer(405, "", (("Allow", "POST"),))
        if endpoint.callback:
            refused = intake.declared_length_refused(_header(scope, b"content-length"), endpoint)
            if refused is not None:
                return refused
            try:
                body = await _read_body(receive, settings.WEBHOOK_MAX_BODY_BYTES)
            except BodyTooLarge:
                return intake.too_large(endpoint)
            return await intake.answer_callback(body, endpoint, _header(scope, b"authorization"))
        token = _query_value(scope, "validationToken")
        if token is not None:
            return intake.validation_echo(token)
        refused = intake.declared_length_refused(_header(scope, b"content-length"), endpoint)
        if refused is not None:
            return refused
        try:
            body = await _read_body(receive, settings.WEBHOOK_MAX_BODY_BYTES)
        except BodyTooLarge:
            return intake.too_large(endpoint)
        return await intake.answer_body(body, endpoint)


class IntakeLifespan:
    """Answer the server's start and stop; make the intake ready in the background at start.

    The server takes requests at once: the first callbacks wait for what is still being made
    ready, as they would have without it, and a part that cannot be made ready (the calling
    platform unreachable) never stops the process from starting.
    """

    def __init__(self, intake_app: NotificationIntake) -> None:
        self.intake_app = intake_app
        self.warming: asyncio.Task[None] | None = None

    async def _warm_up(self) -> None:
        # The first request would load the URLconf (every view module) on the event loop.
        self.intake_app.resolve_paths()
        await intake.warm_up()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.warming = asyncio.get_running_loop().create_task(self._warm_up())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.warming is not None and not self.warming.done():
                    self.warming.cancel()
                await send({"type": "lifespan.shutdown.complete"})
                return


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
        (b"content-type", intake.PLAIN_TEXT.encode()),
        (b"content-length", str(len(body)).encode()),
        *(
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in answer.headers
        ),
    ]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
