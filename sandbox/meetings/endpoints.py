"""Online meetings: create, createOrGet, get (by id, joinWebUrl or joinMeetingId), update,
delete, attendance reports and records, and the call-events subscription resource.

``/me/...`` arrives as ``/users/{id}/...``. App-only tokens need an application access policy
granted for the user in the path (the control API sets it).
"""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote

from starlette.responses import Response

from sandbox.graph.errors import graph_json, no_content
from sandbox.graph.odata_types import parse_graph_datetime
from sandbox.graph.routing import GraphContext, GraphError, Principal, graph_route
from sandbox.meetings.model import (
    ALLOWED_PRESENTERS,
    LOBBY_SCOPES,
    MEETING_CHAT,
    ROLES,
    Attendee,
    Meeting,
    new_meeting_id,
    new_thread_token,
)
from sandbox.meetings.service import MeetingsArea, meetings_of
from sandbox.meetings.subscriptions import (
    MAX_MINUTES,
    RESOURCE_NAME,
    RESOURCE_PATTERN,
    join_url_of,
    same_join_url,
)
from sandbox.notifications import hub_of, register_subscription_resource
from sandbox.tenant import User

# https://learn.microsoft.com/graph/api/application-post-onlinemeetings (and get, update,
# delete, createOrGet)
READ_DELEGATED = ("OnlineMeetings.Read", "OnlineMeetings.ReadWrite")
READ_APPLICATION = ("OnlineMeetings.Read.All", "OnlineMeetings.ReadWrite.All")
WRITE_DELEGATED = ("OnlineMeetings.ReadWrite",)
WRITE_APPLICATION = ("OnlineMeetings.ReadWrite.All",)
# https://learn.microsoft.com/graph/api/meetingattendancereport-list
ARTIFACT = ("OnlineMeetingArtifact.Read.All",)
MEETINGS = "/users/{user_id}/onlineMeetings"
ONE = MEETINGS + "/{meeting_id}"

SETTABLE = frozenset(
    {
        "subject",
        "startDateTime",
        "endDateTime",
        "participants",
        "lobbyBypassSettings",
        "allowedPresenters",
        "allowMeetingChat",
        "isEntryExitAnnounced",
        "allowAttendeeToEnableCamera",
        "allowAttendeeToEnableMic",
        "allowTeamworkReactions",
        "recordAutomatically",
    }
)
CREATE_ONLY = frozenset({"joinMeetingIdSettings", "externalId"})
READ_ONLY = frozenset(
    {
        "id",
        "creationDateTime",
        "joinWebUrl",
        "joinInformation",
        "videoTeleconferenceId",
        "audioConferencing",
        "chatInfo",
    }
)
_FILTER = re.compile(
    r"^\s*(?P<prop>joinWebUrl|joinMeetingIdSettings/joinMeetingId)\s+eq\s+'(?P<value>[^']*)'\s*$",
    re.IGNORECASE,
)
SUBJECT_MAX = 255


def _bad(message: str) -> GraphError:
    return GraphError(400, "BadRequest", message)


def _not_found(meeting_id: str) -> GraphError:
    return GraphError(404, "NotFound", f"The online meeting '{meeting_id}' was not found.")


def _path_user(ctx: GraphContext, area: MeetingsArea) -> User:
    """Return the user in the path, refusing what the token may not act for."""
    key = ctx.path_params["user_id"]
    user = ctx.state.tenant.directory_user(key)
    if user is None:
        raise GraphError(404, "NotFound", f"The user '{key}' was not found.")
    principal = ctx.principal
    if principal.kind == "delegated":
        if (principal.user_id or "").lower() != user.id.lower():
            raise GraphError(
                403, "Forbidden", "A delegated token may only act on the signed-in user's meetings."
            )
    elif not area.policy_allows(user.id):
        raise GraphError(
            403,
            "Forbidden",
            "No application access policy found for this app. The tenant's administrator "
            "must grant the app access to this user's online meetings.",
        )
    return user


def _meeting_for(area: MeetingsArea, user: User, meeting_id: str, *, organizer: bool) -> Meeting:
    meeting = area.find(meeting_id)
    if meeting is None:
        raise _not_found(meeting_id)
    allowed = meeting.organizer_id == user.id if organizer else meeting.invites(user.id)
    if not allowed:
        raise _not_found(meeting_id)
    return meeting


