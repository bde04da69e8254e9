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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from sandbox.graph.routing import GraphError

_DATETIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}(?::\d{2})?)(?:\.(\d{1,7}))?(Z|[+-]\d{2}:\d{2})?$",
    re.IGNORECASE,
)


def parse_graph_datetime(text: str) -> datetime:
    """Parse Graph's ISO 8601 forms (``Z`` or ``+00:00``, up to 7 fraction digits) to aware UTC."""
    match = _DATETIME.match(text.strip())
    if not match:
        raise ValueError(f"not an ISO 8601 date-time: {text!r}")
    date, clock, fraction, zone = match.groups()
    if clock.count(":") == 1:
        clock += ":00"
    micro = (fraction or "0")[:6].ljust(6, "0")
    offset = "+00:00" if zone in (None, "Z", "z") else zone
    return datetime.fromisoformat(f"{date}T{clock}.{micro}{offset}").astimezone(UTC)


def format_graph_datetime(value: datetime) -> str:
    """Format ``value`` the way Graph writes date-times (UTC, 7 fraction digits, ``Z``)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


@dataclass(frozen=True)
class EntitySet:
    """What one collection supports, as its Graph documentation says."""

    name: str  # as in @odata.context, e.g. "users"
    type_name: str  # e.g. "microsoft.graph.user"
    properties: tuple[str, ...]  # every property $select may name
    filterable: Mapping[str, frozenset[str]]  # property -> operators $filter accepts on it
    sortable: tuple[str, ...] = ()
    default_page_size: int = 100
    max_page_size: int = 999
    count_needs_eventual: bool = True  # directory objects need ConsistencyLevel: eventual
    search_properties: tuple[str, ...] = ()
    # Directory queries compare strings case-insensitively.
    case_insensitive: bool = True

    def property_name(self, name: str) -> str | None:
        """Return the declared spelling of ``name`` (case-insensitive), or None."""
        lowered = name.lower()
        for declared in self.properties:
            if declared.lower() == lowered:
                return declared
        return None


# --- $filter -------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^']|'')*')
      | (?P<datetime>\d{4}-\d{2}-\d{2}T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)
      | (?P<guid>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<punct>[(),])
      | (?P<word>[A-Za-z_@][\w/.@]*)
    )""",
    re.VERBOSE | re.IGNORECASE,
)
COMPARISONS = frozenset({"eq", "ne", "gt", "ge", "lt", "le"})
FUNCTIONS = frozenset({"startswith", "endswith"})
EQUALITY = frozenset({"eq", "ne", "in"})
ALL_OPERATORS = frozenset({*COMPARISONS, *FUNCTIONS, "in"})

Predicate = Callable[[Mapping[str, Any]], bool]


class _FilterSyntaxError(ValueError):
    pass


@dataclass
class _Token:
    kind: str
    text: str


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise _FilterSyntaxError(f"syntax error at position {position} in '{text}'")
        kind = match.lastgroup or "word"
        tokens.append(_Token(kind, match.group(kind)))
        position = match.end()
    return tokens


