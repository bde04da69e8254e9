"""The calling bot's Graph API: create, answer, reject, redirect, transfer, media actions, roster.

Application permissions only, as Graph has them. Sources, under
https://learn.microsoft.com/graph/api/: application-post-calls, call-answer, call-reject,
call-redirect, call-transfer, call-playprompt, call-record, call-subscribetotone,
call-keepalive, call-delete, call-list-participants, participant-invite, participant-mute,
participant-delete.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from starlette.responses import Response

from sandbox.calls.area import CallsArea, calls_of
from sandbox.calls.media import (
    PREFETCH_KEEP_SECONDS,
    UNPLAYABLE_CODE,
    UNPLAYABLE_SUBCODE,
    media_uri_problem,
    prompt_media,
)
from sandbox.calls.model import Call, Operation, Party, Ring, new_id
from sandbox.graph.errors import graph_json, no_content
from sandbox.graph.routing import GraphContext, GraphError, graph_route

INITIATE = ("Calls.Initiate.All", "Calls.AccessMedia.All")
CREATE = (
    "Calls.Initiate.All",
    "Calls.InitiateGroupCall.All",
    "Calls.JoinGroupCall.All",
    "Calls.JoinGroupCallAsGuest.All",
)
GROUP = ("Calls.InitiateGroupCall.All",)
JOIN = ("Calls.JoinGroupCall.All", "Calls.JoinGroupCallAsGuest.All")
ANY_CALLS = (*CREATE, "Calls.AccessMedia.All")
MEDIA = ("Calls.AccessMedia.All", "Calls.Initiate.All")
THROTTLE = "calls"
MAX_REDIRECT_TARGETS = 25
REDIRECT_TIMEOUT_RANGE = (15, 90)
MAX_PROMPTS = 20
MAX_CLIENT_CONTEXT = 256
RECORD_RANGE = (1, 120)
REJECT_REASONS = {"none": "None", "busy": "Busy", "forbidden": "Forbidden"}
DEFAULT_RING_SECONDS = 60.0


def bad(message: str) -> GraphError:
    return GraphError(400, "BadRequest", message)


def _call(ctx: GraphContext, area: CallsArea) -> Call:
    call = area.calls.get(ctx.path_params["call_id"].lower())
    if call is None or ctx.principal.app_id.lower() != call.owner_app_id:
        raise GraphError(404, "NotFound", "The call was not found.")
    return call


def _call_of(ctx: GraphContext, check: Callable[[Call], None]) -> tuple[CallsArea, Call]:
    """Return the area and the caller's call named in the path, once ``check`` allows it."""
    area = calls_of(ctx.state)
    call = _call(ctx, area)
    check(call)
    return area, call


def _live(call: Call) -> None:
    if call.state == "terminated":
        raise GraphError(404, "NotFound", "The call has ended.")


def _client_context(body: dict[str, Any]) -> str | None:
    value = body.get("clientContext")
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_CLIENT_CONTEXT:
        raise bad(f"'clientContext' must be a string of at most {MAX_CLIENT_CONTEXT} characters.")
    return value


def _callback_uri(body: dict[str, Any], *, required: bool) -> str | None:
    value = body.get("callbackUri")
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        raise bad("'callbackUri' must be an absolute http(s) URI.")
    return value


def party_of(area: CallsArea, info: Any) -> Party:
    """Read an invitationParticipantInfo (or its identity set) into a party."""
    if not isinstance(info, dict):
        raise bad("A participant must be an invitationParticipantInfo object.")
    identity = info.get("identity", info)
    if not isinstance(identity, dict):
        raise bad("'identity' must be an identitySet.")
    for kind in ("user", "phone", "application", "applicationInstance"):
        one = identity.get(kind)
        if one is None:
            continue
        if not isinstance(one, dict) or not isinstance(one.get("id"), str) or not one["id"]:
            raise bad(f"'identity.{kind}.id' is required.")
        if kind == "user":
            party = area.party_of_user(one["id"])
            if party is None:
                raise GraphError(404, "NotFound", f"The user '{one['id']}' was not found.")
            return party
        if kind == "phone":
            number = one["id"]
            if not (number.startswith("+") and number[1:].isdigit() and 6 < len(number) < 17):
                raise bad("A phone id must be an E.164 number such as +12345678901.")
            return Party("phone", number, one.get("displayName"))
        return Party(kind, one["id"].lower(), one.get("displayName"))
    raise bad("The identity names no user, phone or application.")


