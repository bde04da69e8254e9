"""The client tells an optional observer about every exchange with Graph, retries included."""

from __future__ import annotations

import httpx
import pytest

from comms_portal.graph import GraphClient, GraphSettings, GraphTimeout
from comms_portal.graph.presence import get_my_presence
from tests.graph.fakegraph import ACCESS_TOKEN, BASE_URL, FakeGraph, json_response, load_example

PRESENCE = load_example("presence-get-me.response")["response"]
THROTTLED = json_response(
    429, {"error": {"code": "TooManyRequests", "message": "slow"}}, {"Retry-After": "1"}
)


def observed_client(graph: FakeGraph, heard: list[tuple[str, int | None]]) -> GraphClient:
    return GraphClient(
        GraphSettings(base_url=BASE_URL),
        lambda: ACCESS_TOKEN,
        transport=httpx.MockTransport(graph.handler),
        sleep=graph.clock.sleep,
        now=graph.clock.utcnow,
        random=lambda: 0.5,
        on_exchange=lambda method, status: heard.append((method, status)),
    )


def test_each_attempt_is_heard_with_its_status(graph: FakeGraph) -> None:
    graph.queue("GET", "/v1.0/me/presence", THROTTLED, json_response(200, PRESENCE))
    heard: list[tuple[str, int | None]] = []

    assert get_my_presence(observed_client(graph, heard)).availability == "Available"

    assert heard == [("GET", 429), ("GET", 200)]


def test_an_exchange_without_an_answer_is_heard_without_a_status(graph: FakeGraph) -> None:
    def hang(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    graph.queue("POST", "/v1.0/me/presence/setPresence", hang)
    heard: list[tuple[str, int | None]] = []

    with pytest.raises(GraphTimeout):
        observed_client(graph, heard).post("/me/presence/setPresence", {"availability": "Away"})

    assert heard == [("POST", None)]


def test_a_failing_observer_changes_nothing_for_the_caller(
    graph: FakeGraph, caplog: pytest.LogCaptureFixture
) -> None:
    graph.queue("GET", "/v1.0/me/presence", json_response(200, PRESENCE))

    def broken(method: str, status: int | None) -> None:
        raise RuntimeError("the counter is down")

    client = GraphClient(
        GraphSettings(base_url=BASE_URL),
        lambda: ACCESS_TOKEN,
        transport=httpx.MockTransport(graph.handler),
        on_exchange=broken,
    )

    assert get_my_presence(client).availability == "Available"
    assert "the Graph exchange hook failed" in caplog.text
