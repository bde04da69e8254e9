"""JSON batching: ``POST /$batch`` with up to 20 requests, ``dependsOn`` and 424s.

https://learn.microsoft.com/graph/json-batching
https://learn.microsoft.com/graph/known-issues#json-batching (the shapes ``dependsOn`` may take)
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from starlette.requests import Request
from starlette.responses import Response

from sandbox.graph.errors import RequestIds, error_body, error_response, json_response
from sandbox.graph.pipeline import (
    apply_fault,
    authenticate,
    origin_of,
    process,
    split_path,
    throttle_or_none,
)
from sandbox.graph.routing import GraphError, Principal
from sandbox.state import SandboxState

MAX_REQUESTS = 20
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
# Sub-response headers worth passing back, spelled as Graph spells them; the rest are transport.
_KEPT_HEADERS = {
    "content-type": "Content-Type",
    "retry-after": "Retry-After",
    "location": "Location",
    "cache-control": "Cache-Control",
    "odata-version": "OData-Version",
}


@dataclass(frozen=True)
class SubRequest:
    """One validated entry of the batch's ``requests`` array."""

    id: str
    method: str
    url: str
    headers: dict[str, str]
    body: Any
    depends_on: tuple[str, ...]


async def batch_endpoint(request: Request) -> Response:
    """Run a JSON batch: each sub-request through the whole pipeline, in dependency order."""
    state: SandboxState = request.app.state.sandbox
    ids = RequestIds.for_request(request)
    version, path = split_path(request.url.path)
    try:
        faulted = await apply_fault(state, "POST", f"/{version}{path}", ids)
        if faulted is not None:
            return faulted
        principal = authenticate(request, state)
        throttled = throttle_or_none(state, "global", principal, ids)
        if throttled is not None:
            return throttled
        entries = parse_batch(await _json_body(request))
        origin_of(request)  # worked out once, before the sub-requests copy the scope
        responses = await _run(request, state, principal, entries)
    except GraphError as error:
        return error_response(
            error.status, error.code, error.message, ids, state.clock.now(), headers=error.headers
        )
    # Each answer is already JSON text: joined as it is rather than parsed and written again,
    # which for large bodies (call records) was most of a batch's cost.
    response = json_response({}, ids, state.clock.now())
    response.body = f'{{"responses":[{",".join(responses)}]}}'.encode()
    response.headers["Content-Length"] = str(len(response.body))
    return response


async def _json_body(request: Request) -> Any:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise GraphError(
            415, "UnsupportedMediaType", "A batch must be sent with Content-Type application/json."
        )
    try:
        return json.loads(await request.body())
    except (ValueError, UnicodeDecodeError) as exc:
        raise GraphError(400, "BadRequest", f"Invalid batch payload format: {exc}") from exc


def _invalid(message: str) -> GraphError:
    return GraphError(400, "BadRequest", f"Invalid batch payload format. {message}")


def parse_batch(payload: Any) -> list[SubRequest]:
    """Check the batch body and return its requests; anything malformed is Graph's 400."""
    if not isinstance(payload, dict) or not isinstance(payload.get("requests"), list):
        raise _invalid("The body must be an object with a 'requests' array.")
    items = payload["requests"]
    if not items:
        raise _invalid("The 'requests' array is empty.")
    if len(items) > MAX_REQUESTS:
        raise _invalid(f"A batch holds at most {MAX_REQUESTS} requests; this one has {len(items)}.")
    entries: list[SubRequest] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        entry = _parse_entry(index, item)
        if entry.id.lower() in seen:
            raise _invalid(f"The request id '{entry.id}' appears more than once.")
        seen.add(entry.id.lower())
        entries.append(entry)
    for entry in entries:
        for dependency in entry.depends_on:
            if dependency.lower() not in seen:
                raise _invalid(f"Request '{entry.id}' depends on unknown request '{dependency}'.")
    check_sequencing(entries)
    return entries


# Graph's answer to any other use of ``dependsOn`` (its 400 names the json-batching tip).
NOT_SEQUENTIAL_NOR_PARALLEL = "Batch should be either fully sequential or fully parallel."


def check_sequencing(entries: list[SubRequest]) -> None:
    """Refuse a batch whose ``dependsOn`` follows none of Graph's three supported shapes.

    Parallel: no request names a dependency. Serial: each request after the first depends
    on the one just before it. Same: every request that names a dependency names the same
    single one. Each request names at most one, and only one that comes before it.
    """
    dependent = [entry for entry in entries if entry.depends_on]
    if not dependent:
        return
    position = {entry.id.lower(): index for index, entry in enumerate(entries)}
    for index, entry in enumerate(entries):
        if len(entry.depends_on) > 1:
            raise GraphError(400, "BadRequest", NOT_SEQUENTIAL_NOR_PARALLEL)
        if entry.depends_on and position[entry.depends_on[0].lower()] >= index:
            raise _invalid(
                f"Request '{entry.id}' depends on request '{entry.depends_on[0]}', "
                "which does not come before it."
            )
    serial = all(
        [dependency.lower() for dependency in entry.depends_on] == [entries[index - 1].id.lower()]
        for index, entry in enumerate(entries)
        if index > 0
    )
    same = len({entry.depends_on[0].lower() for entry in dependent}) == 1
    if not (serial or same):
        raise GraphError(400, "BadRequest", NOT_SEQUENTIAL_NOR_PARALLEL)


