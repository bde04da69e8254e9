"""Graph's call-records API: list, get with its expansions, sessions, participants, PSTN.

https://learn.microsoft.com/graph/api/callrecords-cloudcommunications-list-callrecords
https://learn.microsoft.com/graph/api/callrecords-callrecord-get
https://learn.microsoft.com/graph/api/callrecords-callrecord-list-sessions
https://learn.microsoft.com/graph/api/callrecords-callrecord-list-participants_v2
https://learn.microsoft.com/graph/api/callrecords-callrecord-getpstncalls
https://learn.microsoft.com/graph/api/callrecords-callrecord-getdirectroutingcalls

Application ``CallRecords.Read.All`` only (delegated is not supported). Lists answer 60
records a page (``Prefer: odata.maxpagesize`` asks for another size), filter on
``startDateTime`` (lt, le, gt, ge) and ``participants_v2/any(p:p/id eq '...')`` only, and
leave sessions and participants out. A get expands ``sessions($expand=segments)`` (60 a page)
or ``participants_v2`` (130 a page), each with its own nextLink. A record older than 30 days
answers 404. The PSTN and direct-routing functions take UTC ranges of at most 90 days and
answer 1,000 rows a page with ``@odata.count``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, unquote

from starlette.responses import Response

from sandbox.callrecords.generator import participant_json, record_json
from sandbox.callrecords.service import DAY, CallRecordsArea, callrecords_of, parse_utc
from sandbox.graph.errors import graph_json
from sandbox.graph.odata_types import parse_graph_datetime
from sandbox.graph.routing import GraphContext, GraphError, Handler, graph_route

READ = ("CallRecords.Read.All",)
PSTN_READ = ("CallRecord-PstnCalls.Read.All", "CallRecords.Read.All")
LIST_PAGE = 60
MAX_LIST_PAGE = 1000
SESSIONS_PAGE = 60
PARTICIPANTS_PAGE = 130
PSTN_PAGE = 1000
PSTN_MAX_DAYS = 90
CONTEXT = "$metadata#communications/callRecords"

_START = re.compile(r"^\s*startDateTime\s+(lt|le|gt|ge)\s+(\S+)\s*$", re.IGNORECASE)
_PARTICIPANT = re.compile(
    r"^\s*participants_v2/any\(\s*(\w+)\s*:\s*(\w+)/id\s+eq\s+'([^']*)'\s*\)\s*$", re.IGNORECASE
)


def bad_request(message: str) -> GraphError:
    return GraphError(400, "BadRequest", message)


def _options(ctx: GraphContext, allowed: set[str]) -> dict[str, str]:
    options: dict[str, str] = {}
    for key, value in ctx.request.query_params.items():
        name = key if key.startswith("$") else f"${key}"
        if name.lower() not in allowed:
            if key.startswith("$"):
                raise bad_request(f"Query option '{key}' is not supported on this resource.")
            continue
        options[name.lower()] = value
    return options


def _encode(cursor: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(cursor).encode()).decode().rstrip("=")


def _decode(token: str) -> Any:
    try:
        padded = token + "=" * (-len(token) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error) as exc:
        raise bad_request("The $skiptoken is not valid.") from exc


def _page_size(ctx: GraphContext, default: int) -> tuple[int, dict[str, str]]:
    prefer = ctx.request.headers.get("prefer", "")
    match = re.search(r"odata\.maxpagesize\s*=\s*(\d+)", prefer, re.IGNORECASE)
    if match is None:
        return default, {}
    size = max(1, min(int(match.group(1)), MAX_LIST_PAGE))
    return size, {"Preference-Applied": f"odata.maxpagesize={size}"}


def _filters(text: str | None) -> tuple[list[tuple[str, float]], str | None]:
    """Split a $filter into startDateTime comparisons and one participant id."""
    if text is None:
        return [], None
    comparisons: list[tuple[str, float]] = []
    participant: str | None = None
    for part in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        start = _START.match(part)
        if start is not None:
            try:
                moment = parse_graph_datetime(start.group(2).strip("'")).timestamp()
            except ValueError as exc:
                raise bad_request(f"Invalid date-time in $filter: {start.group(2)}") from exc
            comparisons.append((start.group(1).lower(), moment))
            continue
        anyof = _PARTICIPANT.match(part)
        if anyof is not None and anyof.group(1) == anyof.group(2) and participant is None:
            participant = anyof.group(3).lower()
            continue
        raise bad_request(
            "Invalid filter clause: call records can be filtered on startDateTime "
            "(lt, le, gt, ge) and participants_v2/any(p:p/id eq '{id}') only."
        )
    return comparisons, participant


def _matches(start: float, comparisons: list[tuple[str, float]]) -> bool:
    for operator, moment in comparisons:
        if operator == "lt" and not start < moment:
            return False
        if operator == "le" and not start <= moment:
            return False
        if operator == "gt" and not start > moment:
            return False
        if operator == "ge" and not start >= moment:
            return False
    return True


def _select(body: dict[str, Any], select: str | None) -> dict[str, Any]:
    if not select:
        return body
    wanted = {name.strip() for name in select.split(",") if name.strip()}
    known = set(body) | {"sessions", "participants_v2", "organizer", "participants"}
    unknown = wanted - known
    if unknown:
        raise bad_request(
            f"Could not find a property named '{sorted(unknown)[0]}' on type "
            "'microsoft.graph.callRecords.callRecord'."
        )
    return {key: value for key, value in body.items() if key in wanted or key == "id"}


def _route(
    method: str, template: str, permissions: tuple[str, ...] = READ
) -> Callable[[Handler], Handler]:
    return graph_route(
        method,
        template,
        delegated=(),
        application=permissions,
        throttle="callrecords" if permissions == READ else "pstn-calls",
    )


@_route("GET", "/communications/callRecords")
async def list_call_records(ctx: GraphContext) -> Response:
    """List the tenant's call records, 60 a page, oldest first."""
    options = _options(ctx, {"$filter", "$select", "$skiptoken", "$top"})
    comparisons, participant = _filters(options.get("$filter"))
    size, applied = _page_size(ctx, LIST_PAGE)
    if "$top" in options:
        try:
            size = max(1, min(int(options["$top"]), MAX_LIST_PAGE))
        except ValueError as exc:
            raise bad_request("Invalid value for $top.") from exc
    after = None
    if "$skiptoken" in options:
        cursor = _decode(options["$skiptoken"])
        if not isinstance(cursor, list) or len(cursor) != 2:
            raise bad_request("The $skiptoken is not valid.")
        after = (float(cursor[0]), str(cursor[1]))
    area = callrecords_of(ctx.state)
    start_from = max((m for op, m in comparisons if op in ("ge", "gt")), default=None)
    now = area.now()
    page: list[dict[str, Any]] = []
    last: tuple[float, str] | None = None
    more = False
    for spec in area.listed(after=after, start_from=start_from):
        if not _matches(spec.start, comparisons):
            if any(op in ("lt", "le") for op, _ in comparisons) and all(
                _matches(spec.start, [(op, m)]) for op, m in comparisons if op in ("ge", "gt")
            ):
                break  # sorted by start: nothing later can match an upper bound
            continue
        if participant is not None and participant not in {
            one.lower() for one in spec.participant_ids()
        }:
            continue
        if len(page) == size:
            more = True
            break
        version = spec.version_at(now)
        body = record_json(spec, area.members, version, area.last_modified(spec, now))
        body["organizer_v2@odata.context"] = _organizer_context(ctx, spec.id)
        page.append(_select(body, options.get("$select")))
        last = (spec.start, spec.id)
    result: dict[str, Any] = {"@odata.context": f"{ctx.base_url}/{CONTEXT}", "value": page}
    if more and last is not None:
        keep = {k: v for k, v in ctx.request.query_params.items() if k.lower() != "$skiptoken"}
        keep["$skiptoken"] = _encode(list(last))
        query = "&".join(f"{k}={quote(v, safe=':$,()')}" for k, v in keep.items())
        result["@odata.nextLink"] = f"{ctx.base_url}/communications/callRecords?{query}"
    return graph_json(result, headers=applied)


