"""Presence reads and the session, preferred-presence and status-message actions.

Reads answer the full presence resource (``statusMessage``, ``outOfOfficeSettings``,
``workLocation``, ``sequenceNumber``) on v1.0 and beta alike, as the current resource page
lists them. Unknown ids in ``getPresencesByUserId`` are left out of the answer.
"""

from __future__ import annotations

from datetime import timedelta

from starlette.responses import Response

from sandbox.graph.errors import graph_json
from sandbox.graph.routing import GraphContext, GraphError, graph_route
from sandbox.presence.access import (
    PRESENCE_PATHS,
    READ_APPLICATION,
    READ_DELEGATED,
    READ_MANY_DELEGATED,
    THROTTLE,
    WRITE_APPLICATION,
    WRITE_DELEGATED,
    action_body,
    area_of,
    bad_request,
    checked,
    is_owner,
    required,
    target,
)
from sandbox.presence.model import PersonPresence, Preferred, Session, StatusMessage, presence_json
from sandbox.presence.subscriptions import GUID
from sandbox.presence.values import (
    LATEST_TIMESTAMP,
    PREFERRED_LONG_DEFAULT,
    PREFERRED_PAIRS,
    PREFERRED_SHORT_DEFAULT,
    SESSION_DEFAULT_SECONDS,
    SESSION_MAX_SECONDS,
    SESSION_MIN_SECONDS,
    SET_PRESENCE_PAIRS,
    canonical_activity,
    canonical_availability,
    parse_date_time_time_zone,
    parse_duration,
)

MAX_IDS_PER_REQUEST = 650


def _ok() -> Response:
    """Return the empty 200 the presence actions answer with."""
    return Response(status_code=200)


async def _get(ctx: GraphContext, context_path: str) -> Response:
    with ctx.state.lock:
        area = area_of(ctx)
        user, person = target(ctx, area, write=False)
        body = {
            "@odata.context": f"{ctx.base_url}/$metadata#{context_path.format(id=user.id)}",
            **presence_json(person, owner=is_owner(ctx, user)),
        }
    return graph_json(body)


# https://learn.microsoft.com/graph/api/presence-get (``/me/presence`` arrives here as well)
@graph_route(
    "GET",
    "/users/{user_id}/presence",
    delegated=READ_DELEGATED,
    application=READ_APPLICATION,
    throttle=THROTTLE,
)
async def get_user_presence(ctx: GraphContext) -> Response:
    """Return one person's presence."""
    return await _get(ctx, "users('{id}')/presence/$entity")


# https://learn.microsoft.com/graph/api/presence-get
@graph_route(
    "GET",
    "/communications/presences/{user_id}",
    delegated=READ_DELEGATED,
    application=READ_APPLICATION,
    throttle=THROTTLE,
)
async def get_communications_presence(ctx: GraphContext) -> Response:
    """Return one person's presence (a single object, not a collection)."""
    return await _get(ctx, "communications/presences/$entity")


# https://learn.microsoft.com/graph/api/cloudcommunications-getpresencesbyuserid
@graph_route(
    "POST",
    "/communications/getPresencesByUserId",
    delegated=READ_MANY_DELEGATED,
    application=READ_APPLICATION,
    throttle=THROTTLE,
)
async def get_presences_by_user_id(ctx: GraphContext) -> Response:
    """Return the presence of up to 650 people in one answer."""
    body = await action_body(ctx, "getPresencesByUserId", frozenset({"ids"}))
    ids = required(body, "ids")
    if not isinstance(ids, list) or not all(isinstance(one, str) for one in ids):
        raise bad_request("'ids' must be an array of user object ids.")
    if len(ids) > MAX_IDS_PER_REQUEST:
        raise bad_request(
            f"Too many ids: {len(ids)}. At most {MAX_IDS_PER_REQUEST} user ids are supported "
            "per request."
        )
    for one in ids:
        if not GUID.match(one):
            raise bad_request(f"'{one}' is not a valid user object id.")
    viewer = ctx.principal.user_id if ctx.principal.kind == "delegated" else None
    with ctx.state.lock:
        area = area_of(ctx)
        found: dict[str, PersonPresence] = {}
        for one in ids:
            person = area.store.get(one)
            # People deleted from the directory have no presence any more.
            if person is not None and ctx.state.tenant.directory_user(one) is not None:
                found.setdefault(person.user_id, person)
        value = [presence_json(person, owner=person.user_id == viewer) for person in found.values()]
    return graph_json(
        {
            "@odata.context": f"{ctx.base_url}/$metadata#Collection(microsoft.graph.presence)",
            "value": value,
        }
    )


