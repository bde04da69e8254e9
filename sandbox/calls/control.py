"""Control API for calls (loopback only, under ``/_sandbox/calls``).

* ``GET /calls``: the bot, the reception line, settings, every call and its state.
* ``POST /calls/webhook`` ``{"url"}``: the bot's calling webhook (where incoming calls go).
* ``POST /calls/settings`` ``{"answerSeconds", "declineSeconds", "promptSeconds",
  "transferTimeoutSeconds", "inviteTimeoutSeconds", "allowRemoveParticipants",
  "callbackTokenSeconds"}`` (a negative lifetime mints expired callback tokens).
* ``POST /calls/behaviours/{user id, UPN or E.164 number}`` ``{"behaviour": "presence" |
  "answer" | "decline" | "noAnswer" | "unreachable"}``: how that person or number answers.
* ``POST /calls/incoming`` ``{"from": {"phone": "+44..."} | {"user": id or UPN}}``: a call
  to the reception line; answers ``{"id"}``.
* ``POST /calls/{id}/tones`` ``{"tones": "1#"}``: the caller presses keys.
* ``POST /calls/{id}/hangup``: the caller (or whoever took a redirected call) hangs up.
* ``GET /calls/deliveries`` (``?callId=``): callbacks posted and what became of them, with
  when each was posted (``postedAt``, Unix seconds); a call's ``answerReceivedAt`` in
  ``GET /calls`` is when the bot's answer request arrived, so the two time the bot.
* ``POST /calls/keys/rotate`` ``{"dropOld"?: bool}``: the platform signs with a new key.
* ``POST /calls/delegates/{user id or UPN}`` ``{"delegates": [{"id", "receiveCalls"?,
  "makeCalls"?}]}``: set whom a person lets take their calls.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.app import on_shutdown, on_startup
from sandbox.calls.area import (
    BEHAVIOURS,
    INCOMING_ANSWER_SECONDS,
    CallsArea,
    calling_info,
    calls_of,
    start_calls,
    stop_calls,
)
from sandbox.calls.model import TONES, Call, Party, new_id
from sandbox.calls.platform import platform_keys
from sandbox.control import ControlError, add_control_route, json_object
from sandbox.state import state_of

SETTINGS = {
    "answerSeconds": "answer_seconds",
    "declineSeconds": "decline_seconds",
    "promptSeconds": "prompt_seconds",
    "transferTimeoutSeconds": "transfer_timeout_seconds",
    "inviteTimeoutSeconds": "invite_timeout_seconds",
}


def _call_json(call: Call) -> dict[str, Any]:
    return {
        **call.to_json(),
        "participants": [p.to_json() for p in call.participants.values()],
        "ringing": [ring.party.id for ring in call.rings],
        "connectedTo": call.connected_to.id if call.connected_to else None,
        "toneSubscribed": call.tones_subscribed,
        "promptsPlayed": list(call.prompts_played),
        "answerReceivedAt": call.answer_received_at,
    }


async def overview(request: Request) -> Response:
    """Return the bot, its settings and its calls."""
    state = state_of(request)
    area = calls_of(state)
    with state.lock:
        return JSONResponse(
            {
                **calling_info(area),
                "settings": area.settings.to_json(),
                "behaviours": dict(area.behaviours),
                "calls": [_call_json(call) for call in area.calls.values()],
            }
        )


async def webhook(request: Request) -> Response:
    """Set the bot's calling webhook."""
    body = await json_object(request)
    url = body.get("url")
    if url is not None and (
        not isinstance(url, str) or not url.startswith(("http://", "https://"))
    ):
        raise ControlError("'url' must be an absolute http(s) URL (or null).")
    state = state_of(request)
    with state.lock:
        calls_of(state).webhook_url = url
    return JSONResponse({"url": url})