def _organizer_context(ctx: GraphContext, graph_id: str) -> str:
    return f"{ctx.base_url}/{CONTEXT}('{graph_id}')/organizer_v2/$entity"


def _expansions(text: str | None) -> set[str]:
    if not text:
        return set()
    found: set[str] = set()
    for part in re.split(r",(?![^()]*\))", text):
        name = part.strip()
        if re.fullmatch(r"sessions(\(\s*\$expand\s*=\s*segments\s*\))?", name, re.IGNORECASE):
            found.add("sessions+segments" if "(" in name else "sessions")
        elif name.lower() == "participants_v2":
            found.add("participants_v2")
        elif name.lower() == "organizer_v2":
            continue
        else:
            raise bad_request(f"Could not find a navigation property named '{name}'.")
    return found


def _visible(ctx: GraphContext) -> tuple[CallRecordsArea, Any]:
    area = callrecords_of(ctx.state)
    graph_id = unquote(ctx.path_params["record_id"])
    spec = area.visible(graph_id)
    if spec is None:
        raise GraphError(404, "NotFound", f"The call record '{graph_id}' was not found.")
    return area, spec


def _sessions_page(
    area: CallRecordsArea, spec: Any, version: int, skip: int, with_segments: bool
) -> tuple[list[dict[str, Any]], bool]:
    sessions = area.sessions_of(spec, version)
    page = sessions[skip : skip + SESSIONS_PAGE]
    if not with_segments:
        page = [{k: v for k, v in one.items() if k != "segments"} for one in page]
    return page, skip + SESSIONS_PAGE < len(sessions)