def _session_id(ctx: GraphContext, body: dict[str, object]) -> str:
    session_id = required(body, "sessionId")
    if not isinstance(session_id, str) or session_id.lower() != ctx.principal.app_id.lower():
        raise bad_request(
            f"The sessionId must be the id of the calling application ({ctx.principal.app_id})."
        )
    return session_id.lower()


# https://learn.microsoft.com/graph/api/presence-setpresence
async def set_presence(ctx: GraphContext) -> Response:
    """Set the calling app's presence session for a person."""
    names = frozenset({"sessionId", "availability", "activity", "expirationDuration"})
    body = await action_body(ctx, "setPresence", names)
    session_id = _session_id(ctx, body)
    availability = checked(canonical_availability, required(body, "availability"))
    activity = checked(canonical_activity, required(body, "activity"))
    if (availability, activity) not in SET_PRESENCE_PAIRS:
        allowed = ", ".join(f"{a}/{b}" for a, b in sorted(SET_PRESENCE_PAIRS))
        raise bad_request(
            f"The combination of availability '{availability}' and activity '{activity}' is not "
            f"supported by setPresence. Supported combinations: {allowed}."
        )
    seconds = float(SESSION_DEFAULT_SECONDS)
    if body.get("expirationDuration") is not None:
        seconds = checked(parse_duration, body["expirationDuration"]).total_seconds()
        if not SESSION_MIN_SECONDS <= seconds <= SESSION_MAX_SECONDS:
            raise bad_request(
                "The expirationDuration must be between 5 and 240 minutes (PT5M to PT4H)."
            )
    with ctx.state.lock:
        area = area_of(ctx)
        user, _ = target(ctx, area, write=True)
        now = area.now()

        def mutate(person: PersonPresence) -> None:
            person.app_sessions[session_id] = Session(availability, activity, now, now + seconds)

        area.store.change(user.id, now, mutate)
    return _ok()


# https://learn.microsoft.com/graph/api/presence-clearpresence
async def clear_presence(ctx: GraphContext) -> Response:
    """End the calling app's presence session for a person (404 when it has none)."""
    body = await action_body(ctx, "clearPresence", frozenset({"sessionId"}))
    session_id = _session_id(ctx, body)
    with ctx.state.lock:
        area = area_of(ctx)
        user, person = target(ctx, area, write=True)
        if session_id not in person.app_sessions:
            raise GraphError(
                404, "NotFound", f"The presence session '{session_id}' does not exist."
            )

        def mutate(changed: PersonPresence) -> None:
            changed.app_sessions.pop(session_id, None)

        area.store.change(user.id, area.now(), mutate)
    return _ok()