def _time(body: dict[str, Any], name: str) -> datetime | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _bad(f"'{name}' must be an ISO 8601 date-time string.")
    try:
        return parse_graph_datetime(value)
    except ValueError as exc:
        raise _bad(f"'{name}' is not a valid date-time: {exc}") from exc


def _enum(body: dict[str, Any], name: str, allowed: tuple[str, ...]) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if value not in allowed:
        raise _bad(f"'{name}' must be one of: {', '.join(allowed)}.")
    return str(value)


def _flag(body: dict[str, Any], name: str) -> bool | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise _bad(f"'{name}' must be true or false.")
    return value


def _attendees(ctx: GraphContext, participants: Any, organizer: User) -> list[Attendee] | None:
    if participants is None:
        return None
    if not isinstance(participants, dict):
        raise _bad("'participants' must be an object.")
    if set(participants) - {"organizer", "attendees", "@odata.type"}:
        raise _bad("'participants' takes 'organizer' and 'attendees' only.")
    organizer_given = participants.get("organizer")
    if organizer_given is not None:
        given_id = (
            ((organizer_given.get("identity") or {}).get("user") or {}).get("id")
            if isinstance(organizer_given, dict)
            else None
        )
        if given_id is not None and str(given_id).lower() != organizer.id.lower():
            raise _bad("The organizer of a meeting cannot be changed.")
    listed = participants.get("attendees", [])
    if not isinstance(listed, list):
        raise _bad("'participants.attendees' must be an array.")
    found: dict[str, Attendee] = {}
    for item in listed:
        if not isinstance(item, dict):
            raise _bad("Each attendee must be a meetingParticipantInfo object.")
        identity = item.get("identity") or {}
        user_part = identity.get("user") if isinstance(identity, dict) else None
        key = (user_part or {}).get("id") if isinstance(user_part, dict) else None
        key = key or item.get("upn")
        if not isinstance(key, str) or not key:
            raise _bad("Each attendee needs identity.user.id or upn.")
        user = ctx.state.tenant.directory_user(key)
        if user is None:
            raise _bad(f"The attendee '{key}' is not a user of this organization.")
        role = item.get("role") or "attendee"
        if role not in ROLES:
            raise _bad(f"An attendee's role must be one of: {', '.join(ROLES)}.")
        if user.id != organizer.id:
            found[user.id] = Attendee(user.id, user.user_principal_name, user.display_name, role)
    return list(found.values())


def _apply_settings(meeting: Meeting, body: dict[str, Any]) -> None:
    subject = body.get("subject")
    if "subject" in body:
        if subject is not None and (not isinstance(subject, str) or len(subject) > SUBJECT_MAX):
            raise _bad(f"'subject' must be text of at most {SUBJECT_MAX} characters.")
        meeting.subject = subject
    lobby = body.get("lobbyBypassSettings")
    if lobby is not None:
        if not isinstance(lobby, dict) or set(lobby) - {"scope", "isDialInBypassEnabled"}:
            raise _bad("'lobbyBypassSettings' takes 'scope' and 'isDialInBypassEnabled'.")
        scope = _enum(lobby, "scope", LOBBY_SCOPES)
        dial_in = _flag(lobby, "isDialInBypassEnabled")
        meeting.lobby_scope = scope or meeting.lobby_scope
        meeting.dial_in_bypass = meeting.dial_in_bypass if dial_in is None else dial_in
    meeting.allowed_presenters = (
        _enum(body, "allowedPresenters", ALLOWED_PRESENTERS) or meeting.allowed_presenters
    )
    meeting.allow_meeting_chat = (
        _enum(body, "allowMeetingChat", MEETING_CHAT) or meeting.allow_meeting_chat
    )
    for name, attribute in (
        ("isEntryExitAnnounced", "is_entry_exit_announced"),
        ("allowAttendeeToEnableCamera", "allow_attendee_camera"),
        ("allowAttendeeToEnableMic", "allow_attendee_mic"),
        ("allowTeamworkReactions", "allow_teamwork_reactions"),
        ("recordAutomatically", "record_automatically"),
    ):
        value = _flag(body, name)
        if value is not None:
            setattr(meeting, attribute, value)


