"""A 401 from Graph earns one fresh token and one more try, never more."""

from __future__ import annotations

import httpx
import pytest

from comms_portal.graph import GraphClient, GraphSettings, Unauthorized

SETTINGS = GraphSettings(base_url="https://graph.test/v1.0", http2=False)
EXPIRED = {"error": {"code": "InvalidAuthenticationToken", "message": "Token expired"}}


class Tokens:
    """Hands out token-1, then token-2, ... each time a refresh is asked for."""

    def __init__(self) -> None:
        self.current = 1
        self.refreshes = 0

    def __call__(self) -> str:
        return f"token-{self.current}"

    def refresh(self) -> str:
        self.refreshes += 1
        self.current += 1
        return self()


def test_a_refused_token_is_refreshed_once_and_the_call_succeeds() -> None:
    seen: list[str] = []

    def graph(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        if request.headers["Authorization"] == "Bearer token-1":
            return httpx.Response(401, json=EXPIRED)
        return httpx.Response(200, json={"id": "me"})

    tokens = Tokens()
    client = GraphClient(SETTINGS, tokens, transport=httpx.MockTransport(graph))
    assert client.send("GET", "me").json_object() == {"id": "me"}
    assert seen == ["Bearer token-1", "Bearer token-2"]
    assert tokens.refreshes == 1


def test_a_second_401_is_final() -> None:
    tokens = Tokens()
    transport = httpx.MockTransport(lambda request: httpx.Response(401, json=EXPIRED))
    client = GraphClient(SETTINGS, tokens, transport=transport)
    with pytest.raises(Unauthorized):
        client.send("GET", "me")
    assert tokens.refreshes == 1


def test_a_plain_callable_provider_gets_no_retry() -> None:
    calls: list[int] = []

    def graph(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(401, json=EXPIRED)

    client = GraphClient(SETTINGS, lambda: "static", transport=httpx.MockTransport(graph))
    with pytest.raises(Unauthorized):
        client.send("GET", "me")
    assert len(calls) == 1