async def settings(request: Request) -> Response:
    """Change how simulated people and the platform behave."""
    body = await json_object(request)
    unknown = set(body) - set(SETTINGS) - {"allowRemoveParticipants", "callbackTokenSeconds"}
    if unknown:
        raise ControlError(f"Unknown settings: {', '.join(sorted(unknown))}.")
    state = state_of(request)
    area = calls_of(state)
    with state.lock:
        for name, attribute in SETTINGS.items():
            if name in body:
                value = body[name]
                if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                    raise ControlError(f"'{name}' must be a number of seconds, 0 or more.")
                setattr(area.settings, attribute, float(value))
        if "callbackTokenSeconds" in body:
            lifetime = body["callbackTokenSeconds"]
            if isinstance(lifetime, bool) or not isinstance(lifetime, int):
                raise ControlError("'callbackTokenSeconds' must be a whole number of seconds.")
            area.settings.callback_token_seconds = lifetime
        if "allowRemoveParticipants" in body:
            if not isinstance(body["allowRemoveParticipants"], bool):
                raise ControlError("'allowRemoveParticipants' must be true or false.")
            area.settings.allow_remove_participants = body["allowRemoveParticipants"]
        return JSONResponse(area.settings.to_json())


def _party_key(area: CallsArea, who: str) -> str:
    if who.startswith("+"):
        return who
    user = area.state.tenant.directory_user(who)
    if user is None:
        raise ControlError(f"No user {who!r}.")
    return user.id.lower()


async def behaviour(request: Request) -> Response:
    """Say how one person or number answers."""
    body = await json_object(request)
    chosen = body.get("behaviour")
    if chosen not in BEHAVIOURS:
        raise ControlError(f"'behaviour' must be one of {', '.join(BEHAVIOURS)}.")
    state = state_of(request)
    area = calls_of(state)
    with state.lock:
        key = _party_key(area, request.path_params["who"])
        if chosen == "presence":
            area.behaviours.pop(key, None)
        else:
            area.behaviours[key] = chosen
        return JSONResponse({"who": key, "behaviour": chosen})


def _caller(area: CallsArea, raw: Any) -> Party:
    if not isinstance(raw, dict) or len(raw) != 1:
        raise ControlError('\'from\' must be {"phone": "+44..."} or {"user": id or UPN}.')
    if "phone" in raw:
        number = raw["phone"]
        if not isinstance(number, str) or not number.startswith("+") or not number[1:].isdigit():
            raise ControlError("'from.phone' must be an E.164 number such as +447700900123.")
        return Party("phone", number)
    user = area.party_of_user(str(raw.get("user", "")))
    if user is None:
        raise ControlError("'from.user' names nobody in the tenant.")
    return user


async def incoming(request: Request) -> Response:
    """Ring the reception line: the bot hears of a new incoming call."""
    body = await json_object(request)
    state = state_of(request)
    area = calls_of(state)
    with state.lock:
        caller = _caller(area, body.get("from"))
        if not area.webhook_url:
            raise ControlError("The bot has no calling webhook; POST /_sandbox/calls/webhook.")
        call = area.add_call(
            Call(
                id=new_id(),
                tenant_id=area.tenant_id,
                bot=area.reception,
                direction="incoming",
                state="incoming",
                source=caller,
                targets=[area.reception],
                callback_uri=None,
                created_at=area.now(),
            )
        )
        call.incoming_deadline = area.now() + INCOMING_ANSWER_SECONDS
        area.notify(call, "created", call.resource_url(), call.to_json())

        def drop() -> None:
            if call.state == "incoming":
                area.terminate(call, (408, 0, "Nobody answered the call within 15 seconds."))

        area.at(INCOMING_ANSWER_SECONDS, drop)
        return JSONResponse({"id": call.id}, status_code=201)


def _call_of(area: CallsArea, request: Request) -> Call:
    call = area.calls.get(request.path_params["call_id"].lower())
    if call is None:
        raise ControlError("No such call.")
    return call


