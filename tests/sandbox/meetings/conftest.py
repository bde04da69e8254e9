"""A sandbox of the meetings tests' own (they move its clock and drive calls), with tokens."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.sandbox.conftest import app_token, bearer, ca_context, user_token_result
from tests.support.sandbox import RunningSandbox, start_sandbox

GRAPH = "https://graph.microsoft.com/"
MEETING_SCOPES = (
    GRAPH + "OnlineMeetings.ReadWrite",
    GRAPH + "OnlineMeetingArtifact.Read.All",
)


class Tokens:
    """Access tokens for the cast, fetched once per person."""

    def __init__(self, sandbox: RunningSandbox) -> None:
        self.sandbox = sandbox
        self._cache: dict[str, str] = {}

    def user(self, upn: str) -> str:
        if upn not in self._cache:
            _, result = user_token_result(self.sandbox, upn, list(MEETING_SCOPES))
            assert "access_token" in result, result
            self._cache[upn] = str(result["access_token"])
        return self._cache[upn]

    def app(self) -> str:
        if "<app>" not in self._cache:
            self._cache["<app>"] = app_token(self.sandbox)
        return self._cache["<app>"]


@pytest.fixture(scope="package")
def meetings_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    running = start_sandbox(
        tmp_path_factory.mktemp("meetings-sandbox"), extra_args=("--token-lifetime", "86400")
    )
    yield running
    running.stop()


@pytest.fixture(scope="package")
def tokens(meetings_sandbox: RunningSandbox) -> Tokens:
    return Tokens(meetings_sandbox)


def _client(base_url: str, sandbox: RunningSandbox) -> httpx.Client:
    return httpx.Client(
        base_url=base_url + "/", verify=ca_context(sandbox), trust_env=False, timeout=15.0
    )


@pytest.fixture(scope="package")
def graph(meetings_sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with _client(meetings_sandbox.graph_base_url, meetings_sandbox) as client:
        yield client


@pytest.fixture(scope="package")
def beta(meetings_sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with _client(meetings_sandbox.info["beta_base_url"], meetings_sandbox) as client:
        yield client


def user_id(sandbox: RunningSandbox, upn: str) -> str:
    return str(sandbox.user(upn)["id"])


def create(
    graph: httpx.Client, token: str, body: dict[str, Any], *, path: str = "me/onlineMeetings"
) -> dict[str, Any]:
    """Create a meeting and return it, checking Graph answered 201."""
    response = graph.post(path, json=body, headers=bearer(token))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def attendee(sandbox: RunningSandbox, upn: str, role: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"identity": {"user": {"id": user_id(sandbox, upn)}}, "upn": upn}
    if role:
        item["role"] = role
    return item


def control(sandbox: RunningSandbox, method: str, path: str, body: Any = None) -> Any:
    response = sandbox.control(method, path, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def error_code(response: httpx.Response) -> tuple[int, str]:
    body = response.json()
    assert set(body["error"]) >= {"code", "message", "innerError"}, body
    return response.status_code, str(body["error"]["code"])
