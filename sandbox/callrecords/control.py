"""Control API for call records (loopback only, under ``/_sandbox/callrecords``).

* ``GET state``: how many records, PSTN and direct-routing rows are held, and the queue.
* ``POST generate`` ``{"count": N, "days"?: D, "seed"?: S}``: add N records already written,
  spread over the last D days (default 7), without notifications; for benchmarks.
* ``POST /`` ``{"participants": [ids], "start"?: ISO, "minutes"?: N, "type"?, "modalities"?,
  "conditions"?: {id: condition}, "guests"?: N, "availableInMinutes"?: N,
  "secondVersionInMinutes"?: N, "key"?: text}``: add one record made to order; it is
  written (and notified) ``availableInMinutes`` after now (default 0).
* ``POST {id}/versions``: write the next version of a record now, and notify it.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.app import on_shutdown, on_startup
from sandbox.callrecords.generator import CONDITIONS
from sandbox.callrecords.service import callrecords_of, start_callrecords, stop_callrecords
from sandbox.control import ControlError, add_control_route, json_object
from sandbox.graph.odata_types import parse_graph_datetime
from sandbox.state import state_of

MAX_BULK = 200_000


def _number(body: dict[str, Any], name: str, default: float) -> float:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ControlError(f"'{name}' must be a number.")
    return float(value)


async def state_view(request: Request) -> Response:
    """Count what the area holds."""
    area = callrecords_of(state_of(request))
    with area.lock:
        return JSONResponse(
            {
                "records": len(area.specs),
                "pstnRows": len(area.pstn_rows),
                "directRoutingRows": len(area.direct_routing_rows),
                "notificationsWaiting": len(area.due),
                "conditions": list(CONDITIONS),
            }
        )


async def generate(request: Request) -> Response:
    """Add many written records at once."""
    body = await json_object(request)
    count = int(_number(body, "count", 0))
    if not 1 <= count <= MAX_BULK:
        raise ControlError(f"'count' must be between 1 and {MAX_BULK}.")
    days = _number(body, "days", 7)
    if not 0.2 <= days <= 30:
        raise ControlError("'days' must be between 0.2 and 30.")
    seed = int(_number(body, "seed", 1))
    area = callrecords_of(state_of(request))
    earliest, latest = area.generate_bulk(count, days, seed)
    return JSONResponse({"added": count, "from": earliest, "to": latest, "total": len(area.specs)})


async def make(request: Request) -> Response:
    """Add one record made to order."""
    body = await json_object(request)
    area = callrecords_of(state_of(request))
    participants = body.get("participants")
    if (
        not isinstance(participants, list)
        or not participants
        or not all(isinstance(p, str) and p in area.members for p in participants)
    ):
        raise ControlError("'participants' must list ids of people of the tenant.")
    kind = body.get("type", "peerToPeer" if len(participants) == 2 else "groupCall")
    if kind not in ("peerToPeer", "groupCall") or (kind == "peerToPeer" and len(participants) != 2):
        raise ControlError("'type' is peerToPeer (two participants) or groupCall.")
    modalities = body.get("modalities", ["audio"])
    allowed = ("audio", "video", "videoBasedScreenSharing")
    if (
        not isinstance(modalities, list)
        or not modalities
        or any(m not in allowed for m in modalities)
    ):
        raise ControlError(f"'modalities' must be a list of {', '.join(allowed)}.")
    conditions = body.get("conditions", {})
    if not isinstance(conditions, dict) or any(
        key not in participants or value not in CONDITIONS for key, value in conditions.items()
    ):
        raise ControlError(f"'conditions' maps participants to one of {', '.join(CONDITIONS)}.")
    now = area.now()
    try:
        start = parse_graph_datetime(body["start"]).timestamp() if "start" in body else None
    except (TypeError, ValueError) as error:
        raise ControlError(f"'start' is not a date-time: {error}") from error
    minutes = _number(body, "minutes", 10)
    if start is None:
        start = now - minutes * 60 - 60
    available = now + _number(body, "availableInMinutes", 0) * 60
    second = body.get("secondVersionInMinutes")
    second_at = None if second is None else now + _number(body, "secondVersionInMinutes", 0) * 60
    guests = int(_number(body, "guests", 0))
    if not 0 <= guests <= 500:
        raise ControlError("'guests' must be between 0 and 500.")
    key = str(body.get("key") or f"{now}:{len(area.specs)}")
    spec = area.make_record(
        participants=participants,
        start=start,
        minutes=minutes,
        kind=kind,
        modalities=tuple(modalities),
        conditions=conditions,
        guests=guests,
        available_at=available,
        second_version_at=second_at,
        key=key,
    )
    return JSONResponse({"id": spec.id, "availableAt": spec.available_at}, 201)


async def new_version(request: Request) -> Response:
    """Write the next version of a record now."""
    area = callrecords_of(state_of(request))
    try:
        version = area.add_version(request.path_params["record_id"])
    except KeyError:
        return JSONResponse({"error": "No such visible record."}, 404)
    return JSONResponse({"id": request.path_params["record_id"], "version": version})


add_control_route("/callrecords/state", state_view, ["GET"])
add_control_route("/callrecords/generate", generate, ["POST"])
add_control_route("/callrecords", make, ["POST"])
add_control_route("/callrecords/{record_id}/versions", new_version, ["POST"])
on_startup(start_callrecords)
on_shutdown(stop_callrecords)
