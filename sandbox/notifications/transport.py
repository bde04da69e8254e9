"""The HTTP side of delivery: posting a notification collection and the TLS trust used."""

from __future__ import annotations

import ssl
import time
from pathlib import Path
from typing import Any

import httpx


def trust_context(ca_bundle: Path | None) -> ssl.SSLContext:
    """Trust the system's CAs plus the sandbox's own, for https receivers on this machine."""
    context = ssl.create_default_context()
    if ca_bundle is not None and ca_bundle.exists():
        context.load_verify_locations(cafile=str(ca_bundle))
    return context


async def post_notifications(
    client: httpx.AsyncClient, url: str, body: dict[str, Any], *, timeout: float
) -> tuple[int | None, float, str]:
    """POST ``body`` to ``url``; return (status, latency ms, failure or "" when delivered)."""
    started = time.perf_counter()
    try:
        response = await client.post(
            url,
            json=body,
            headers={"Content-Type": "application/json; charset=utf-8"},
            timeout=timeout,
        )
    except httpx.TimeoutException:
        return None, (time.perf_counter() - started) * 1000, "timeout"
    except httpx.HTTPError as exc:
        return None, (time.perf_counter() - started) * 1000, f"unreachable: {exc}"
    latency = (time.perf_counter() - started) * 1000
    # Graph counts any 2xx (200, 202, 204) as delivered and retries everything else.
    if 200 <= response.status_code < 300:
        return response.status_code, latency, ""
    return response.status_code, latency, f"status {response.status_code}"
