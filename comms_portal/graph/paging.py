"""Walking Graph collections page by page, and delta queries to their final deltaLink."""

# https://learn.microsoft.com/graph/paging
# https://learn.microsoft.com/graph/delta-query-overview

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from comms_portal.graph.errors import InvalidResponse
from comms_portal.graph.http import GraphClient, GraphResponse, QueryParams

ItemT = TypeVar("ItemT")

# Parses one element of a collection's "value" list; the response gives errors their ids.
ItemParser = Callable[[object, GraphResponse], ItemT]


@dataclass(frozen=True)
class Page:
    """One page of a Graph collection."""

    items: list[object]
    next_link: str | None
    delta_link: str | None
    response: GraphResponse


@dataclass(frozen=True)
class DeltaResult(Generic[ItemT]):
    """Everything a delta round returned, and the link that starts the next round."""

    items: list[ItemT]
    delta_link: str


def _link(document: dict[str, Any], key: str, response: GraphResponse) -> str | None:
    link = document.get(key)
    if link is None:
        return None
    if not isinstance(link, str) or not link.startswith(("https://", "http://")):
        raise response.invalid(f"{key} is not an absolute URL")
    return link


def iter_pages(
    client: GraphClient,
    url: str,
    *,
    params: QueryParams | None = None,
    headers: Mapping[str, str] | None = None,
) -> Iterator[Page]:
    """Yield each page of a collection, following @odata.nextLink exactly as given.

    ``headers`` (such as ``Prefer: odata.maxpagesize``) go with every page's request.
    """
    seen: set[str] = set()
    next_url: str | None = url
    next_params = params
    while next_url is not None:
        response = client.send("GET", next_url, params=next_params, headers=headers)
        document = response.json_object()
        items = document.get("value")
        if not isinstance(items, list):
            raise response.invalid("the collection has no 'value' list")
        next_link = _link(document, "@odata.nextLink", response)
        delta_link = _link(document, "@odata.deltaLink", response)
        if next_link is not None:
            # The link is followed with our token, so it must lead back to our Graph host.
            if not client.is_own_origin(next_link):
                raise response.invalid("@odata.nextLink points at another host")
            if next_link in seen:
                raise response.invalid("@odata.nextLink repeats an earlier page")
            seen.add(next_link)
        yield Page(items=items, next_link=next_link, delta_link=delta_link, response=response)
        next_url, next_params = next_link, None


def iter_items(
    client: GraphClient,
    url: str,
    parse: ItemParser[ItemT],
    *,
    params: QueryParams | None = None,
) -> Iterator[ItemT]:
    """Yield every item of a collection, typed by ``parse``, across all its pages."""
    for page in iter_pages(client, url, params=params):
        for item in page.items:
            yield parse(item, page.response)


def run_delta(
    client: GraphClient,
    url: str,
    parse: ItemParser[ItemT],
    *,
    params: QueryParams | None = None,
) -> DeltaResult[ItemT]:
    """Follow a delta query's nextLinks to the end; return its items and final deltaLink."""
    items: list[ItemT] = []
    last: Page | None = None
    for page in iter_pages(client, url, params=params):
        items.extend(parse(item, page.response) for item in page.items)
        last = page
    if last is None or last.delta_link is None:
        raise InvalidResponse(
            "Graph's delta query ended without an @odata.deltaLink.",
            code="invalidResponse",
            request_id=last.response.request_id if last else None,
        )
    return DeltaResult(items=items, delta_link=last.delta_link)
