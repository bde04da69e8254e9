"""Rules for notification URLs and the validation handshake Graph performs on them.

https://learn.microsoft.com/graph/change-notifications-delivery-webhooks#notificationurl-validation
"""

from __future__ import annotations

import ipaddress
import time
import uuid
from http import HTTPStatus
from urllib.parse import urlsplit

import httpx

from sandbox.graph.routing import GraphError

LOOPBACK_NAMES = frozenset({"localhost"})


def is_loopback_host(host: str) -> bool:
    """Tell whether ``host`` names this machine (127.0.0.0/8, ::1 or localhost)."""
    name = host.strip("[]").lower()
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_notification_url(url: object, property_name: str, *, allow_remote_hosts: bool) -> str:
    """Return ``url`` if Graph (and the sandbox) can deliver to it, else raise Graph's 400."""
    if not isinstance(url, str) or not url.strip():
        raise GraphError(400, "InvalidRequest", f"{property_name} must be a non-empty URL.")
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    if parts.scheme.lower() not in {"https", "http"} or not host:
        raise GraphError(
            400, "InvalidRequest", f"{property_name} must be an absolute https URL: {url!r}."
        )
    loopback = is_loopback_host(host)
    # Graph insists on https; plain http is tolerated on this machine for the demo portal.
    if parts.scheme.lower() == "http" and not loopback:
        raise GraphError(
            400,
            "InvalidRequest",
            f"The {property_name} must use the https scheme; http is accepted only on a "
            f"loopback address.",
        )
    if not loopback and not allow_remote_hosts:
        raise GraphError(
            400,
            "InvalidRequest",
            f"The sandbox delivers notifications only to loopback addresses (127.0.0.0/8, "
            f"::1, localhost); {property_name} host {host!r} is not one.",
        )
    return url.strip()


def new_validation_token() -> str:
    """Return an opaque validation token in the spirit of the text Graph sends."""
    return (
        "Validation: Testing client application reachability for subscription "
        f"Request-Id: {uuid.uuid4()}"
    )


async def run_validation_handshake(
    client: httpx.AsyncClient, url: str, *, timeout: float
) -> tuple[int | None, float, str]:
    """POST a validation request to ``url``; return (status, latency ms, failure or "")."""
    token = new_validation_token()
    started = time.perf_counter()
    try:
        response = await client.post(
            url,
            params={"validationToken": token},
            content=b"",
            headers={"Content-Type": "text/plain; charset=utf-8"},
            timeout=timeout,
        )
    except httpx.TimeoutException:
        return None, (time.perf_counter() - started) * 1000, "timeout"
    except httpx.HTTPError as exc:
        return None, (time.perf_counter() - started) * 1000, f"unreachable: {exc}"
    latency = (time.perf_counter() - started) * 1000
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if response.status_code != 200:
        return response.status_code, latency, f"status {response.status_code}"
    if content_type != "text/plain":
        return response.status_code, latency, f"content type {content_type or 'missing'}"
    if response.text != token:
        return response.status_code, latency, "body does not match the validation token"
    return response.status_code, latency, ""


def handshake_error(property_name: str, status: int | None, failure: str) -> GraphError:
    """Return the error Graph answers when a notification endpoint fails validation."""
    if failure == "timeout":
        return GraphError(400, "InvalidRequest", "Subscription validation request timed out.")
    if status is not None and status != 200:
        reason = _reason_phrase(status)
        return GraphError(
            400,
            "ValidationError",
            f"Subscription validation request failed. HTTP status code is '{reason}'. "
            f"Notification endpoint must respond with 200 OK to validation request.",
        )
    if failure.startswith("content type"):
        detail = "Response must have Content-Type text/plain"
    elif failure.startswith("body"):
        detail = "Response must exactly match validationToken query parameter"
    else:
        detail = f"The {property_name} could not be reached"
    return GraphError(
        400,
        "ValidationError",
        f"Subscription validation request failed. {detail}. "
        f"Notification endpoint must respond with 200 OK to validation request.",
    )


def _reason_phrase(status: int) -> str:
    """Return the status name as .NET prints it (``Forbidden``, ``InternalServerError``)."""
    try:
        return HTTPStatus(status).phrase.replace(" ", "").replace("-", "")
    except ValueError:
        return str(status)
