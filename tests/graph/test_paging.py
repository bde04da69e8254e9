"""Collections are walked along @odata.nextLink; delta queries end on a deltaLink."""

from __future__ import annotations

import pytest

from comms_portal.graph import GraphClient, InvalidResponse, iter_items, run_delta
from comms_portal.graph.http import GraphResponse
from tests.graph.fakegraph import BASE_URL, FakeGraph, json_response

NEXT = f"{BASE_URL}/users?$skiptoken=page-2"
LAST = f"{BASE_URL}/users?$skiptoken=page-3"


def ids(item: object, response: GraphResponse) -> str:
    assert isinstance(item, dict)
    return str(item["id"])


def test_next_links_are_followed_as_given_until_the_last_page(
    graph: FakeGraph, client: GraphClient
) -> None:
    pages = {
        None: {"value": [{"id": "1"}, {"id": "2"}], "@odata.nextLink": NEXT},
        "page-2": {"value": [{"id": "3"}], "@odata.nextLink": LAST},
        "page-3": {"value": [{"id": "4"}]},
    }
    graph.queue(
        "GET",
        "/v1.0/users",
        lambda request: json_response(200, pages[request.url.params.get("$skiptoken")]),
    )

    assert list(iter_items(client, "/users", ids, params={"$top": 2})) == ["1", "2", "3", "4"]
    assert [str(seen.url) for seen in graph.seen][1:] == [NEXT, LAST]
    assert graph.seen[0].url.params["$top"] == "2"


def test_a_next_link_to_another_host_is_refused(graph: FakeGraph, client: GraphClient) -> None:
    graph.queue(
        "GET",
        "/v1.0/users",
        json_response(200, {"value": [], "@odata.nextLink": "https://elsewhere.example/users"}),
    )
    with pytest.raises(InvalidResponse, match="another host"):
        list(iter_items(client, "/users", ids))
    assert len(graph.seen) == 1


def test_a_next_link_that_loops_is_refused(graph: FakeGraph, client: GraphClient) -> None:
    graph.queue("GET", "/v1.0/users", json_response(200, {"value": [], "@odata.nextLink": NEXT}))
    with pytest.raises(InvalidResponse, match="repeats"):
        list(iter_items(client, "/users", ids))


@pytest.mark.parametrize(
    "page",
    [{"items": []}, {"value": {"id": "1"}}, {"value": [], "@odata.nextLink": 7}],
    ids=["no-value", "value-not-list", "link-not-url"],
)
def test_malformed_pages_are_invalid_response(
    graph: FakeGraph, client: GraphClient, page: dict[str, object]
) -> None:
    graph.queue("GET", "/v1.0/users", json_response(200, page))
    with pytest.raises(InvalidResponse):
        list(iter_items(client, "/users", ids))


def test_delta_returns_all_items_and_the_final_delta_link(
    graph: FakeGraph, client: GraphClient
) -> None:
    delta_link = f"{BASE_URL}/users/delta?$deltatoken=round-2"
    graph.queue(
        "GET",
        "/v1.0/users/delta",
        json_response(
            200,
            {"value": [{"id": "1"}], "@odata.nextLink": f"{BASE_URL}/users/delta?$skiptoken=s"},
        ),
        json_response(200, {"value": [{"id": "2"}], "@odata.deltaLink": delta_link}),
    )

    result = run_delta(client, "/users/delta", ids)

    assert result.items == ["1", "2"]
    assert result.delta_link == delta_link


def test_delta_without_a_delta_link_is_invalid_response(
    graph: FakeGraph, client: GraphClient
) -> None:
    graph.queue("GET", "/v1.0/users/delta", json_response(200, {"value": [{"id": "1"}]}))
    with pytest.raises(InvalidResponse, match="deltaLink"):
        run_delta(client, "/users/delta", ids)


def test_query_options_keep_their_dollar_and_encode_spaces(
    graph: FakeGraph, client: GraphClient
) -> None:
    graph.queue("GET", "/v1.0/users", json_response(200, {"value": []}))

    list(iter_items(client, "/users", ids, params={"$filter": "city eq 'Oslo'", "$count": True}))

    assert graph.seen[0].url.query == b"$filter=city%20eq%20'Oslo'&$count=true"
    assert graph.seen[0].url.params["$filter"] == "city eq 'Oslo'"
