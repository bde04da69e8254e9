"""OData query options as Graph applies them: $select, $filter, $orderby, $top, $count, paging.

Resource modules describe what each entity set supports with :class:`EntitySet` and hand a
request's query string to :func:`parse_query`; :func:`page_of` then filters, sorts, pages and
projects a list of JSON objects and returns Graph's collection body.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from sandbox.graph.odata_filter import Predicate, parse_filter
from sandbox.graph.odata_types import EntitySet
from sandbox.graph.routing import GraphError

SUPPORTED_OPTIONS = frozenset(
    {"$select", "$filter", "$top", "$skiptoken", "$count", "$orderby", "$search", "$expand"}
)


@dataclass
class ODataQuery:
    """A request's parsed OData options."""

    select: list[str] | None = None
    filter: Predicate | None = None
    filter_text: str | None = None
    top: int | None = None
    skip: int = 0
    count: bool = False
    orderby: list[tuple[str, bool]] = field(default_factory=list)  # (property, descending)
    search: list[tuple[str, str]] = field(default_factory=list)  # (property, term)
    raw: dict[str, str] = field(default_factory=dict)


def parse_query(
    params: Mapping[str, str],
    entity_set: EntitySet,
    *,
    consistency_level: str | None,
    allow: frozenset[str] = SUPPORTED_OPTIONS - {"$expand"},
) -> ODataQuery:
    """Parse and check the OData options in ``params`` for ``entity_set``; raise Graph's 400s."""
    query = ODataQuery()
    eventual = (consistency_level or "").lower() == "eventual"
    for key, value in params.items():
        option = key if key.startswith("$") else f"${key}"
        if not key.startswith("$") and option not in SUPPORTED_OPTIONS:
            continue  # plain parameters belong to the resource
        if option.lower() not in allow:
            raise GraphError(
                400, "BadRequest", f"Query option '{key}' is not supported on this resource."
            )
        query.raw[option.lower()] = value
    if "$select" in query.raw:
        query.select = [_selected(name, entity_set) for name in _split(query.raw["$select"])]
    if "$filter" in query.raw:
        query.filter_text = query.raw["$filter"]
        query.filter = parse_filter(query.raw["$filter"], entity_set)
    if "$top" in query.raw:
        query.top = _page_size(query.raw["$top"], entity_set)
    if "$skiptoken" in query.raw:
        query.skip = decode_skiptoken(query.raw["$skiptoken"])
    if "$count" in query.raw:
        if query.raw["$count"].lower() not in ("true", "false"):
            raise GraphError(400, "BadRequest", "The value of $count must be true or false.")
        query.count = query.raw["$count"].lower() == "true"
        if query.count and entity_set.count_needs_eventual and not eventual:
            raise GraphError(
                400,
                "Request_BadRequest",
                "$count on this resource needs the request header 'ConsistencyLevel: eventual'.",
            )
    if "$orderby" in query.raw:
        query.orderby = [_order(part, entity_set) for part in _split(query.raw["$orderby"])]
    if "$search" in query.raw:
        if not eventual:
            raise GraphError(
                400,
                "Request_UnsupportedQuery",
                "$search needs the request header 'ConsistencyLevel: eventual'.",
            )
        query.search = _search_terms(query.raw["$search"], entity_set)
    return query


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _selected(name: str, entity_set: EntitySet) -> str:
    declared = entity_set.property_name(name)
    if declared is None:
        raise GraphError(
            400,
            "BadRequest",
            f"Could not find a property named '{name}' on type '{entity_set.type_name}'.",
        )
    return declared


def _page_size(text: str, entity_set: EntitySet) -> int:
    try:
        size = int(text)
    except ValueError as exc:
        raise GraphError(
            400, "BadRequest", f"Invalid value '{text}' for the query option $top."
        ) from exc
    if not 1 <= size <= entity_set.max_page_size:
        raise GraphError(
            400,
            "Request_UnsupportedQuery",
            f"Invalid page size specified: '{size}'. "
            f"Must be between 1 and {entity_set.max_page_size} inclusive.",
        )
    return size


def _order(part: str, entity_set: EntitySet) -> tuple[str, bool]:
    words = part.split()
    direction = words[1].lower() if len(words) == 2 else "asc"
    sortable = {name.lower(): name for name in entity_set.sortable}
    if len(words) not in (1, 2) or direction not in ("asc", "desc"):
        raise GraphError(400, "BadRequest", f"Invalid $orderby clause '{part}'.")
    name = sortable.get(words[0].lower())
    if name is None:
        raise GraphError(
            400,
            "Request_UnsupportedQuery",
            f"Sorting by the property '{words[0]}' is not supported on this resource.",
        )
    return name, direction == "desc"


