"""A sandbox of the virtual events tests' own, with tokens for the cast and Graph helpers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.sandbox.conftest import app_token, bearer, ca_context, user_token_result
from tests.support.sandbox import RunningSandbox, start_sandbox

GRAPH = "https://graph.microsoft.com/"
READ_WRITE = (GRAPH + "VirtualEvent.ReadWrite",)
READ_ONLY = (GRAPH + "VirtualEvent.Read",)


class Tokens:
    """Access tokens for the cast, fetched once per person and scope set."""

    def __init__(self, sandbox: RunningSandbox) -> None:
        self.sandbox = sandbox
        self._cache: dict[tuple[str, tuple[str, ...]], str] = {}

    def user(self, upn: str, scopes: tuple[str, ...] = READ_WRITE) -> dict[str, str]:
        key = (upn, scopes)
        if key not in self._cache:
            _, result = user_token_result(self.sandbox, upn, list(scopes))
            assert "access_token" in result, result
            self._cache[key] = str(result["access_token"])
        return bearer(self._cache[key])

    def app(self) -> dict[str, str]:
        key = ("<app>", ())
        if key not in self._cache:
            self._cache[key] = app_token(self.sandbox)
        return bearer(self._cache[key])


@pytest.fixture(scope="package")
def events_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    running = start_sandbox(
        tmp_path_factory.mktemp("events-sandbox"),
        users=60,
        extra_args=("--token-lifetime", "86400"),
    )
    yield running
    running.stop()


@pytest.fixture(scope="package")
def tokens(events_sandbox: RunningSandbox) -> Tokens:
    return Tokens(events_sandbox)


def _client(sandbox: RunningSandbox, base: str) -> httpx.Client:
    return httpx.Client(
        base_url=base + "/", verify=ca_context(sandbox), trust_env=False, timeout=15.0
    )


@pytest.fixture(scope="package")
def graph(events_sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with _client(events_sandbox, events_sandbox.graph_base_url) as client:
        yield client


@pytest.fixture(scope="package")
def beta(events_sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with _client(events_sandbox, events_sandbox.info["beta_base_url"]) as client:
        yield client


@pytest.fixture(autouse=True)
def roomy_write_budget(events_sandbox: RunningSandbox) -> Iterator[None]:
    """Most tests write more than Graph's 15 per 30 s; the throttling test restores it."""
    events_sandbox.control(
        "POST",
        "/throttling",
        {
            "bucket": "virtual-events-write",
            "requests": 10_000,
            "window_seconds": 30,
            "per_tenant": False,
        },
    )
    yield
    events_sandbox.control("DELETE", "/throttling")


def in_hours(hours: float, zone: str = "UTC") -> dict[str, str]:
    moment = datetime.now(UTC) + timedelta(hours=hours)
    return {"dateTime": moment.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": zone}


def webinar_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "displayName": "Quarterly engineering update",
        "description": {"contentType": "text", "content": "What we shipped."},
        "startDateTime": in_hours(24),
        "endDateTime": in_hours(25),
        "audience": "organization",
    }
    body.update(changes)
    return body


def graph_error(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, str(response.json()["error"]["code"])