def _operation(call: Call, odata_type: str, client_context: str | None, **extra: Any) -> Operation:
    operation = Operation(new_id(), odata_type, client_context, extra=extra)
    call.operations[operation.id] = operation
    return operation


def _completed_operation(call: Call, odata_type: str, client_context: str | None) -> Operation:
    """Record an action that completes at once, as Graph answers it."""
    operation = _operation(call, odata_type, client_context)
    operation.status = "completed"
    operation.result = (200, 0, "Action completed successfully.")
    return operation


def _operation_answer(ctx: GraphContext, call: Call, operation: Operation) -> Response:
    location = f"{ctx.base_url}/communications/calls/{call.id}/operations/{operation.id}"
    body = {
        "@odata.context": f"{ctx.base_url}/$metadata#{operation.odata_type}",
        **operation.to_json(call.id),
    }
    return graph_json(body, 200, {"Location": location})


def _media_config(raw: dict[str, Any]) -> dict[str, Any]:
    """Keep a service-hosted media configuration, giving each prefetched prompt an id."""
    prefetch = raw.get("preFetchMedia") or []
    if not isinstance(prefetch, list):
        raise bad("'mediaConfig.preFetchMedia' must be an array of mediaInfo.")
    media = []
    for one in prefetch:
        if not isinstance(one, dict) or not isinstance(one.get("uri"), str):
            raise bad("Each prefetched prompt needs a 'uri'.")
        problem = media_uri_problem(one["uri"])
        if problem is not None:
            raise bad(f"Each prefetched prompt's 'uri' {problem}.")
        media.append({"uri": one["uri"], "resourceId": str(one.get("resourceId") or new_id())})
    return {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig", "preFetchMedia": media}


def _prefetch(ctx: GraphContext, media: dict[str, Any] | None) -> None:
    """Start fetching the prefetched prompts, kept for the calls that play them."""
    if media is None:
        return
    fetcher = prompt_media(ctx.state)
    for one in media["preFetchMedia"]:
        fetcher.check(one["uri"], keep_seconds=PREFETCH_KEEP_SECONDS)


def _connect_answered(area: CallsArea, call: Call, ring: Ring) -> None:
    """A rung party answered the bot's own call: it joins."""
    if call.ended:
        return
    area.add_participant(call, ring.party)
    if call.state != "established":
        area.set_state(call, "established")


def _outgoing_failed(area: CallsArea, call: Call, ring: Ring) -> None:
    if call.ended or call.is_group:
        return
    reasons = {
        "decline": (603, 0, "The callee declined the call."),
        "timeout": (408, 0, "The callee did not answer."),
        "unreachable": (480, 10037, "The callee is not reachable."),
    }
    area.terminate(call, reasons[ring.outcome])


# https://learn.microsoft.com/graph/api/application-post-calls
@graph_route("POST", "/communications/calls", delegated=(), application=CREATE, throttle=THROTTLE)
async def create_call(ctx: GraphContext) -> Response:
    """Place a call: peer-to-peer, a group call, or join a meeting."""
    body = await ctx.json_body()
    callback_uri = _callback_uri(body, required=True)
    roles = ctx.principal.roles
    with ctx.state.lock:
        area = calls_of(ctx.state)
        raw_targets = body.get("targets") or []
        if not isinstance(raw_targets, list):
            raise bad("'targets' must be an array.")
        targets = [party_of(area, one) for one in raw_targets]
        meeting = body.get("meetingInfo")
        if meeting is not None:
            if not roles & set(JOIN):
                raise GraphError(
                    403, "Forbidden", "Joining meetings needs Calls.JoinGroupCall.All."
                )
            if not isinstance(meeting, dict) or not (
                meeting.get("joinMeetingId") or meeting.get("organizer")
            ):
                raise bad("'meetingInfo' needs a joinMeetingId or an organizer.")
            chat = body.get("chatInfo")
            if meeting.get("organizer") and not (isinstance(chat, dict) and chat.get("threadId")):
                raise bad("Joining by organizer needs 'chatInfo.threadId'.")
        elif not targets:
            raise bad("Send 'targets' (whom to call) or 'meetingInfo' (what to join).")
        elif len(targets) > 1 and not roles & set(GROUP):
            raise GraphError(403, "Forbidden", "Group calls need Calls.InitiateGroupCall.All.")
        elif len(targets) == 1 and "Calls.Initiate.All" not in roles:
            raise GraphError(403, "Forbidden", "Peer-to-peer calls need Calls.Initiate.All.")
        raw_media = body.get("mediaConfig")
        media = _media_config(raw_media) if isinstance(raw_media, dict) else None
        source = body.get("source")
        caller_app = ctx.state.tenant.app(ctx.principal.app_id)
        bot = Party(
            "application",
            ctx.principal.app_id.lower(),
            caller_app.name if caller_app else None,
        )
        if isinstance(source, dict) and bot.id == area.bot_app.client_id:
            identity = source.get("identity", {})
            if isinstance(identity, dict) and "applicationInstance" in identity:
                bot = area.reception
        call = area.add_call(
            Call(
                id=new_id(),
                tenant_id=area.tenant_id,
                bot=bot,
                direction="outgoing",
                state="establishing",
                source=bot,
                targets=targets,
                callback_uri=callback_uri,
                created_at=area.now(),
                requested_modalities=list(body.get("requestedModalities") or ["audio"]),
                is_group=meeting is not None or len(targets) > 1,
                meeting=meeting,
                subject=body.get("subject") if isinstance(body.get("subject"), str) else None,
                owner_app_id=ctx.principal.app_id.lower(),
            )
        )
        if media is not None:
            call.media_config = media
        if isinstance(body.get("chatInfo"), dict):
            call.chat = body["chatInfo"]
        area.add_participant(call, bot, notify=False)
        call.my_participant_id = next(iter(call.participants))
        area.notify_state(call)
        if call.is_group:
            area.at(0.2, lambda: area.set_state(call, "established") if not call.ended else None)
        for target in targets:
            area.ring(
                call,
                target,
                purpose="outgoing",
                timeout=DEFAULT_RING_SECONDS,
                on_answer=lambda ring: _connect_answered(area, call, ring),
                on_fail=lambda ring: _outgoing_failed(area, call, ring),
            )
        answer = {
            "@odata.context": f"{ctx.base_url}/$metadata#app/calls/$entity",
            **call.to_json(),
        }
    _prefetch(ctx, media)
    location = f"{ctx.base_url}/communications/calls/{call.id}"
    return graph_json(answer, 201, {"Location": location})


# https://learn.microsoft.com/graph/api/call-get
@graph_route(
    "GET", "/communications/calls/{call_id}", delegated=(), application=ANY_CALLS, throttle=THROTTLE
)
async def get_call(ctx: GraphContext) -> Response:
    """Return a call."""
    with ctx.state.lock:
        call = _call(ctx, calls_of(ctx.state))
        _live(call)
        return graph_json(call.to_json())


def _incoming(call: Call, action: str) -> None:
    if call.state != "incoming":
        raise GraphError(
            400, "BadRequest", f"Only an incoming call can be {action}; this one is {call.state}."
        )


# https://learn.microsoft.com/graph/api/call-answer
@graph_route(
    "POST",
    "/communications/calls/{call_id}/answer",
    delegated=(),
    application=ANY_CALLS,
    throttle=THROTTLE,
)
async def answer(ctx: GraphContext) -> Response:
    """Answer an incoming call."""
    received_at = time.time()
    body = await ctx.json_body()
    callback_uri = _callback_uri(body, required=True)
    modalities = body.get("acceptedModalities")
    if not isinstance(modalities, list) or not modalities:
        raise bad("'acceptedModalities' must name at least one modality, such as 'audio'.")
    with ctx.state.lock:
        area = calls_of(ctx.state)
        call = _call(ctx, area)
        _incoming(call, "answered")
        call.answer_received_at = received_at
        raw_media = body.get("mediaConfig")
        media = _media_config(raw_media) if isinstance(raw_media, dict) else None
        if media is not None:
            call.media_config = media
        call.callback_uri = callback_uri
        call.incoming_deadline = None
        area.set_state(call, "establishing")

        def establish() -> None:
            if call.ended:
                return
            area.add_participant(call, call.source, notify=False)
            area.set_state(call, "established")
            area.notify_roster(call)

        area.at(0.2, establish)
    _prefetch(ctx, media)
    return Response(status_code=202)


# https://learn.microsoft.com/graph/api/call-reject
@graph_route(
    "POST",
    "/communications/calls/{call_id}/reject",
    delegated=(),
    application=ANY_CALLS,
    throttle=THROTTLE,
)
async def reject(ctx: GraphContext) -> Response:
    """Reject an incoming call (None, Busy or Forbidden)."""
    body = await ctx.json_body()
    reason = body.get("reason", "none")
    if not isinstance(reason, str) or reason.lower() not in REJECT_REASONS:
        raise bad("'reason' must be None, Busy or Forbidden.")
    with ctx.state.lock:
        area = calls_of(ctx.state)
        call = _call(ctx, area)
        _incoming(call, "rejected")
        call.callback_uri = _callback_uri(body, required=False) or call.callback_uri
        call.state = "terminated"
        call.result = (603 if reason.lower() != "none" else 487, 0, REJECT_REASONS[reason.lower()])
        area.notify(
            call,
            "deleted",
            call.resource_url(),
            {"@odata.type": "#microsoft.graph.call", "@odata.id": call.resource_url()},
        )
        area.call_over(call)
    return Response(status_code=202)


def _redirect_answered(area: CallsArea, call: Call, ring: Ring) -> None:
    if call.ended:
        return
    call.rings.clear()
    area.connect(call, ring.party)
    area.terminate(call, (200, 0, f"The call was redirected to {ring.party.id}."))


def _redirect_failed(area: CallsArea, call: Call, ring: Ring) -> None:
    if call.ended or any(r.purpose == "redirect" for r in call.rings):
        return
    area.terminate(call, (480, 0, "No target of the redirect answered."))


# https://learn.microsoft.com/graph/api/call-redirect
@graph_route(
    "POST",
    "/communications/calls/{call_id}/redirect",
    delegated=(),
    application=INITIATE,
    throttle=THROTTLE,
)
async def redirect(ctx: GraphContext) -> Response:
    """Ring up to 25 targets at once for an incoming call; the first to answer takes it."""
    body = await ctx.json_body()
    raw = body.get("targets")
    if not isinstance(raw, list) or not raw:
        raise bad("'targets' must name at least one target.")
    if len(raw) > MAX_REDIRECT_TARGETS:
        raise bad(f"At most {MAX_REDIRECT_TARGETS} targets may be rung at once.")
    default = 55 if len(raw) == 1 else 60
    timeout = body.get("timeout", default)
    low, high = REDIRECT_TIMEOUT_RANGE
    if isinstance(timeout, bool) or not isinstance(timeout, int) or not low <= timeout <= high:
        raise bad(f"'timeout' must be a whole number of seconds from {low} to {high}.")
    with ctx.state.lock:
        area = calls_of(ctx.state)
        call = _call(ctx, area)
        targets = [party_of(area, one) for one in raw]
        _incoming(call, "redirected")
        call.callback_uri = _callback_uri(body, required=False) or call.callback_uri
        call.incoming_deadline = None
        area.set_state(call, "redirecting")
        for target in targets:
            area.ring(
                call,
                target,
                purpose="redirect",
                timeout=float(timeout),
                on_answer=lambda ring: _redirect_answered(area, call, ring),
                on_fail=lambda ring: _redirect_failed(area, call, ring),
            )
    return Response(status_code=202)


def _transfer_answered(area: CallsArea, call: Call, ring: Ring) -> None:
    if call.ended:
        return
    area.set_state(call, "transferAccepted")
    area.connect(call, ring.party)
    area.terminate(call, (0, 7015, "GracefulTransferCompleted"))


def _transfer_failed(area: CallsArea, call: Call, ring: Ring) -> None:
    if call.ended:
        return
    messages = {
        "decline": "The transfer target declined.",
        "timeout": "The transfer target did not answer.",
        "unreachable": "The transfer target is not reachable.",
    }
    call.result = (500, 7700, messages[ring.outcome])
    area.set_state(call, "established")
    call.result = None


# https://learn.microsoft.com/graph/api/call-transfer
@graph_route(
    "POST",
    "/communications/calls/{call_id}/transfer",
    delegated=(),
    application=INITIATE,
    throttle=THROTTLE,
)
async def transfer(ctx: GraphContext) -> Response:
    """Transfer an established call to a Teams user (or a number, for application instances)."""
    body = await ctx.json_body()
    with ctx.state.lock:
        area, call = _call_of(ctx, _live)
        if call.state != "established":
            raise bad(f"Only an established call can be transferred; this one is {call.state}.")
        target = party_of(area, body.get("transferTarget"))
        if target.kind == "user" and target.tenant_id != area.tenant_id:
            raise bad("The transfer target must be a user of the same tenant.")
        if target.kind == "phone" and call.bot != area.reception:
            raise bad("Only application instances with a phone number can transfer to numbers.")
        area.set_state(call, "transferring")
        area.ring(
            call,
            target,
            purpose="transfer",
            timeout=area.settings.transfer_timeout_seconds,
            on_answer=lambda ring: _transfer_answered(area, call, ring),
            on_fail=lambda ring: _transfer_failed(area, call, ring),
        )
    return Response(status_code=202)


def _prompts(body: dict[str, Any], most: int) -> list[str]:
    prompts = body.get("prompts")
    if not isinstance(prompts, list) or not prompts:
        raise bad("'prompts' must hold at least one mediaPrompt.")
    if len(prompts) > most:
        raise bad(f"At most {most} prompt(s) may be sent.")
    uris = []
    for prompt in prompts:
        media = prompt.get("mediaInfo") if isinstance(prompt, dict) else None
        uri = media.get("uri") if isinstance(media, dict) else None
        problem = media_uri_problem(uri)
        if problem is not None:
            raise bad(f"Each prompt's 'mediaInfo.uri' {problem}.")
        uris.append(str(uri))
    return uris


def _established(call: Call) -> None:
    _live(call)
    if call.state not in ("established", "hold"):
        raise bad(f"The call must be established; it is {call.state}.")


# https://learn.microsoft.com/graph/api/call-playprompt
@graph_route(
    "POST",
    "/communications/calls/{call_id}/playPrompt",
    delegated=(),
    application=MEDIA,
    throttle=THROTTLE,
)
async def play_prompt(ctx: GraphContext) -> Response:
    """Play up to 20 prompts; the operation completes once they have played.

    The platform fetches each prompt first: one it cannot fetch, or that is not a WAV file it
    plays, fails the operation (its callback says which prompt and why).
    """
    body = await ctx.json_body()
    uris = _prompts(body, MAX_PROMPTS)
    context = _client_context(body)
    with ctx.state.lock:
        area, call = _call_of(ctx, _established)
        call.prompts_played.extend(uris)
        operation = _operation(call, "playPromptOperation", context)
        answer = _operation_answer(ctx, call, operation)
    media = prompt_media(ctx.state)
    checks = [media.check(uri) for uri in uris]
    media.spawn(_play_when_fetched(ctx, area, call, operation, uris, checks))
    return answer


async def _play_when_fetched(
    ctx: GraphContext,
    area: CallsArea,
    call: Call,
    operation: Operation,
    uris: list[str],
    checks: list[asyncio.Task[str | None]],
) -> None:
    problems = await asyncio.gather(*checks)
    with ctx.state.lock:
        if call.ended:
            return
        for number, (uri, problem) in enumerate(zip(uris, problems, strict=True), start=1):
            if problem is not None:
                message = f"Prompt {number} ({uri}) cannot be played: {problem}."
                area.complete(
                    call, operation, (UNPLAYABLE_CODE, UNPLAYABLE_SUBCODE, message), failed=True
                )
                return
        area.at(
            area.settings.prompt_seconds * len(uris),
            lambda: (
                area.complete(
                    call, operation, (200, 0, "Action completed successfully."), failed=False
                )
                if not call.ended
                else None
            ),
        )


# https://learn.microsoft.com/graph/api/call-record
@graph_route(
    "POST",
    "/communications/calls/{call_id}/recordResponse",
    delegated=(),
    application=("Calls.AccessMedia.All",),
    throttle=THROTTLE,
)
async def record_response(ctx: GraphContext) -> Response:
    """Record a short answer; the sandbox carries no media, so nothing is ever kept."""
    body = await ctx.json_body()
    _prompts(body, 1) if "prompts" in body else None
    context = _client_context(body)
    limits = {}
    for name in (
        "initialSilenceTimeoutInSeconds",
        "maxSilenceTimeoutInSeconds",
        "maxRecordDurationInSeconds",
    ):
        value = body.get(name, 5)
        low, high = RECORD_RANGE
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise bad(f"'{name}' must be a whole number of seconds from {low} to {high}.")
        limits[name] = value
    with ctx.state.lock:
        area, call = _call_of(ctx, _established)
        operation = _operation(
            call, "recordOperation", context, recordingLocation=None, recordingAccessToken=None
        )
        area.at(
            float(limits["maxRecordDurationInSeconds"]),
            lambda: (
                area.complete(
                    call,
                    operation,
                    (200, 8515, "Action completed, max record duration reached. Nothing was kept."),
                    failed=False,
                )
                if not call.ended
                else None
            ),
        )
        return _operation_answer(ctx, call, operation)


# https://learn.microsoft.com/graph/api/call-subscribetotone
@graph_route(
    "POST",
    "/communications/calls/{call_id}/subscribeToTone",
    delegated=(),
    application=MEDIA,
    throttle=THROTTLE,
)
async def subscribe_to_tone(ctx: GraphContext) -> Response:
    """Send the DTMF tones the caller presses to the bot from now on."""
    body = await ctx.json_body()
    context = _client_context(body)
    with ctx.state.lock:
        _area, call = _call_of(ctx, _established)
        call.tones_subscribed = True
        operation = _completed_operation(call, "subscribeToToneOperation", context)
        return _operation_answer(ctx, call, operation)


# https://learn.microsoft.com/graph/api/call-keepalive
@graph_route(
    "POST",
    "/communications/calls/{call_id}/keepAlive",
    delegated=(),
    application=ANY_CALLS,
    throttle=THROTTLE,
)
async def keep_alive(ctx: GraphContext) -> Response:
    """Keep the call from ending for another 45 minutes."""
    with ctx.state.lock:
        area, call = _call_of(ctx, _live)
        call.last_keep_alive = area.now()
    return Response(status_code=200)


# https://learn.microsoft.com/graph/api/call-delete
@graph_route(
    "DELETE",
    "/communications/calls/{call_id}",
    delegated=(),
    application=ANY_CALLS,
    throttle=THROTTLE,
)
async def hang_up(ctx: GraphContext) -> Response:
    """Hang up the bot's leg: terminating, then terminated."""
    with ctx.state.lock:
        area, call = _call_of(ctx, _live)
        area.terminate(call, (200, 5001, "The conversation has ended."), terminating_first=True)
    return no_content()


# https://learn.microsoft.com/graph/api/call-list-participants
@graph_route(
    "GET",
    "/communications/calls/{call_id}/participants",
    delegated=(),
    application=ANY_CALLS,
    throttle=THROTTLE,
)
async def list_participants(ctx: GraphContext) -> Response:
    """List who is in the call."""
    with ctx.state.lock:
        _area, call = _call_of(ctx, _live)
        return graph_json(
            {
                "@odata.context": f"{ctx.base_url}/$metadata#communications/calls('{call.id}')"
                "/participants",
                "value": [p.to_json() for p in call.participants.values()],
            }
        )


def _invite_answered(area: CallsArea, call: Call, ring: Ring) -> None:
    if call.ended:
        return
    area.add_participant(call, ring.party)
    operation = call.operations.get(ring.operation_id or "")
    if operation is not None and not any(r.operation_id == operation.id for r in call.rings):
        area.complete(call, operation, (200, 0, "Action completed successfully."), failed=False)


def _invite_failed(area: CallsArea, call: Call, ring: Ring) -> None:
    operation = call.operations.get(ring.operation_id or "")
    if call.ended or operation is None:
        return
    area.complete(
        call, operation, (408, 0, f"The invitee did not join ({ring.outcome})."), failed=True
    )


# https://learn.microsoft.com/graph/api/participant-invite
@graph_route(
    "POST",
    "/communications/calls/{call_id}/participants/invite",
    delegated=(),
    application=("Calls.InitiateGroupCall.All",),
    throttle=THROTTLE,
)
async def invite(ctx: GraphContext) -> Response:
    """Invite people into the call; the operation completes once they joined."""
    body = await ctx.json_body()
    raw = body.get("participants")
    if not isinstance(raw, list) or not raw:
        raise bad("'participants' must name at least one participant.")
    context = _client_context(body)
    with ctx.state.lock:
        area, call = _call_of(ctx, _established)
        if len(raw) > 1 and not call.is_group:
            raise bad("Several participants may be invited only into group calls.")
        parties = [party_of(area, one) for one in raw]
        moved: list[Call] = []
        for one in raw:
            replaces = one.get("replacesCallId") if isinstance(one, dict) else None
            if replaces is not None:
                other = area.calls.get(str(replaces).lower())
                if other is None or other.ended:
                    raise bad(f"'replacesCallId' {replaces} names no live call.")
                moved.append(other)
        operation = _operation(
            call,
            "inviteParticipantsOperation",
            context,
            participants=[
                {**party.invitation(), "replacesCallId": one.get("replacesCallId")}
                for party, one in zip(parties, raw, strict=True)
            ],
        )
        if moved:
            # The invitee leaves their call with the bot and joins this one at once.
            for party, other in zip(parties, moved, strict=False):
                area.add_participant(call, party)
                area.terminate(other, (0, 7015, "The participant moved to another call."))
            area.complete(call, operation, (200, 0, "Action completed successfully."), failed=False)
        else:
            for party in parties:
                area.ring(
                    call,
                    party,
                    purpose="invite",
                    timeout=area.settings.invite_timeout_seconds,
                    on_answer=lambda ring: _invite_answered(area, call, ring),
                    on_fail=lambda ring: _invite_failed(area, call, ring),
                    operation_id=operation.id,
                )
        return _operation_answer(ctx, call, operation)


def _participant(call: Call, ctx: GraphContext) -> Any:
    participant = call.participants.get(ctx.path_params["participant_id"].lower())
    if participant is None:
        raise GraphError(404, "NotFound", "The participant was not found.")
    return participant


# https://learn.microsoft.com/graph/api/participant-mute
@graph_route(
    "POST",
    "/communications/calls/{call_id}/participants/{participant_id}/mute",
    delegated=(),
    application=ANY_CALLS,
    throttle=THROTTLE,
)
async def mute(ctx: GraphContext) -> Response:
    """Mute a participant of a group call (server mute)."""
    body = await ctx.json_body()
    context = _client_context(body)
    with ctx.state.lock:
        area, call = _call_of(ctx, _established)
        if not call.is_group:
            raise bad("Participants can be muted in group calls only.")
        participant = _participant(call, ctx)
        participant.is_muted = True
        operation = _completed_operation(call, "muteParticipantOperation", context)
        area.notify_roster(call)
        return _operation_answer(ctx, call, operation)


# https://learn.microsoft.com/graph/api/participant-delete
@graph_route(
    "DELETE",
    "/communications/calls/{call_id}/participants/{participant_id}",
    delegated=(),
    application=JOIN,
    throttle=THROTTLE,
)
async def remove_participant(ctx: GraphContext) -> Response:
    """Remove a participant, where the tenant allows this app to."""
    with ctx.state.lock:
        area, call = _call_of(ctx, _live)
        participant = _participant(call, ctx)
        if not area.settings.allow_remove_participants:
            raise GraphError(
                403,
                "Forbidden",
                "The tenant does not allow this application to remove participants "
                "(Set-CsApplicationMeetingConfiguration -AllowRemoveParticipantAppIds).",
            )
        area.remove_participant(call, participant.id)
    return no_content()