def _parse_entry(index: int, item: Any) -> SubRequest:
    if not isinstance(item, dict):
        raise _invalid(f"Request #{index + 1} is not an object.")
    request_id, method, url = item.get("id"), item.get("method"), item.get("url")
    if not isinstance(request_id, str) or not request_id:
        raise _invalid(f"Request #{index + 1} needs a string 'id'.")
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise _invalid(f"Request '{request_id}' needs a 'method' of {', '.join(sorted(METHODS))}.")
    if not isinstance(url, str) or not url or "://" in url:
        raise _invalid(f"Request '{request_id}' needs a relative 'url'.")
    headers = item.get("headers") or {}
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise _invalid(f"The 'headers' of request '{request_id}' must map names to strings.")
    if "body" in item and not any(name.lower() == "content-type" for name in headers):
        raise _invalid(f"Request '{request_id}' has a body but no Content-Type header.")
    depends_on = item.get("dependsOn") or []
    if not isinstance(depends_on, list) or not all(isinstance(d, str) for d in depends_on):
        raise _invalid(f"The 'dependsOn' of request '{request_id}' must be an array of ids.")
    return SubRequest(
        id=request_id,
        method=method.upper(),
        url=url,
        headers={str(k): v for k, v in headers.items()},
        body=item.get("body"),
        depends_on=tuple(depends_on),
    )


async def _run(
    outer: Request, state: SandboxState, principal: Principal, entries: list[SubRequest]
) -> list[str]:
    """Run the entries in order; return each answer as JSON text."""
    statuses: dict[str, int] = {}
    responses: list[str] = []
    version = outer.url.path.strip("/").split("/")[0]
    # ``check_sequencing`` allows only dependencies on earlier requests: input order is safe.
    for entry in entries:
        failed = [d for d in entry.depends_on if not 200 <= statuses.get(d.lower(), 0) < 300]
        if failed:
            statuses[entry.id.lower()] = 424
            responses.append(_compact(_failed_dependency(entry, failed, state, outer)))
            continue
        sub_request = _sub_request(outer, version, entry)
        answer = await process(sub_request, state, outer_principal=principal)
        statuses[entry.id.lower()] = answer.status_code
        responses.append(_as_sub_response(entry.id, answer))
    return responses


def _failed_dependency(
    entry: SubRequest, failed: list[str], state: SandboxState, outer: Request
) -> dict[str, Any]:
    ids = RequestIds.for_request(outer)
    message = f"The request depends on request(s) {', '.join(failed)}, which did not succeed."
    return {
        "id": entry.id,
        "status": 424,
        "headers": {"Content-Type": "application/json"},
        "body": error_body("FailedDependency", message, ids, state.clock.now()),
    }


def _encode_body(entry: SubRequest) -> bytes:
    if entry.body is None:
        return b""
    content_type = next(v for k, v in entry.headers.items() if k.lower() == "content-type")
    if isinstance(entry.body, str) and "json" not in content_type.lower():
        try:
            return base64.b64decode(entry.body, validate=True)
        except binascii.Error:
            return entry.body.encode()
    return json.dumps(entry.body).encode()


def _sub_request(outer: Request, version: str, entry: SubRequest) -> Request:
    path, _, query = entry.url.partition("?")
    full_path = f"/{version}/{path.lstrip('/')}"
    body = _encode_body(entry)
    headers = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in entry.headers.items()
    ]
    for name in ("authorization", "host"):
        if name in outer.headers:
            headers.append((name.encode(), outer.headers[name].encode("latin-1")))
    headers.append((b"content-length", str(len(body)).encode()))
    scope = {
        **outer.scope,
        "method": entry.method,
        "path": unquote(full_path),
        "raw_path": full_path.encode(),
        "query_string": quote(query, safe="=&$,()'/:@!*;?%").encode(),
        "headers": headers,
    }
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(scope, receive)


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _as_sub_response(request_id: str, answer: Response) -> str:
    """Return one answer of the batch as JSON text; a JSON body goes in as it was written."""
    headers = {
        _KEPT_HEADERS[name.lower()]: value
        for name, value in answer.headers.items()
        if name.lower() in _KEPT_HEADERS
    }
    result: dict[str, Any] = {"id": request_id, "status": answer.status_code, "headers": headers}
    raw = bytes(answer.body) if answer.body else b""
    if raw and "json" in answer.headers.get("content-type", ""):
        return f'{_compact(result)[:-1]},"body":{raw.decode()}}}'
    if raw:
        result["body"] = base64.b64encode(raw).decode("ascii")
    return _compact(result)