async def tones(request: Request) -> Response:
    """The caller presses keys; a bot that subscribed hears each tone."""
    body = await json_object(request)
    keys = body.get("tones")
    if not isinstance(keys, str) or not keys or any(key not in TONES for key in keys.upper()):
        raise ControlError("'tones' must be keys such as '1', '9#' or '*'.")
    state = state_of(request)
    area = calls_of(state)
    with state.lock:
        call = _call_of(area, request)
        if call.state != "established":
            raise ControlError(f"The call is {call.state}; keys reach established calls only.")
        heard = 0
        for key in keys.upper():
            if not call.tones_subscribed:
                continue
            call.tone_sequence += 1
            area.notify_state(
                call,
                toneInfo={
                    "@odata.type": "#microsoft.graph.toneInfo",
                    "sequenceId": call.tone_sequence,
                    "tone": TONES[key],
                },
            )
            heard += 1
        return JSONResponse({"delivered": heard})


async def hangup(request: Request) -> Response:
    """The caller hangs up (or whoever they were redirected or transferred to)."""
    state = state_of(request)
    area = calls_of(state)
    with state.lock:
        call = _call_of(area, request)
        reason = (200, 540000 if call.source.kind == "phone" else 5001, "The caller hung up.")
        if not call.ended:
            area.terminate(call, reason)
        elif call.connected_to is not None:
            area.end_connection(call, reason)
        else:
            raise ControlError("The call has ended already.")
        return JSONResponse(_call_json(call))


async def deliveries(request: Request) -> Response:
    """Return the callbacks posted, oldest first."""
    state = state_of(request)
    area = calls_of(state)
    wanted = request.query_params.get("callId")
    with state.lock:
        items = [d.to_json() for d in area.log if wanted is None or d.call_id == wanted.lower()]
    return JSONResponse({"deliveries": items})


async def rotate_keys(request: Request) -> Response:
    """Sign callbacks with a new key from now on."""
    body = await json_object(request)
    drop_old = body.get("dropOld", False)
    if not isinstance(drop_old, bool):
        raise ControlError("'dropOld' must be true or false.")
    state = state_of(request)
    key = platform_keys(state).rotate(drop_old=drop_old)
    return JSONResponse({"kid": key.kid, "published": [k.kid for k in platform_keys(state).keys]})


async def set_delegates(request: Request) -> Response:
    """Set whom one person lets take their calls."""
    body = await json_object(request)
    raw = body.get("delegates")
    if not isinstance(raw, list):
        raise ControlError("'delegates' must be an array.")
    state = state_of(request)
    area = calls_of(state)
    with state.lock:
        delegator = _party_key(area, request.path_params["who"])
        settings_list = []
        for one in raw:
            if not isinstance(one, dict) or not isinstance(one.get("id"), str):
                raise ControlError("Each delegate needs an 'id'.")
            delegate = _party_key(area, one["id"])
            settings_list.append(
                {
                    "@odata.type": "#microsoft.graph.delegationSettings",
                    "id": delegate,
                    "createdDateTime": "2026-01-05T09:00:00Z",
                    "isActive": True,
                    "allowedActions": {
                        "@odata.type": "microsoft.graph.delegateAllowedActions",
                        "makeCalls": bool(one.get("makeCalls", False)),
                        "receiveCalls": bool(one.get("receiveCalls", True)),
                        "manageCallAndDelegateSettings": False,
                        "pickUpHeldCalls": True,
                        "joinActiveCalls": False,
                    },
                }
            )
        area.delegates[delegator] = settings_list
        return JSONResponse({"delegates": settings_list})


add_control_route("/calls", overview, ["GET"])
add_control_route("/calls/webhook", webhook, ["POST"])
add_control_route("/calls/settings", settings, ["POST"])
add_control_route("/calls/behaviours/{who}", behaviour, ["POST"])
add_control_route("/calls/incoming", incoming, ["POST"])
add_control_route("/calls/deliveries", deliveries, ["GET"])
add_control_route("/calls/keys/rotate", rotate_keys, ["POST"])
add_control_route("/calls/delegates/{who}", set_delegates, ["POST"])
add_control_route("/calls/{call_id}/tones", tones, ["POST"])
add_control_route("/calls/{call_id}/hangup", hangup, ["POST"])
on_startup(start_calls)
on_shutdown(stop_calls)
