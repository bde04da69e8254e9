"""Graph's error body and the headers Graph puts on every response."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

JSON_CONTENT_TYPE = (
    "application/json;odata.metadata=minimal;odata.streaming=true;"
    "IEEE754Compatible=false;charset=utf-8"
)


@dataclass(frozen=True)
class RequestIds:
    """The ids Graph returns with every answer: its own and the caller's."""

    request_id: str
    client_request_id: str

    @classmethod
    def for_request(cls, request: Request) -> RequestIds:
        """Return new ids for ``request``, echoing its ``client-request-id`` header if any."""
        request_id = str(uuid.uuid4())
        return cls(request_id, request.headers.get("client-request-id") or request_id)


def error_body(
    code: str, message: str, ids: RequestIds, now: datetime, inner: dict[str, str] | None = None
) -> dict[str, Any]:
    """Return ``{"error": {"code", "message", "innerError"}}`` as Graph writes it."""
    inner_error: dict[str, str] = {
        "date": now.strftime("%Y-%m-%dT%H:%M:%S"),
        "request-id": ids.request_id,
        "client-request-id": ids.client_request_id,
    }
    inner_error.update(inner or {})
    return {"error": {"code": code, "message": message, "innerError": inner_error}}


def standard_headers(ids: RequestIds, now: datetime) -> dict[str, str]:
    """Return the headers every Graph response carries."""
    return {
        "request-id": ids.request_id,
        "client-request-id": ids.client_request_id,
        "Date": format_datetime(now, usegmt=True),
        "Cache-Control": "no-cache",
        "x-ms-ags-diagnostic": DIAGNOSTIC,
    }


# The same on every answer: written once.
DIAGNOSTIC = json.dumps({"ServerInfo": {"DataCenter": "Sandbox", "Slice": "E", "Ring": "0"}})


def _dumps(payload: Any) -> bytes:
    # orjson: large bodies (a call record with its sessions) are written several times faster.
    return orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS)


def json_response(
    payload: Any, ids: RequestIds, now: datetime, status: int = 200, **headers: str
) -> Response:
    """Return ``payload`` as Graph's JSON with the standard headers."""
    response = Response(
        _dumps(payload),
        status_code=status,
        media_type=None,
        headers={**standard_headers(ids, now), "OData-Version": "4.0", **headers},
    )
    response.headers["Content-Type"] = JSON_CONTENT_TYPE
    return response


def error_response(
    status: int,
    code: str,
    message: str,
    ids: RequestIds,
    now: datetime,
    *,
    headers: dict[str, str] | None = None,
    inner: dict[str, str] | None = None,
) -> Response:
    """Return Graph's error body with the standard headers."""
    response = Response(
        json.dumps(error_body(code, message, ids, now, inner), separators=(",", ":")),
        status_code=status,
        headers={**standard_headers(ids, now), **(headers or {})},
    )
    response.headers["Content-Type"] = "application/json"
    return response


def throttled_response(retry_after: float, ids: RequestIds, now: datetime) -> Response:
    """Return Graph's 429 answer with ``Retry-After`` (whole seconds when possible)."""
    seconds = int(retry_after) if float(retry_after).is_integer() else retry_after
    return error_response(
        429,
        "TooManyRequests",
        "Please retry again later.",
        ids,
        now,
        headers={"Retry-After": str(seconds)},
        inner={"code": "429", "message": "Please retry after", "status": "429"},
    )


def graph_json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Return ``payload`` as Graph's JSON; the pipeline adds the id and date headers."""
    response = Response(
        _dumps(payload),
        status_code=status,
        headers={"OData-Version": "4.0", **(headers or {})},
    )
    response.headers["Content-Type"] = JSON_CONTENT_TYPE
    return response


def no_content() -> Response:
    """Return Graph's empty 204 answer."""
    return Response(status_code=204)
