"""Graph's error answers become typed errors carrying code, message and request ids."""

from __future__ import annotations

import httpx
import pytest

from comms_portal.graph import (
    BadRequest,
    Conflict,
    FailedDependency,
    Forbidden,
    GraphClient,
    GraphError,
    InvalidResponse,
    NotFound,
    RetryPolicy,
    ServiceUnavailable,
    Throttled,
    Unauthorized,
)
from comms_portal.graph.presence import get_my_presence
from tests.graph.fakegraph import FakeGraph, json_response, load_example

STANDARD_ERROR = load_example("error-standard.response")["response"]


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, BadRequest),
        (401, Unauthorized),
        (403, Forbidden),
        (404, NotFound),
        (409, Conflict),
        (424, FailedDependency),
        (500, GraphError),
        (416, GraphError),
    ],
)
def test_each_status_maps_to_its_error(
    graph: FakeGraph, client: GraphClient, status: int, error_type: type[GraphError]
) -> None:
    graph.queue("GET", "/v1.0/me/presence", json_response(status, STANDARD_ERROR))
    with pytest.raises(error_type) as raised:
        get_my_presence(client)
    assert type(raised.value) is error_type
    assert raised.value.status == status
    assert raised.value.code == "Authorization_RequestDenied"
    assert raised.value.message == "Insufficient privileges to complete the operation."
    assert raised.value.date == "2025-02-13T10:17:06"


def test_request_id_comes_from_the_header_before_the_body(
    graph: FakeGraph, client: GraphClient
) -> None:
    graph.queue(
        "GET",
        "/v1.0/me/presence",
        json_response(403, STANDARD_ERROR, headers={"request-id": "header-request-id"}),
    )
    with pytest.raises(Forbidden) as raised:
        get_my_presence(client)
    assert raised.value.request_id == "header-request-id"
    assert "header-request-id" in str(raised.value)


def test_request_id_falls_back_to_inner_error(graph: FakeGraph, client: GraphClient) -> None:
    graph.queue("GET", "/v1.0/me/presence", httpx.Response(403, json=STANDARD_ERROR))
    with pytest.raises(Forbidden) as raised:
        get_my_presence(client)
    assert raised.value.request_id == "93b6f17e-c05d-4f45-ad2a-6665c708d8a0"
    # The id we sent is the one to log; Graph echoes it in real answers.
    assert raised.value.client_request_id == graph.seen[0].headers["client-request-id"]


def test_errors_page_example_keeps_its_code(graph: FakeGraph, client: GraphClient) -> None:
    example = load_example("error-errors-page.response")
    graph.queue("GET", "/v1.0/me/presence", json_response(example["status"], example["response"]))
    with pytest.raises(GraphError) as raised:
        get_my_presence(client)
    assert raised.value.code == "invalidRange"
    assert raised.value.status == 416


def test_throttling_example_becomes_throttled_with_retry_after(graph: FakeGraph) -> None:
    example = load_example("throttling-429.response")
    graph.queue(
        "GET",
        "/v1.0/me/presence",
        json_response(429, example["response"], headers={"Retry-After": "2.128"}),
    )
    # One attempt only: the error itself is under test here.
    with pytest.raises(Throttled) as raised:
        get_my_presence(graph.client(retry=RetryPolicy(max_attempts=1)))
    assert raised.value.retry_after == pytest.approx(2.128)
    assert raised.value.code == "TooManyRequests"
    assert raised.value.request_id == "req-429"


def test_error_without_json_body_still_explains_itself(
    graph: FakeGraph, client: GraphClient
) -> None:
    graph.queue("GET", "/v1.0/me/presence", httpx.Response(502, text="<html>Bad gateway</html>"))
    with pytest.raises(GraphError) as raised:
        get_my_presence(client)
    assert raised.value.status == 502
    assert "Bad gateway" in raised.value.message


def test_error_with_empty_body_names_the_status(graph: FakeGraph, client: GraphClient) -> None:
    graph.queue("GET", "/v1.0/me/presence", httpx.Response(410))
    with pytest.raises(GraphError, match="HTTP 410"):
        get_my_presence(client)


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[1, 2]", b'"text"', b""],
    ids=["broken", "array", "string", "empty"],
)
def test_success_with_a_body_that_is_not_an_object_is_invalid_response(
    graph: FakeGraph, client: GraphClient, body: bytes
) -> None:
    graph.queue("GET", "/v1.0/me/presence", httpx.Response(200, content=body))
    with pytest.raises(InvalidResponse) as raised:
        get_my_presence(client)
    assert raised.value.status == 200
    assert raised.value.client_request_id


def test_success_missing_a_documented_field_is_invalid_response(
    graph: FakeGraph, client: GraphClient
) -> None:
    graph.queue("GET", "/v1.0/me/presence", json_response(200, {"id": "x", "activity": "Away"}))
    with pytest.raises(InvalidResponse, match="availability"):
        get_my_presence(client)


def test_service_unavailable_is_final_once_attempts_run_out(graph: FakeGraph) -> None:
    graph.queue("GET", "/v1.0/me/presence", json_response(503, STANDARD_ERROR))
    with pytest.raises(ServiceUnavailable):
        get_my_presence(graph.client(retry=RetryPolicy(max_attempts=2)))
    assert len(graph.seen) == 2
