"""The client tells an optional observer about each error it raises, and only those."""

from __future__ import annotations

import httpx
import pytest

from comms_portal.graph import (
    GraphClient,
    GraphError,
    GraphSettings,
    GraphTimeout,
    NotFound,
    RetryPolicy,
    Throttled,
    users,
)
from comms_portal.graph.presence import get_my_presence
from comms_portal.graph.users import get_user
from tests.graph.fakegraph import ACCESS_TOKEN, BASE_URL, FakeGraph, json_response, load_example

PRESENCE = load_example("presence-get-me.response")["response"]
NOT_FOUND = {
    "error": {
        "code": "Request_ResourceNotFound",
        "message": "Resource 'nobody' does not exist.",
        "innerError": {"request-id": "req-404", "date": "2025-03-04T09:00:00"},
    }
}

Seen = tuple[GraphError, str, str]


def hooked_client(
    graph: FakeGraph, seen: list[Seen], *, retry: RetryPolicy | None = None
) -> GraphClient:
    def record(error: GraphError, method: str, path: str) -> None:
        seen.append((error, method, path))

    return GraphClient(
        GraphSettings(base_url=BASE_URL, retry=retry or RetryPolicy()),
        lambda: ACCESS_TOKEN,
        transport=httpx.MockTransport(graph.handler),
        sleep=graph.clock.sleep,
        now=graph.clock.utcnow,
        random=lambda: 0.5,
        on_error=record,
    )


def test_hook_hears_the_error_the_caller_gets_with_method_and_path(graph: FakeGraph) -> None:
    graph.queue("GET", "/v1.0/users/nobody", json_response(404, NOT_FOUND))
    seen: list[Seen] = []
    client = hooked_client(graph, seen)

    with pytest.raises(NotFound) as raised:
        get_user(client, "nobody")

    assert len(seen) == 1
    error, method, path = seen[0]
    assert error is raised.value
    assert (method, path) == ("GET", "/v1.0/users/nobody")
    assert error.status == 404
    assert error.code == "Request_ResourceNotFound"
    assert error.request_id == "req-404"


def test_a_retried_failure_that_then_succeeds_is_not_reported(graph: FakeGraph) -> None:
    graph.queue(
        "GET",
        "/v1.0/me/presence",
        json_response(
            429, {"error": {"code": "TooManyRequests", "message": "slow"}}, {"Retry-After": "1"}
        ),
        json_response(200, PRESENCE),
    )
    seen: list[Seen] = []

    presence = get_my_presence(hooked_client(graph, seen))

    assert presence.availability == "Available"
    assert seen == []


def test_only_the_final_error_is_reported_after_retries_run_out(graph: FakeGraph) -> None:
    throttled = json_response(
        429, {"error": {"code": "TooManyRequests", "message": "slow"}}, {"Retry-After": "1"}
    )
    graph.queue("GET", "/v1.0/me/presence", throttled)
    seen: list[Seen] = []

    with pytest.raises(Throttled):
        get_my_presence(hooked_client(graph, seen, retry=RetryPolicy(max_attempts=3)))

    assert len(graph.seen) == 3
    assert [(type(error), method, path) for error, method, path in seen] == [
        (Throttled, "GET", "/v1.0/me/presence")
    ]


def test_a_timeout_is_reported_without_a_status(graph: FakeGraph) -> None:
    def hang(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    graph.queue("POST", "/v1.0/me/presence/setPresence", hang)
    seen: list[Seen] = []
    client = hooked_client(graph, seen)

    with pytest.raises(GraphTimeout):
        client.post("/me/presence/setPresence", {"availability": "Available"})

    [(error, method, path)] = seen
    assert isinstance(error, GraphTimeout)
    assert error.status is None
    assert (method, path) == ("POST", "/v1.0/me/presence/setPresence")


def test_a_query_string_stays_out_of_the_reported_path(graph: FakeGraph) -> None:
    graph.queue("GET", "/v1.0/users", json_response(404, NOT_FOUND))
    seen: list[Seen] = []

    with pytest.raises(NotFound):
        hooked_client(graph, seen).get_object("/users", params={"$filter": "mail eq 'x@y'"})

    assert seen[0][2] == "/v1.0/users"


def test_a_failing_hook_does_not_hide_the_graph_error(
    graph: FakeGraph, caplog: pytest.LogCaptureFixture
) -> None:
    graph.queue("GET", "/v1.0/users/nobody", json_response(404, NOT_FOUND))

    def broken(error: GraphError, method: str, path: str) -> None:
        raise RuntimeError("the recorder is down")

    client = GraphClient(
        GraphSettings(base_url=BASE_URL),
        lambda: ACCESS_TOKEN,
        transport=httpx.MockTransport(graph.handler),
        on_error=broken,
    )

    with pytest.raises(NotFound):
        get_user(client, "nobody")
    assert "the Graph error hook failed" in caplog.text


def test_without_a_hook_errors_are_raised_as_before(graph: FakeGraph) -> None:
    graph.queue("GET", "/v1.0/users/nobody", json_response(404, NOT_FOUND))
    client = GraphClient(
        GraphSettings(base_url=BASE_URL),
        lambda: ACCESS_TOKEN,
        transport=httpx.MockTransport(graph.handler),
    )

    with pytest.raises(NotFound):
        get_user(client, "nobody")


def test_an_expected_answer_is_not_reported_as_a_fault() -> None:
    reported: list[object] = []
    transport = httpx.MockTransport(
        lambda request: httpx.Response(
            404, json={"error": {"code": "ImageNotFound", "message": "No photo."}}
        )
    )
    client = GraphClient(
        GraphSettings(base_url="https://graph.test/v1.0", http2=False),
        lambda: "token",
        transport=transport,
        on_error=lambda error, method, path: reported.append((error, method, path)),
    )
    assert users.get_photo(client, "6e2f44f5-0000-4000-8000-00000000a11c") is None
    assert reported == []
