"""Every documented example the sandbox core serves: same status, property names and JSON types."""

from __future__ import annotations

import httpx
import pytest

from tests.sandbox.conftest import app_token, bearer
from tests.support.examples import load_example, shape_differences
from tests.support.sandbox import RunningSandbox


@pytest.fixture
def headers(sandbox: RunningSandbox) -> dict[str, str]:
    return bearer(app_token(sandbox))


def test_error_standard_example(sandbox: RunningSandbox, graph: httpx.Client) -> None:
    example = load_example("error-standard.response.json")
    response = graph.get("users", headers=bearer(app_token(sandbox, "Limited Reader")))
    assert response.status_code == example["status"]
    assert shape_differences(response.json(), example["response"], allow_extra=False) == []


def test_error_page_example_shape(graph: httpx.Client, headers: dict[str, str]) -> None:
    # The errors page's example (invalidRange) has no counterpart here; its envelope must match.
    example = load_example("error-errors-page.response.json")
    response = graph.get("users/not-a-user", headers=headers)
    assert response.status_code == 404
    assert shape_differences(response.json(), example["response"]) == []


def test_throttling_example(
    sandbox: RunningSandbox, graph: httpx.Client, headers: dict[str, str]
) -> None:
    example = load_example("throttling-429.response.json")
    sandbox.control(
        "POST", "/faults", json={"path": "/v1.0/users", "kind": "429", "retry_after": 2}
    )
    response = graph.get("users", headers=headers)
    assert response.status_code == example["status"] and response.headers["Retry-After"] == "2"
    # Beyond the sample, innerError also carries client-request-id, as every Graph error does.
    assert shape_differences(response.json(), example["response"]) == []


def test_batch_example_runs_with_documented_shapes(
    sandbox: RunningSandbox, graph: httpx.Client, headers: dict[str, str]
) -> None:
    example = load_example("batch.request.json")
    response = graph.post("$batch", json=example["request"], headers=headers)
    assert response.status_code == example["status"]
    ours = {item["id"]: item for item in response.json()["responses"]}
    assert set(ours) == {item["id"] for item in example["response"]["responses"]}
    for documented in example["response"]["responses"]:
        mine = ours[documented["id"]]
        assert set(mine) >= {"id", "status", "headers"}
        if mine["status"] >= 400:
            assert (
                shape_differences(mine["body"], example["response"]["responses"][2]["body"]) == []
            )
    # The sandbox serves none of memberOf, planner, groups or SSO credentials, and its users
    # carry no ``city``; every item still comes back with a Graph error body.
    assert {item["status"] for item in ours.values()} <= {400, 403, 404, 405}


def test_batch_dependson_example_order(graph: httpx.Client, headers: dict[str, str]) -> None:
    example = load_example("batch-dependson.request.json")
    requests = [{**item, "url": "/users?$top=1"} for item in example["request"]["requests"]]
    answers = graph.post("$batch", json={"requests": requests}, headers=headers).json()["responses"]
    assert [item["id"] for item in answers] == ["1", "2", "4", "3"]
    assert all(item["status"] == 200 for item in answers)