def _check_names(body: dict[str, Any], *, creating: bool) -> None:
    for name in body:
        if name.startswith("@odata.") or name in SETTABLE:
            continue
        if name in CREATE_ONLY:
            if creating:
                continue
            raise _bad(f"The property '{name}' cannot be changed once the meeting exists.")
        if name in READ_ONLY:
            raise _bad(f"The property '{name}' is read-only.")
        raise _bad(f"The property '{name}' does not exist on type 'microsoft.graph.onlineMeeting'.")


def _new_meeting(
    ctx: GraphContext, area: MeetingsArea, user: User, body: dict[str, Any]
) -> Meeting:
    _check_names(body, creating=True)
    now = area.now()
    start = _time(body, "startDateTime")
    end = _time(body, "endDateTime")
    if end is not None and start is None:
        raise _bad("An endDateTime needs a startDateTime.")
    start = start or now
    end = end or start + timedelta(hours=1)
    if end < start:
        raise _bad("The endDateTime must not be before the startDateTime.")
    join_settings = body.get("joinMeetingIdSettings") or {}
    if not isinstance(join_settings, dict):
        raise _bad("'joinMeetingIdSettings' must be an object.")
    if join_settings.get("passcode") is not None:
        raise _bad("Custom passcodes are not supported; the passcode is generated.")
    if join_settings.get("joinMeetingId") is not None:
        raise _bad("The joinMeetingId is generated and cannot be set.")
    needs_passcode = _flag(join_settings, "isPasscodeRequired") or False
    external_id = body.get("externalId")
    if external_id is not None and not isinstance(external_id, str):
        raise _bad("'externalId' must be a string.")
    rng = random.Random(f"{user.id}:{len(area.meetings)}:{now.timestamp()}")
    thread = new_thread_token()
    meeting = Meeting(
        id=new_meeting_id(user.id, thread),
        tenant_id=ctx.state.tenant.tenant_id,
        organizer_id=user.id,
        organizer_upn=user.user_principal_name,
        organizer_name=user.display_name,
        subject=None,
        start=start,
        end=end,
        created_at=now,
        thread_token=thread,
        join_meeting_id=str(rng.randrange(10**11, 10**12)),
        passcode="".join(rng.choice("ABCDEFGHJKMNPQRSTUVWXYZ23456789") for _ in range(6))
        if needs_passcode
        else None,
        video_teleconference_id=str(rng.randrange(10**9, 10**10)),
        external_id=external_id,
        attendees=_attendees(ctx, body.get("participants"), user) or [],
        simulated=area.simulate,
    )
    _apply_settings(meeting, body)
    return meeting


def _entity(ctx: GraphContext, user: User, meeting: Meeting) -> dict[str, Any]:
    return {
        "@odata.context": f"{ctx.base_url}/$metadata#users('{user.id}')/onlineMeetings/$entity",
        **meeting.to_graph(),
    }


# https://learn.microsoft.com/graph/api/application-post-onlinemeetings
@graph_route("POST", MEETINGS, delegated=WRITE_DELEGATED, application=WRITE_APPLICATION)
async def create_meeting(ctx: GraphContext) -> Response:
    """Create a standalone online meeting for the user in the path."""
    body = await ctx.json_body()
    with ctx.state.lock:
        area = meetings_of(ctx.state)
        user = _path_user(ctx, area)
        if "externalId" in body:
            raise _bad("externalId is only accepted by createOrGet.")
        meeting = _new_meeting(ctx, area, user, body)
        area.add(meeting)
        return graph_json(_entity(ctx, user, meeting), status=201)


# https://learn.microsoft.com/graph/api/onlinemeeting-createorget
@graph_route(
    "POST", MEETINGS + "/createOrGet", delegated=WRITE_DELEGATED, application=WRITE_APPLICATION
)
async def create_or_get_meeting(ctx: GraphContext) -> Response:
    """Return the user's meeting with this externalId (200), or create it (201)."""
    body = await ctx.json_body()
    with ctx.state.lock:
        area = meetings_of(ctx.state)
        user = _path_user(ctx, area)
        external_id = body.get("externalId")
        if not isinstance(external_id, str) or not external_id.strip():
            raise _bad("createOrGet requires an 'externalId'.")
        existing_id = area.by_external_id.get((user.id, external_id))
        existing = area.find(existing_id) if existing_id else None
        if existing is not None:
            return graph_json(_entity(ctx, user, existing), status=200)
        meeting = _new_meeting(ctx, area, user, body)
        area.add(meeting)
        return graph_json(_entity(ctx, user, meeting), status=201)


