"""A sandbox of the presence tests' own (they move its clock), with tokens and helpers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.sandbox.conftest import app_token, bearer, ca_context, user_token_result
from tests.support.sandbox import RunningSandbox, start_sandbox

GRAPH = "https://graph.microsoft.com/"
READ_ALL = (GRAPH + "Presence.Read.All", GRAPH + "Presence.ReadWrite")
READ_OWN_ONLY = (GRAPH + "Presence.Read",)
# Enough people for a full getPresencesByUserId request of 650 ids.
PEOPLE = 700


class Tokens:
    """Access tokens for the cast, fetched once per person and scope set."""

    def __init__(self, sandbox: RunningSandbox) -> None:
        self.sandbox = sandbox
        self._cache: dict[tuple[str, tuple[str, ...]], str] = {}

    def user(self, upn: str, scopes: tuple[str, ...] = READ_ALL) -> str:
        """Return a delegated token for ``upn`` from the auth-code flow (no browser)."""
        key = (upn, scopes)
        if key not in self._cache:
            _, result = user_token_result(self.sandbox, upn, list(scopes))
            assert "access_token" in result, result
            self._cache[key] = str(result["access_token"])
        return self._cache[key]

    def app(self) -> str:
        """Return an app-only token (client credentials) for the portal app."""
        key = ("<app>", ())
        if key not in self._cache:
            self._cache[key] = app_token(self.sandbox)
        return self._cache[key]


@pytest.fixture(scope="package")
def presence_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """Start a sandbox whose clock these tests may move; tokens outlive the moves."""
    running = start_sandbox(
        tmp_path_factory.mktemp("presence-sandbox"),
        users=PEOPLE,
        extra_args=("--token-lifetime", "86400"),
    )
    yield running
    running.stop()


@pytest.fixture(scope="package")
def tokens(presence_sandbox: RunningSandbox) -> Tokens:
    return Tokens(presence_sandbox)


@pytest.fixture(scope="package")
def graph(presence_sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=presence_sandbox.graph_base_url + "/",
        verify=ca_context(presence_sandbox),
        trust_env=False,
        timeout=15.0,
    ) as client:
        yield client


@pytest.fixture(scope="package")
def beta(presence_sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=presence_sandbox.info["beta_base_url"] + "/",
        verify=ca_context(presence_sandbox),
        trust_env=False,
        timeout=15.0,
    ) as client:
        yield client


def user_id(sandbox: RunningSandbox, upn: str) -> str:
    """Return the object id of a cast member."""
    return str(sandbox.user(upn)["id"])


def presence_of(graph: httpx.Client, token: str, user: str) -> dict[str, Any]:
    """Read a person's presence through Graph and return it."""
    path = "me/presence" if user == "me" else f"users/{user}/presence"
    response = graph.get(path, headers=bearer(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def shown(graph: httpx.Client, token: str, user: str) -> tuple[str, str]:
    """Return the (availability, activity) a reader sees for a person."""
    body = presence_of(graph, token, user)
    return body["availability"], body["activity"]


def force(
    sandbox: RunningSandbox, user: str, availability: str, activity: str, **extra: Any
) -> None:
    """Make a person's Teams client report a state, as if they had done it in Teams."""
    response = sandbox.control(
        "POST",
        f"/presence/{user}",
        json={"availability": availability, "activity": activity, **extra},
    )
    assert response.status_code == 200, response.text


def advance(sandbox: RunningSandbox, *, minutes: float) -> None:
    """Move the sandbox clock forward."""
    response = sandbox.control("POST", "/clock", json={"advance_seconds": minutes * 60})
    assert response.status_code == 200, response.text


def sandbox_now(sandbox: RunningSandbox) -> datetime:
    """Return the sandbox clock's time."""
    return datetime.fromisoformat(sandbox.control("GET", "/clock").json()["now"])


def in_minutes(sandbox: RunningSandbox, minutes: float) -> str:
    """Return an ISO time ``minutes`` after the sandbox clock's now."""
    return (sandbox_now(sandbox) + timedelta(minutes=minutes)).isoformat()


def graph_error(response: httpx.Response) -> tuple[int, str]:
    """Return the status and Graph error code of a failed answer (checking the body's shape)."""
    body = response.json()
    assert set(body["error"]) >= {"code", "message", "innerError"}, body
    assert body["error"]["innerError"]["request-id"] == response.headers["request-id"]
    return response.status_code, str(body["error"]["code"])