_SEARCH_CLAUSE = re.compile(r'"([^":]+):([^"]*)"')


def _search_terms(text: str, entity_set: EntitySet) -> list[tuple[str, str]]:
    clauses = _SEARCH_CLAUSE.findall(text)
    if not clauses:
        raise GraphError(
            400, "Request_UnsupportedQuery", 'Syntax error: $search expects "property:term".'
        )
    terms = []
    searchable = {name.lower(): name for name in entity_set.search_properties}
    for prop, term in clauses:
        name = searchable.get(prop.strip().lower())
        if name is None:
            raise GraphError(
                400,
                "Request_UnsupportedQuery",
                f"The property '{prop}' cannot be used in $search on this resource.",
            )
        terms.append((name, term.strip().lower()))
    return terms


def encode_skiptoken(offset: int) -> str:
    """Return an opaque ``$skiptoken`` for the page starting at ``offset``."""
    raw = json.dumps({"o": offset}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_skiptoken(token: str) -> int:
    """Return the offset in a ``$skiptoken``; a damaged token is Graph's 400."""
    try:
        padded = token + "=" * (-len(token) % 4)
        offset = json.loads(base64.urlsafe_b64decode(padded))["o"]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise GraphError(400, "BadRequest", "The $skiptoken is not valid.") from exc
    if not isinstance(offset, int) or offset < 0:
        raise GraphError(400, "BadRequest", "The $skiptoken is not valid.")
    return offset


def _matches_search(item: Mapping[str, Any], terms: Sequence[tuple[str, str]]) -> bool:
    for prop, term in terms:
        value = item.get(prop)
        if not isinstance(value, str):
            return False
        words = re.split(r"[\s.@_-]+", value.lower())
        if not (value.lower().startswith(term) or any(word.startswith(term) for word in words)):
            return False
    return True


def context_url(base_url: str, entity_set: EntitySet, select: list[str] | None) -> str:
    """Return ``@odata.context`` for a collection of ``entity_set`` (with the $select list)."""
    suffix = f"({','.join(select)})" if select else ""
    return f"{base_url}/$metadata#{entity_set.name}{suffix}"


def project(item: Mapping[str, Any], select: list[str] | None) -> dict[str, Any]:
    """Keep only the selected properties of ``item`` (all of them without $select)."""
    if not select:
        return dict(item)
    return {name: item.get(name) for name in select}


def page_of(
    items: Sequence[Mapping[str, Any]],
    query: ODataQuery,
    entity_set: EntitySet,
    *,
    base_url: str,
    path: str,
) -> dict[str, Any]:
    """Filter, search, sort and page ``items``; return Graph's collection body with nextLink."""
    selected = [item for item in items if query.filter is None or query.filter(item)]
    if query.search:
        selected = [item for item in selected if _matches_search(item, query.search)]
    for prop, descending in reversed(query.orderby):
        selected.sort(key=functools.partial(_property_sort_key, prop), reverse=descending)
    page_size = query.top or entity_set.default_page_size
    page = selected[query.skip : query.skip + page_size]
    body: dict[str, Any] = {"@odata.context": context_url(base_url, entity_set, query.select)}
    if query.count:
        body["@odata.count"] = len(selected)
    if query.skip + page_size < len(selected):
        body["@odata.nextLink"] = next_link(
            base_url, path, query.raw, encode_skiptoken(query.skip + page_size)
        )
    body["value"] = [project(item, query.select) for item in page]
    return body


def _property_sort_key(prop: str, item: Mapping[str, Any]) -> tuple[int, Any]:
    return _sort_key(item.get(prop))


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, str):
        return (1, value.lower())
    return (1, value)


def next_link(base_url: str, path: str, raw: Mapping[str, str], skiptoken: str) -> str:
    """Return an absolute ``@odata.nextLink`` keeping the request's options."""
    options = {key: value for key, value in raw.items() if key != "$skiptoken"}
    options["$skiptoken"] = skiptoken
    query = "&".join(f"{key}={quote(value, safe=',()')}" for key, value in options.items())
    return f"{base_url}{path}?{query}"
