"""``$filter`` as Graph evaluates it: a small tokenizer and recursive-descent parser."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sandbox.graph.odata_types import EntitySet, parse_graph_datetime
from sandbox.graph.routing import GraphError

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
