"""Control API for meetings (loopback only, under ``/_sandbox/meetings``).

* ``GET access-policy`` / ``POST access-policy`` ``{"everyone"?: bool, "grant"?: [user ids],
  "revoke"?: [user ids]}``: the application access policy that lets app-only tokens act for
  organizers (Graph's ``New-CsApplicationAccessPolicy``). Granted to everyone by default.
* ``POST simulator`` ``{"running": bool}``: play out meetings created from now on by
  themselves (people join, some leave early, the call ends at the end time).
* ``GET`` (``/_sandbox/meetings``): every meeting's id, subject, organizer, joinWebUrl and
  whether its call runs.
* ``GET {meeting_id}``: the meeting, its running call and its reports.
* ``POST {meeting_id}/join`` ``{"userId", "lobby"?: bool}``, ``POST {meeting_id}/admit``
  ``{"userId"}``, ``POST {meeting_id}/leave`` ``{"userId"}``, ``POST {meeting_id}/end``:
  drive the meeting's call; each step sends its meeting call event and changes presence.
  The answer is the meeting as ``GET`` shows it, with ``changedAt``: when the step was
  made (Unix seconds), so that a client can time what follows from the change itself; with
  ``"brief": true`` in the body, only ``changedAt``.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.app import on_shutdown, on_startup
from sandbox.control import ControlError, add_control_route, json_object
from sandbox.graph.odata_types import format_graph_datetime
from sandbox.meetings.model import Meeting
from sandbox.meetings.service import (
    CallError,
    MeetingsArea,
    admit,
    end_call,
    join,
    leave,
    meetings_of,
    start_meetings,
    stop_meetings,
)
from sandbox.state import state_of


def _policy_json(area: MeetingsArea) -> dict[str, Any]:
    return {"everyone": area.policy_everyone, "users": sorted(area.policy_users)}


def _ids(body: dict[str, Any], name: str) -> list[str]:
    value = body.get(name, [])
    if not isinstance(value, list) or not all(isinstance(one, str) for one in value):
        raise ControlError(f"'{name}' must be a list of user ids.")
    return [one.lower() for one in value]


async def access_policy(request: Request) -> Response:
    """Read or change the application access policy."""
    state = state_of(request)
    area = meetings_of(state)
    if request.method == "POST":
        body = await json_object(request)
        if set(body) - {"everyone", "grant", "revoke"}:
            raise ControlError("Send 'everyone', 'grant' and/or 'revoke'.")
        everyone = body.get("everyone")
        if everyone is not None and not isinstance(everyone, bool):
            raise ControlError("'everyone' must be true or false.")
        grant, revoke = _ids(body, "grant"), _ids(body, "revoke")
        with state.lock:
            if everyone is not None:
                area.policy_everyone = everyone
            area.policy_users.update(grant)
            area.policy_users.difference_update(revoke)
    return JSONResponse(_policy_json(area))


async def simulator(request: Request) -> Response:
    """Switch the meeting simulator on or off."""
    state = state_of(request)
    body = await json_object(request)
    running = body.get("running")
    if set(body) != {"running"} or not isinstance(running, bool):
        raise ControlError("Send {'running': true|false}.")
    area = meetings_of(state)
    with state.lock:
        area.simulate = running
    return JSONResponse({"running": area.simulate})


def _meeting_json(meeting: Meeting) -> dict[str, Any]:
    call = meeting.call
    return {
        "meeting": meeting.to_graph(),
        "call": None
        if call is None
        else {
            "startedDateTime": format_graph_datetime(call.started_at),
            "participants": [
                {
                    "id": p.participant_id,
                    "userId": p.user_id,
                    "displayName": p.display_name,
                    "isInLobby": p.in_lobby,
                }
                for p in call.participants.values()
            ],
        },
        "attendanceReports": [report.to_graph(expand=True) for report in meeting.reports],
    }


def _meeting(area: MeetingsArea, request: Request) -> Meeting:
    meeting = area.find(request.path_params["meeting_id"])
    if meeting is None:
        raise ControlError("No such meeting.")
    return meeting


async def list_meetings(request: Request) -> Response:
    """Return a summary of every meeting."""
    state = state_of(request)
    area = meetings_of(state)
    with state.lock:
        return JSONResponse(
            {
                "value": [
                    {
                        "id": meeting.id,
                        "subject": meeting.subject,
                        "organizerId": meeting.organizer_id,
                        "joinWebUrl": meeting.join_web_url,
                        "running": meeting.call is not None,
                    }
                    for meeting in area.meetings.values()
                ]
            }
        )


async def show(request: Request) -> Response:
    """Return a meeting with its call and reports."""
    state = state_of(request)
    area = meetings_of(state)
    with state.lock:
        return JSONResponse(_meeting_json(_meeting(area, request)))


async def _user_of(request: Request, body: dict[str, Any]) -> str:
    user_id = body.get("userId")
    user = state_of(request).tenant.directory_user(user_id) if isinstance(user_id, str) else None
    if user is None:
        raise ControlError("'userId' must name a user of the tenant.")
    return user.id


async def act(request: Request) -> Response:
    """Join, admit, leave or end, as the path says."""
    state = state_of(request)
    area = meetings_of(state)
    action = request.path_params["action"]
    body = await json_object(request)
    with state.lock:
        changed_at = time.time()
        meeting = _meeting(area, request)
        try:
            if action == "end":
                if meeting.call is None:
                    raise ControlError("The meeting is not running.")
                end_call(area, meeting)
            else:
                user_id = await _user_of(request, body)
                if action == "join":
                    lobby = body.get("lobby", False)
                    if not isinstance(lobby, bool):
                        raise ControlError("'lobby' must be true or false.")
                    join(area, meeting, user_id, lobby=lobby)
                elif action == "admit":
                    admit(area, meeting, user_id)
                elif action == "leave":
                    leave(area, meeting, user_id)
                else:
                    raise ControlError("Actions are join, admit, leave and end.")
        except CallError as error:
            raise ControlError(str(error)) from error
        if body.get("brief") is True:
            # A driver of thousands of steps needs no copy of the whole roster each time.
            return JSONResponse({"changedAt": changed_at})
        return JSONResponse({**_meeting_json(meeting), "changedAt": changed_at})


add_control_route("/meetings/access-policy", access_policy, ["GET", "POST"])
add_control_route("/meetings/simulator", simulator, ["POST"])
add_control_route("/meetings", list_meetings, ["GET"])
add_control_route("/meetings/{meeting_id}", show, ["GET"])
add_control_route("/meetings/{meeting_id}/{action}", act, ["POST"])
on_startup(start_meetings)
on_shutdown(stop_meetings)