# https://learn.microsoft.com/graph/api/onlinemeeting-get (the $filter forms)
@graph_route("GET", MEETINGS, delegated=READ_DELEGATED, application=READ_APPLICATION)
async def find_meeting(ctx: GraphContext) -> Response:
    """Return the one meeting with a joinWebUrl or joinMeetingId, as a collection."""
    text = ctx.request.query_params.get("$filter")
    if not text:
        raise _bad(
            "Listing online meetings is not supported; filter by JoinWebUrl or "
            "joinMeetingIdSettings/joinMeetingId."
        )
    match = _FILTER.match(text)
    if match is None:
        raise _bad(
            "The $filter must be JoinWebUrl eq '<url-encoded url>' or "
            "joinMeetingIdSettings/joinMeetingId eq '<id>'."
        )
    with ctx.state.lock:
        area = meetings_of(ctx.state)
        user = _path_user(ctx, area)
        value = match.group("value")
        by_url = match.group("prop").lower() == "joinweburl"
        found = [
            meeting
            for meeting in area.meetings.values()
            if meeting.invites(user.id)
            and (
                same_join_url(unquote(value), meeting.join_web_url)
                if by_url
                else meeting.join_meeting_id == value.replace(" ", "")
            )
        ]
        return graph_json(
            {
                "@odata.context": f"{ctx.base_url}/$metadata#users('{user.id}')/onlineMeetings",
                "value": [meeting.to_graph() for meeting in found[:1]],
            }
        )


# https://learn.microsoft.com/graph/api/onlinemeeting-get
@graph_route("GET", ONE, delegated=READ_DELEGATED, application=READ_APPLICATION)
async def get_meeting(ctx: GraphContext) -> Response:
    """Return one meeting the path's user organises or is invited to."""
    with ctx.state.lock:
        area = meetings_of(ctx.state)
        user = _path_user(ctx, area)
        meeting = _meeting_for(area, user, ctx.path_params["meeting_id"], organizer=False)
        return graph_json(_entity(ctx, user, meeting))


# https://learn.microsoft.com/graph/api/onlinemeeting-update
@graph_route("PATCH", ONE, delegated=WRITE_DELEGATED, application=WRITE_APPLICATION)
async def update_meeting(ctx: GraphContext) -> Response:
    """Change a meeting: both times together, the full attendee list, never the organizer."""
    body = await ctx.json_body()
    with ctx.state.lock:
        area = meetings_of(ctx.state)
        user = _path_user(ctx, area)
        meeting = _meeting_for(area, user, ctx.path_params["meeting_id"], organizer=True)
        _check_names(body, creating=False)
        start = _time(body, "startDateTime")
        end = _time(body, "endDateTime")
        if (start is None) != (end is None):
            raise _bad("To change the time, send both startDateTime and endDateTime.")
        if start is not None and end is not None and end < start:
            raise _bad("The endDateTime must not be before the startDateTime.")
        attendees = _attendees(ctx, body.get("participants"), user)
        # Check everything before changing anything.
        probe = Meeting(**{**meeting.__dict__, "call": None, "reports": []})
        _apply_settings(probe, body)
        _apply_settings(meeting, body)
        if start is not None and end is not None:
            meeting.start, meeting.end = start, end
        if attendees is not None:
            meeting.attendees = attendees
        return graph_json(_entity(ctx, user, meeting))


# https://learn.microsoft.com/graph/api/onlinemeeting-delete
@graph_route("DELETE", ONE, delegated=WRITE_DELEGATED, application=WRITE_APPLICATION)
async def delete_meeting(ctx: GraphContext) -> Response:
    """Delete a meeting its organizer no longer wants."""
    with ctx.state.lock:
        area = meetings_of(ctx.state)
        user = _path_user(ctx, area)
        meeting = _meeting_for(area, user, ctx.path_params["meeting_id"], organizer=True)
        area.remove(meeting)
        return no_content()


