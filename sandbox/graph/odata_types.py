"""Values OData queries work with: Graph's datetimes and what an entity set supports."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

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