def _participants_page(
    area: CallRecordsArea, spec: Any, skip: int
) -> tuple[list[dict[str, Any]], bool]:
    ids = spec.participant_ids()
    page = [
        participant_json(spec, area.members, one) for one in ids[skip : skip + PARTICIPANTS_PAGE]
    ]
    return page, skip + PARTICIPANTS_PAGE < len(ids)


@_route("GET", "/communications/callRecords/{record_id}")
async def get_call_record(ctx: GraphContext) -> Response:
    """Return one record, with its sessions or participants when expanded."""
    options = _options(ctx, {"$expand", "$select"})
    expand = _expansions(options.get("$expand"))
    area, spec = _visible(ctx)
    now = area.now()
    version = spec.version_at(now)
    base = f"{ctx.base_url}/communications/callRecords/{spec.id}"
    body: dict[str, Any] = {"@odata.context": f"{ctx.base_url}/{CONTEXT}/$entity"}
    body.update(_select(record_json(spec, area.members, version, area.last_modified(spec, now)),
                        options.get("$select")))  # fmt: skip
    body["organizer_v2@odata.context"] = _organizer_context(ctx, spec.id)
    body["participants_v2@odata.context"] = f"{ctx.base_url}/{CONTEXT}('{spec.id}')/participants_v2"
    if "participants_v2" in expand:
        page, more = _participants_page(area, spec, 0)
        body["participants_v2"] = page
        if more:
            body["participants_v2@odata.nextLink"] = (
                f"{base}/participants_v2?$skiptoken={_encode([PARTICIPANTS_PAGE, version])}"
            )
    if expand & {"sessions", "sessions+segments"}:
        with_segments = "sessions+segments" in expand
        page, more = _sessions_page(area, spec, version, 0, with_segments)
        body["sessions"] = page
        if more:
            query = "$expand=segments&" if with_segments else ""
            body["sessions@odata.nextLink"] = (
                f"{base}/sessions?{query}$skiptoken={_encode([SESSIONS_PAGE, version])}"
            )
    return graph_json(body)


def _skip(options: dict[str, str]) -> int:
    if "$skiptoken" not in options:
        return 0
    cursor = _decode(options["$skiptoken"])
    if not isinstance(cursor, list) or not cursor or not isinstance(cursor[0], int):
        raise bad_request("The $skiptoken is not valid.")
    return max(0, cursor[0])


@_route("GET", "/communications/callRecords/{record_id}/sessions")
async def list_sessions(ctx: GraphContext) -> Response:
    """List a record's sessions, 60 a page, with their segments when expanded."""
    options = _options(ctx, {"$expand", "$skiptoken", "$select"})
    expand = options.get("$expand", "")
    if expand and expand.strip().lower() != "segments":
        raise bad_request(f"Could not find a navigation property named '{expand}'.")
    area, spec = _visible(ctx)
    version = spec.version_at(area.now())
    skip = _skip(options)
    page, more = _sessions_page(area, spec, version, skip, bool(expand))
    base = f"{ctx.base_url}/communications/callRecords/{spec.id}"
    body: dict[str, Any] = {
        "@odata.context": f"{ctx.base_url}/{CONTEXT}('{spec.id}')/sessions",
        "value": page,
    }
    if more:
        query = "$expand=segments&" if expand else ""
        body["@odata.nextLink"] = (
            f"{base}/sessions?{query}$skiptoken={_encode([skip + SESSIONS_PAGE, version])}"
        )
    return graph_json(body)