def _organized(ctx: GraphContext) -> tuple[User, Meeting]:
    area = meetings_of(ctx.state)
    user = _path_user(ctx, area)
    return user, _meeting_for(area, user, ctx.path_params["meeting_id"], organizer=True)


# https://learn.microsoft.com/graph/api/meetingattendancereport-list
@graph_route("GET", ONE + "/attendanceReports", delegated=ARTIFACT, application=ARTIFACT)
async def list_reports(ctx: GraphContext) -> Response:
    """List a meeting's attendance reports, newest first, without their records."""
    with ctx.state.lock:
        user, meeting = _organized(ctx)
        reports = sorted(meeting.reports, key=lambda report: report.start, reverse=True)
        return graph_json(
            {
                "@odata.context": f"{ctx.base_url}/$metadata#users('{user.id}')/onlineMeetings"
                f"('{meeting.id}')/attendanceReports",
                "value": [report.to_graph(expand=False) for report in reports],
            }
        )


def _report(ctx: GraphContext) -> tuple[str, Any]:
    user, meeting = _organized(ctx)
    report_id = ctx.path_params["report_id"]
    context = (
        f"{ctx.base_url}/$metadata#users('{user.id}')/onlineMeetings('{meeting.id}')"
        f"/attendanceReports('{report_id}')"
    )
    for report in meeting.reports:
        if report.id == report_id:
            return context, report
    raise GraphError(404, "NotFound", f"The attendance report '{report_id}' was not found.")


# https://learn.microsoft.com/graph/api/meetingattendancereport-get
@graph_route(
    "GET", ONE + "/attendanceReports/{report_id}", delegated=ARTIFACT, application=ARTIFACT
)
async def get_report(ctx: GraphContext) -> Response:
    """Return one report; ``$expand=attendanceRecords`` includes who attended."""
    expand = (ctx.request.query_params.get("$expand") or "").strip()
    if expand and expand.lower() != "attendancerecords":
        raise _bad("Only $expand=attendanceRecords is supported.")
    with ctx.state.lock:
        context, report = _report(ctx)
        return graph_json({"@odata.context": context, **report.to_graph(expand=bool(expand))})


# https://learn.microsoft.com/graph/api/attendancerecord-list
@graph_route(
    "GET",
    ONE + "/attendanceReports/{report_id}/attendanceRecords",
    delegated=ARTIFACT,
    application=ARTIFACT,
)
async def list_records(ctx: GraphContext) -> Response:
    """Return who attended a meeting session, with their join and leave times."""
    with ctx.state.lock:
        context, report = _report(ctx)
        return graph_json(
            {"@odata.context": context + "/attendanceRecords", "value": report.records_json()}
        )


def _validate_call_events(resource: str, principal: Principal, state: Any) -> None:
    """Refuse a meeting that does not exist, one without an access policy, or a second
    subscription of the same app on one meeting."""
    url = join_url_of(resource)
    area = meetings_of(state)
    meeting = next(
        (m for m in area.meetings.values() if url and same_join_url(url, m.join_web_url)), None
    )
    if meeting is None:
        raise GraphError(404, "NotFound", "No online meeting has that joinWebUrl.")
    if not area.policy_allows(meeting.organizer_id):
        raise GraphError(
            403, "Forbidden", "No application access policy grants this app the organizer."
        )
    for subscription in hub_of(state).subscriptions.all():
        if (
            subscription.resource_kind == RESOURCE_NAME
            and subscription.application_id == principal.app_id
            and same_join_url(join_url_of(subscription.resource) or "", meeting.join_web_url)
        ):
            raise GraphError(
                409,
                "Conflict",
                f"Subscription Id {subscription.id} already exists for this meeting and app.",
            )


# https://learn.microsoft.com/graph/changenotifications-for-onlinemeeting
CALL_EVENTS = register_subscription_resource(
    RESOURCE_NAME,
    RESOURCE_PATTERN,
    ("updated",),
    MAX_MINUTES,
    (),  # delegated permissions are not supported
    READ_APPLICATION,
    validate=_validate_call_events,
    include_organization_id=True,
    versions=("beta",),
)