@dataclass
class _FilterParser:
    tokens: list[_Token]
    entity_set: EntitySet
    position: int = 0
    used: set[tuple[str, str]] = field(default_factory=set)

    def peek(self) -> _Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def next(self) -> _Token:
        token = self.peek()
        if token is None:
            raise _FilterSyntaxError("the expression ends too early")
        self.position += 1
        return token

    def expect(self, text: str) -> None:
        token = self.next()
        if token.text.lower() != text:
            raise _FilterSyntaxError(f"expected '{text}' but found '{token.text}'")

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "word" and token.text.lower() == word:
            self.position += 1
            return True
        return False

    def parse(self) -> Predicate:
        predicate = self.parse_or()
        if self.peek() is not None:
            raise _FilterSyntaxError(f"unexpected '{self.next().text}'")
        return predicate

    def parse_or(self) -> Predicate:
        parts = [self.parse_and()]
        while self.keyword("or"):
            parts.append(self.parse_and())
        if len(parts) == 1:
            return parts[0]
        return lambda item: any(part(item) for part in parts)

    def parse_and(self) -> Predicate:
        parts = [self.parse_unary()]
        while self.keyword("and"):
            parts.append(self.parse_unary())
        if len(parts) == 1:
            return parts[0]
        return lambda item: all(part(item) for part in parts)

    def parse_unary(self) -> Predicate:
        if self.keyword("not"):
            inner = self.parse_unary()
            return lambda item: not inner(item)
        token = self.peek()
        if token is not None and token.text == "(":
            self.next()
            inner = self.parse_or()
            self.expect(")")
            return inner
        return self.parse_clause()

    def parse_clause(self) -> Predicate:
        first = self.next()
        if first.kind != "word":
            raise _FilterSyntaxError(f"expected a property name but found '{first.text}'")
        if first.text.lower() in FUNCTIONS:
            function = first.text.lower()
            self.expect("(")
            prop = self.property(self.next(), function)
            self.expect(",")
            literal = self.literal(self.next())
            self.expect(")")
            if not isinstance(literal, str):
                raise _FilterSyntaxError(f"{function} needs a string literal")
            return self.string_function(prop, function, literal)
        operator_token = self.next()
        operator = operator_token.text.lower()
        if operator not in COMPARISONS and operator != "in":
            raise _FilterSyntaxError(f"unknown operator '{operator_token.text}'")
        prop = self.property(first, operator)
        if operator == "in":
            self.expect("(")
            values = [self.literal(self.next())]
            while self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
                self.next()
                values.append(self.literal(self.next()))
            self.expect(")")
            normalized = {self.normalize(value) for value in values}
            return lambda item: self.normalize(_lookup(item, prop)) in normalized
        literal = self.literal(self.next())
        return self.comparison(prop, operator, literal)

    def property(self, token: _Token, operator: str) -> str:
        if token.kind != "word":
            raise _FilterSyntaxError(f"expected a property name but found '{token.text}'")
        declared = {name.lower(): name for name in self.entity_set.filterable}
        name = declared.get(token.text.lower())
        if name is None or operator not in self.entity_set.filterable[name]:
            raise GraphError(
                400,
                "Request_UnsupportedQuery",
                f"Unsupported or invalid query filter clause specified for property "
                f"'{token.text}' of resource '{self.entity_set.type_name.split('.')[-1]}'.",
            )
        self.used.add((name, operator))
        return name

    def literal(self, token: _Token) -> Any:
        if token.kind == "string":
            return token.text[1:-1].replace("''", "'")
        if token.kind == "number":
            return float(token.text) if "." in token.text else int(token.text)
        if token.kind == "datetime":
            try:
                return parse_graph_datetime(token.text)
            except ValueError as exc:
                raise _FilterSyntaxError(str(exc)) from exc
        if token.kind == "guid":
            return token.text.lower()
        lowered = token.text.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        if lowered == "null":
            return None
        raise _FilterSyntaxError(f"expected a literal but found '{token.text}'")

    def normalize(self, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return parse_graph_datetime(value)
            except ValueError:
                return value.lower() if self.entity_set.case_insensitive else value
        return value

    def comparison(self, prop: str, operator: str, literal: Any) -> Predicate:
        expected = self.normalize(literal)

        def compare(item: Mapping[str, Any]) -> bool:
            actual = self.normalize(_lookup(item, prop))
            if operator == "eq":
                return bool(actual == expected)
            if operator == "ne":
                return bool(actual != expected)
            if actual is None or expected is None:
                return False
            try:
                if operator == "gt":
                    return bool(actual > expected)
                if operator == "ge":
                    return bool(actual >= expected)
                if operator == "lt":
                    return bool(actual < expected)
                return bool(actual <= expected)
            except TypeError:
                return False

        return compare

    def string_function(self, prop: str, function: str, literal: str) -> Predicate:
        needle = literal.lower() if self.entity_set.case_insensitive else literal

        def matches(item: Mapping[str, Any]) -> bool:
            value = _lookup(item, prop)
            if not isinstance(value, str):
                return False
            haystack = value.lower() if self.entity_set.case_insensitive else value
            if function == "startswith":
                return haystack.startswith(needle)
            return haystack.endswith(needle)

        return matches


def _lookup(item: Mapping[str, Any], path: str) -> Any:
    value: Any = item
    for segment in path.split("/"):
        if not isinstance(value, Mapping):
            return None
        value = value.get(segment)
    return value


def parse_filter(text: str, entity_set: EntitySet) -> Predicate:
    """Compile a ``$filter`` expression against ``entity_set``'s filterable properties."""
    try:
        tokens = _tokenize(text)
        if not tokens:
            raise _FilterSyntaxError("the expression is empty")
        return _FilterParser(tokens, entity_set).parse()
    except _FilterSyntaxError as exc:
        raise GraphError(400, "BadRequest", f"Invalid filter clause: {exc}.") from exc


# --- the whole query ----------------------------------------------------------------------

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
