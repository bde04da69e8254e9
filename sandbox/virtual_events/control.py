"""Control API of virtual events (loopback only, under ``/_sandbox/virtual-events``).

* ``GET state``: every event with its status and registration counts, and the simulator.
* ``POST simulator`` ``{"running"?: bool, "secondsPerRegistration"?: number}``.
* ``POST access-policy`` ``{"userIds": [...]}`` or ``{"global": true}``: whose events apps
  may read with application permissions.
* ``POST {event_id}/register`` ``{"count": N}``: register N people at once (people of the
  tenant first, then guests); the registrations notify like any other.
* ``POST {event_id}/sessions/{session_id}/end``: end a session now; its attendance appears.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.app import on_shutdown, on_startup
from sandbox.control import ControlError, add_control_route, json_object
from sandbox.state import state_of
from sandbox.virtual_events.model import VirtualEvent
from sandbox.virtual_events.service import area_of, start_virtual_events, stop_virtual_events

MAX_REGISTER = 20_000


def _event_json(event: VirtualEvent) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for registration in event.registrations.values():
        counts[registration.status] = counts.get(registration.status, 0) + 1
    return {
        "id": event.id,
        "kind": event.kind,
        "status": event.status,
        "displayName": event.display_name,
        "organizerId": event.organizer_id,
        "capacity": event.capacity,
        "registrations": counts,
        "sessions": [{"id": s.id, "reports": len(s.reports)} for s in event.sessions],
    }


def _event_of(request: Request) -> VirtualEvent:
    event = area_of(state_of(request)).store.get(request.path_params["event_id"])
    if event is None:
        raise ControlError("No such event.")
    return event


async def state(request: Request) -> Response:
    area = area_of(state_of(request))
    with area.state.lock:
        return JSONResponse(
            {
                "simulator": {
                    "running": area.running,
                    "secondsPerRegistration": area.seconds_per_registration,
                },
                "accessPolicy": None
                if area.store.policy_users is None
                else sorted(area.store.policy_users),
                "events": [_event_json(e) for e in area.store.events.values()],
            }
        )


async def simulator(request: Request) -> Response:
    body = await json_object(request)
    area = area_of(state_of(request))
    if "running" in body:
        if not isinstance(body["running"], bool):
            raise ControlError("'running' must be true or false.")
        area.running = body["running"]
    if "secondsPerRegistration" in body:
        value = body["secondsPerRegistration"]
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ControlError("'secondsPerRegistration' must be a positive number.")
        area.seconds_per_registration = float(value)
    return JSONResponse(
        {"running": area.running, "secondsPerRegistration": area.seconds_per_registration}
    )


async def access_policy(request: Request) -> Response:
    body = await json_object(request)
    area = area_of(state_of(request))
    if body.get("global") is True:
        area.store.policy_users = None
    else:
        ids = body.get("userIds")
        if not isinstance(ids, list) or not all(isinstance(one, str) for one in ids):
            raise ControlError("Send 'userIds' (a list of object ids) or 'global': true.")
        area.store.policy_users = {one.lower() for one in ids}
    return JSONResponse({"global": area.store.policy_users is None})


async def register_many(request: Request) -> Response:
    body = await json_object(request)
    count = body.get("count")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_REGISTER:
        raise ControlError(f"'count' must be a whole number from 1 to {MAX_REGISTER}.")
    area = area_of(state_of(request))
    with area.state.lock:
        event = _event_of(request)
        if event.kind != "webinar" or event.status != "published":
            raise ControlError("Only a published webinar takes registrations.")
        made = area.register_people(event, count)
        return JSONResponse(
            {
                "registered": [r.id for r in made if r.status == "registered"],
                "waitlisted": [r.id for r in made if r.status == "waitlisted"],
                "event": _event_json(event),
            }
        )


async def end_session(request: Request) -> Response:
    area = area_of(state_of(request))
    with area.state.lock:
        event = _event_of(request)
        wanted = request.path_params["session_id"].lower()
        session = next((s for s in event.sessions if s.id.lower() == wanted), None)
        if session is None:
            raise ControlError("No such session.")
        area.end_session(event, session, area.state.clock.now())
        report = session.reports[-1]
        return JSONResponse({"reportId": report.id, "attendees": len(report.records)})


add_control_route("/virtual-events/state", state, ["GET"])
add_control_route("/virtual-events/simulator", simulator, ["POST"])
add_control_route("/virtual-events/access-policy", access_policy, ["POST"])
add_control_route("/virtual-events/{event_id}/register", register_many, ["POST"])
add_control_route("/virtual-events/{event_id}/sessions/{session_id}/end", end_session, ["POST"])
on_startup(start_virtual_events)
on_shutdown(stop_virtual_events)
