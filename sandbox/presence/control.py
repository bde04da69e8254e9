"""Control API for presence and its simulator (loopback only, under ``/_sandbox/presence``).

* ``POST pause`` ``{"at"?: ISO date-time}``: freeze simulated time (optionally set it first).
* ``POST resume`` ``{"speed"?: number}``: let simulated time run again.
* ``POST step`` ``{"minutes": N}``: move simulated time forward and apply the plans at once.
* ``GET state`` (``?ids=a,b`` to pick people): the simulator and everyone's presence, as the
  person themself would read it.
* ``POST {user_id}`` ``{"availability", "activity", "statusMessage"?, "statusMessageMinutes"?,
  "outOfOffice"?: {"isOutOfOffice", "message"}}``: force what the person's Teams client reports,
  e.g. a colleague joining a call. ``Offline`` signs the client out.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.app import on_shutdown, on_startup
from sandbox.control import ControlError, add_control_route, json_object
from sandbox.graph.odata_types import format_graph_datetime, parse_graph_datetime
from sandbox.presence.model import PersonPresence, StatusMessage, presence_json
from sandbox.presence.service import (
    MAX_SPEED,
    PresenceArea,
    presence_of,
    set_teams_session,
    start_presence,
    stop_presence,
)
from sandbox.presence.values import (
    TEAMS_CLIENT_PAIRS,
    InvalidValue,
    canonical_activity,
    canonical_availability,
)
from sandbox.state import state_of

MAX_STEP_MINUTES = 7 * 24 * 60
FORCE_PROPERTIES = frozenset(
    {"availability", "activity", "statusMessage", "statusMessageMinutes", "outOfOffice"}
)


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return format_graph_datetime(datetime.fromtimestamp(timestamp, tz=UTC))


def _simulator_json(area: PresenceArea) -> dict[str, Any]:
    simulator = area.simulator
    return {
        "running": simulator.running,
        "speed": simulator.speed,
        "simulatedTime": _iso(simulator.sim_time(area.now())),
        "people": len(simulator.people),
        "seed": simulator.seed,
    }


def _number(body: dict[str, Any], name: str) -> float:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ControlError(f"'{name}' must be a number.")
    return float(value)


def _settle_now(area: PresenceArea) -> None:
    """Apply every planned change up to the current simulated time, with no backlog left."""
    now = area.now()
    area.simulator.advance(area.simulator.sim_time(now), area.apply_planned)
    area.store.process_due(now)


async def pause(request: Request) -> Response:
    """Freeze simulated time, optionally moving it to ``at`` first."""
    state = state_of(request)
    body = await json_object(request)
    if set(body) - {"at"}:
        raise ControlError("Only 'at' (an ISO 8601 date-time) may be sent.")
    area = presence_of(state)
    with state.lock:
        area.simulator.pause(area.now())
        if "at" in body:
            try:
                moment = parse_graph_datetime(str(body["at"]))
            except ValueError as exc:
                raise ControlError(f"'at' is not an ISO 8601 date-time: {exc}") from exc
            area.simulator.set_time(area.now(), moment.timestamp())
        _settle_now(area)
        return JSONResponse(_simulator_json(area))


async def resume(request: Request) -> Response:
    """Let simulated time run again, optionally at a new ``speed``."""
    state = state_of(request)
    body = await json_object(request)
    if set(body) - {"speed"}:
        raise ControlError("Only 'speed' may be sent.")
    speed = _number(body, "speed") if "speed" in body else None
    if speed is not None and not 0 < speed <= MAX_SPEED:
        raise ControlError(f"'speed' must be above 0 and at most {MAX_SPEED:g}.")
    area = presence_of(state)
    with state.lock:
        area.simulator.resume(area.now(), speed)
        return JSONResponse(_simulator_json(area))


async def step(request: Request) -> Response:
    """Move simulated time forward by ``minutes`` and apply what the plans say."""
    state = state_of(request)
    body = await json_object(request)
    if set(body) != {"minutes"}:
        raise ControlError("Send 'minutes' (how far to move simulated time) and nothing else.")
    minutes = _number(body, "minutes")
    if not 0 < minutes <= MAX_STEP_MINUTES:
        raise ControlError(f"'minutes' must be above 0 and at most {MAX_STEP_MINUTES}.")
    area = presence_of(state)
    with state.lock:
        area.simulator.step(area.now(), minutes)
        _settle_now(area)
        return JSONResponse(_simulator_json(area))


def _person_json(area: PresenceArea, person: PersonPresence) -> dict[str, Any]:
    teams = person.teams
    return {
        **presence_json(person, owner=True),
        "teamsClient": None
        if teams is None
        else {"availability": teams.availability, "activity": teams.activity},
        "appSessions": [
            {
                "sessionId": session_id,
                "availability": session.availability,
                "activity": session.activity,
                "expiresDateTime": _iso(session.expires_at),
            }
            for session_id, session in sorted(person.app_sessions.items())
        ],
        "preferredPresence": None
        if person.preferred is None
        else {
            "availability": person.preferred.availability,
            "activity": person.preferred.activity,
            "expiresDateTime": _iso(person.preferred.expires_at),
        },
        "changedDateTime": _iso(person.changed_at),
        "nextSimulatedChange": _iso(area.simulator.next_change(person.user_id)),
    }


async def presence_state(request: Request) -> Response:
    """Return the simulator and the presence of everyone (or of the ``ids`` asked for)."""
    state = state_of(request)
    area = presence_of(state)
    wanted = request.query_params.get("ids")
    with state.lock:
        area.store.process_due(area.now())
        people = list(area.store.people.values())
        if wanted:
            ids = [one.strip() for one in wanted.split(",") if one.strip()]
            missing = [one for one in ids if area.store.get(one) is None]
            if missing:
                raise ControlError(f"Unknown user ids: {', '.join(missing)}.")
            people = [person for one in ids if (person := area.store.get(one)) is not None]
        return JSONResponse(
            {
                "now": _iso(area.now()),
                "simulator": _simulator_json(area),
                "people": [_person_json(area, person) for person in people],
            }
        )


def _force_mutation(body: dict[str, Any], now: float) -> Callable[[PersonPresence], None]:
    unknown = sorted(set(body) - FORCE_PROPERTIES)
    if unknown:
        raise ControlError(f"Unknown properties: {', '.join(unknown)}.")
    try:
        availability = canonical_availability(body.get("availability"))
        activity = canonical_activity(body.get("activity"))
    except InvalidValue as exc:
        raise ControlError(f"Send a Teams 'availability' and 'activity': {exc}") from exc
    if (availability, activity) not in TEAMS_CLIENT_PAIRS:
        pairs = ", ".join(f"{a}/{b}" for a, b in sorted(TEAMS_CLIENT_PAIRS))
        raise ControlError(f"A Teams client reports one of {pairs}.")
    changes_status = "statusMessage" in body
    message = body.get("statusMessage")
    if message is not None and not isinstance(message, str):
        raise ControlError("'statusMessage' must be a string (or null to clear it).")
    expiry = None
    if "statusMessageMinutes" in body:
        minutes = _number(body, "statusMessageMinutes")
        if minutes <= 0:
            raise ControlError("'statusMessageMinutes' must be above 0.")
        expiry = now + minutes * 60
    out_of_office = body.get("outOfOffice")
    if out_of_office is not None and (
        not isinstance(out_of_office, dict)
        or not isinstance(out_of_office.get("isOutOfOffice"), bool)
        or not isinstance(out_of_office.get("message"), str | None)
        or set(out_of_office) - {"isOutOfOffice", "message"}
    ):
        raise ControlError('\'outOfOffice\' must be {"isOutOfOffice": bool, "message": str|null}.')

    def mutate(person: PersonPresence) -> None:
        set_teams_session(person, availability, activity, now)
        if changes_status:
            person.status = StatusMessage(message, "text", expiry, now) if message else None
        if out_of_office is not None:
            person.is_out_of_office = out_of_office["isOutOfOffice"]
            person.out_of_office_message = out_of_office.get("message")

    return mutate


async def force_presence(request: Request) -> Response:
    """Force what a person's Teams client reports; the change publishes like any other."""
    state = state_of(request)
    body = await json_object(request)
    area = presence_of(state)
    with state.lock:
        person = area.store.get(request.path_params["user_id"])
        if person is None:
            return JSONResponse({"error": "No such user."}, 404)
        now = area.now()
        area.store.change(person.user_id, now, _force_mutation(body, now))
        return JSONResponse(_person_json(area, person))


add_control_route("/presence/pause", pause, ["POST"])
add_control_route("/presence/resume", resume, ["POST"])
add_control_route("/presence/step", step, ["POST"])
add_control_route("/presence/state", presence_state, ["GET"])
add_control_route("/presence/{user_id}", force_presence, ["POST"])
on_startup(start_presence)
on_shutdown(stop_presence)
