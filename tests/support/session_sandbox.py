"""The control API of the sandbox the test session's portal settings point at."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from django.conf import settings


def control_url() -> str:
    info = json.loads(Path(settings.SANDBOX_INFO_FILE).read_text())
    return str(info["control_url"])


def control(method: str, path: str, body: Any = None) -> httpx.Response:
    """Call the session sandbox's control API and fail loudly on an error answer."""
    response = httpx.request(method, control_url() + path, json=body, timeout=10)
    response.raise_for_status()
    return response


@contextmanager
def clock_moved(seconds: float) -> Iterator[None]:
    """Run the sandbox clock ``seconds`` ahead, and back to real time afterwards."""
    control("POST", "/clock", {"advance_seconds": seconds})
    try:
        yield
    finally:
        control("POST", "/clock", {"reset": True})