@_route("GET", "/communications/callRecords/{record_id}/participants_v2")
async def list_participants(ctx: GraphContext) -> Response:
    """List a record's participants, 130 a page."""
    options = _options(ctx, {"$skiptoken"})
    area, spec = _visible(ctx)
    skip = _skip(options)
    page, more = _participants_page(area, spec, skip)
    body: dict[str, Any] = {
        "@odata.context": f"{ctx.base_url}/{CONTEXT}('{spec.id}')/participants_v2",
        "value": page,
    }
    if more:
        body["@odata.nextLink"] = (
            f"{ctx.base_url}/communications/callRecords/{spec.id}/participants_v2"
            f"?$skiptoken={_encode([skip + PARTICIPANTS_PAGE, 0])}"
        )
    return graph_json(body)


def _range(ctx: GraphContext) -> tuple[float, float]:
    try:
        begin = parse_utc(unquote(ctx.path_params["from_time"]))
        end = parse_utc(unquote(ctx.path_params["to_time"]))
    except ValueError as exc:
        raise bad_request(f"fromDateTime and toDateTime must be UTC dates or times: {exc}") from exc
    if end < begin:
        raise bad_request("toDateTime must not be before fromDateTime.")
    if end - begin > PSTN_MAX_DAYS * DAY:
        raise bad_request(f"The date range can be at most {PSTN_MAX_DAYS} days.")
    return begin, end


def _log_page(
    ctx: GraphContext, rows: Iterable[dict[str, Any]], type_name: str, function: str
) -> Response:
    options = _options(ctx, {"$skip", "$top"})
    try:
        skip = int(options.get("$skip", "0"))
    except ValueError as exc:
        raise bad_request("Invalid value for $skip.") from exc
    everything = [{k: v for k, v in row.items() if not k.startswith("_")} for row in rows]
    page = everything[skip : skip + PSTN_PAGE]
    body: dict[str, Any] = {
        "@odata.context": (
            f"{ctx.base_url}/$metadata#Collection(microsoft.graph.callRecords.{type_name})"
        ),
        "@odata.count": len(everything),
        "value": page,
    }
    if skip + PSTN_PAGE < len(everything):
        raw = ctx.request.scope.get("raw_path", b"").decode("latin-1") or ctx.request.url.path
        function_path = raw.split("/communications/", 1)[1]
        body["@odata.nextLink"] = (
            f"{ctx.base_url}/communications/{function_path}?$skip={skip + PSTN_PAGE}"
        )
    return graph_json(body)


@_route(
    "GET",
    "/communications/callRecords/getPstnCalls(fromDateTime={from_time},toDateTime={to_time})",
    PSTN_READ,
)
async def get_pstn_calls(ctx: GraphContext) -> Response:
    """PSTN calls whose start lies in the range, both ends included."""
    begin, end = _range(ctx)
    # A bare date as the end means the whole of that day.
    if len(unquote(ctx.path_params["to_time"]).strip("'")) == 10:
        end += DAY - 0.001
    area = callrecords_of(ctx.state)
    with area.lock:
        rows = sorted(
            (row for row in area.pstn_rows if begin <= row["_start"] <= end),
            key=lambda row: row["_start"],
        )
    return _log_page(ctx, rows, "pstnCallLogRow", "getPstnCalls")


@_route(
    "GET",
    "/communications/callRecords/getDirectRoutingCalls(fromDateTime={from_time},toDateTime={to_time})",
    PSTN_READ,
)
async def get_direct_routing_calls(ctx: GraphContext) -> Response:
    """Direct-routing calls whose start lies in the range, the end excluded."""
    begin, end = _range(ctx)
    area = callrecords_of(ctx.state)
    with area.lock:
        rows = sorted(
            (row for row in area.direct_routing_rows if begin <= row["_start"] < end),
            key=lambda row: row["_start"],
        )
    return _log_page(ctx, rows, "directRoutingLogRow", "getDirectRoutingCalls")