# https://learn.microsoft.com/graph/api/presence-setuserpreferredpresence
async def set_user_preferred_presence(ctx: GraphContext) -> Response:
    """Set the person's preferred presence, shown while at least one session exists."""
    names = frozenset({"availability", "activity", "expirationDuration"})
    body = await action_body(ctx, "setUserPreferredPresence", names)
    availability = checked(canonical_availability, required(body, "availability"))
    activity = checked(canonical_activity, required(body, "activity"))
    if (availability, activity) not in PREFERRED_PAIRS:
        allowed = ", ".join(f"{a}/{b}" for a, b in sorted(PREFERRED_PAIRS))
        raise bad_request(
            f"The combination of availability '{availability}' and activity '{activity}' is not "
            f"supported by setUserPreferredPresence. Supported combinations: {allowed}."
        )
    short = availability in ("DoNotDisturb", "Busy")
    duration = PREFERRED_SHORT_DEFAULT if short else PREFERRED_LONG_DEFAULT
    if body.get("expirationDuration") is not None:
        # The page documents no maximum (only the defaults), so none is imposed.
        duration = checked(parse_duration, body["expirationDuration"])
        if duration <= timedelta(0):
            raise bad_request("The expirationDuration must be positive.")
    with ctx.state.lock:
        area = area_of(ctx)
        user, _ = target(ctx, area, write=True)
        now = area.now()
        if now + duration.total_seconds() > LATEST_TIMESTAMP:
            raise bad_request("The expirationDuration ends after 9999-12-31T23:59:59Z.")
        preferred = Preferred(availability, activity, now + duration.total_seconds())

        def mutate(person: PersonPresence) -> None:
            person.preferred = preferred

        area.store.change(user.id, now, mutate)
    return _ok()


# https://learn.microsoft.com/graph/api/presence-clearuserpreferredpresence
async def clear_user_preferred_presence(ctx: GraphContext) -> Response:
    """Forget the person's preferred presence (the documented example sends no body)."""
    await action_body(ctx, "clearUserPreferredPresence", frozenset(), may_be_empty=True)
    with ctx.state.lock:
        area = area_of(ctx)
        user, _ = target(ctx, area, write=True)

        def mutate(person: PersonPresence) -> None:
            person.preferred = None

        area.store.change(user.id, area.now(), mutate)
    return _ok()


# https://learn.microsoft.com/graph/api/presence-setstatusmessage
async def set_status_message(ctx: GraphContext) -> Response:
    """Set (or, with empty content, clear) the person's status message and its expiry."""
    body = await action_body(ctx, "setStatusMessage", frozenset({"statusMessage"}))
    status = required(body, "statusMessage")
    if not isinstance(status, dict):
        raise bad_request("'statusMessage' must be a presenceStatusMessage object.")
    unknown = sorted(
        set(status) - {"message", "expiryDateTime", "publishedDateTime", "@odata.type"}
    )
    if unknown:
        raise bad_request(
            f"The property '{unknown[0]}' does not exist on type "
            "'microsoft.graph.presenceStatusMessage'."
        )
    message = required(status, "message")
    if not isinstance(message, dict) or set(message) - {"content", "contentType", "@odata.type"}:
        raise bad_request(
            "'statusMessage.message' must be an itemBody with content and contentType."
        )
    content = message.get("content", "")
    content_type = message.get("contentType") or "text"
    if not isinstance(content, str):
        raise bad_request("'statusMessage.message.content' must be a string.")
    if not isinstance(content_type, str) or content_type.lower() != "text":
        raise bad_request("Only the 'text' contentType is supported for status messages.")
    expiry = None
    if status.get("expiryDateTime") is not None:
        expiry = checked(
            parse_date_time_time_zone, status["expiryDateTime"], "statusMessage.expiryDateTime"
        ).timestamp()
    with ctx.state.lock:
        area = area_of(ctx)
        user, _ = target(ctx, area, write=True)
        now = area.now()
        # A past expiry is accepted (the documented example has one); the message simply
        # expires at once.
        new_status = StatusMessage(content, "text", expiry, now) if content else None

        def mutate(person: PersonPresence) -> None:
            person.status = new_status

        area.store.change(user.id, now, mutate)
    return _ok()


_ACTIONS = (
    ("setPresence", set_presence),
    ("clearPresence", clear_presence),
    ("setUserPreferredPresence", set_user_preferred_presence),
    ("clearUserPreferredPresence", clear_user_preferred_presence),
    ("setStatusMessage", set_status_message),
)
for _base in PRESENCE_PATHS:
    for _name, _handler in _ACTIONS:
        graph_route(
            "POST",
            f"{_base}/{_name}",
            delegated=WRITE_DELEGATED,
            application=WRITE_APPLICATION,
            throttle=THROTTLE,
        )(_handler)
