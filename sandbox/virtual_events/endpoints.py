"""The Graph API of webinars and town halls under ``/solutions/virtualEvents``.

https://learn.microsoft.com/graph/api/resources/virtualeventsroot
Permissions and roles as the API pages list them: events are created, published and canceled
by their organizer with delegated ``VirtualEvent.ReadWrite`` only; co-organizers may read and
update them; apps read with ``VirtualEvent.Read.All`` the events of organizers who hold an
application access policy. Reads count against 750 and writes against 15 requests per 30
seconds per app (https://learn.microsoft.com/graph/throttling-limits).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from starlette.responses import Response

from sandbox.graph.errors import graph_json, no_content
from sandbox.graph.odata import page_of, parse_query
from sandbox.graph.odata_types import EntitySet
from sandbox.graph.routing import GraphContext, GraphError, Handler, graph_route
from sandbox.virtual_events.model import (
    ANSWER_INPUT_TYPES,
    AUDIENCES,
    MAX_CHOICES,
    MAX_DESCRIPTION,
    MAX_DISPLAY_NAME,
    MAX_QUESTIONS,
    PREDEFINED_LABELS,
    EventKind,
    Presenter,
    Question,
    VirtualEvent,
    bad_request,
    cancel_registration,
    check_answers,
    new_event_id,
    new_session,
    parse_date_time_time_zone,
    register,
    zone_of,
)
from sandbox.virtual_events.notifications import publish_event_created, publish_registrations
from sandbox.virtual_events.service import area_of

READ_DELEGATED = ("VirtualEvent.Read", "VirtualEvent.ReadWrite")
READ_APPLICATION = ("VirtualEvent.Read.All",)
WRITE_DELEGATED = ("VirtualEvent.ReadWrite",)
ANONYMOUS_REGISTRATION = ("VirtualEventRegistration-Anon.ReadWrite.All",)
READS = "virtual-events-read"
WRITES = "virtual-events-write"
ROOT = "/solutions/virtualEvents"
KINDS: dict[str, EventKind] = {"webinars": "webinar", "townhalls": "townhall"}

EVENTS = EntitySet(
    name="solutions/virtualEvents/webinars",
    type_name="microsoft.graph.virtualEventWebinar",
    properties=(
        "id",
        "status",
        "displayName",
        "description",
        "startDateTime",
        "endDateTime",
        "audience",
        "createdBy",
        "coOrganizers",
        "settings",
        "invitedAttendees",
        "isInviteOnly",
    ),
    filterable={"status": frozenset({"eq", "ne"}), "displayName": frozenset({"eq"})},
    count_needs_eventual=False,
    case_insensitive=False,
)
REGISTRATIONS = EntitySet(
    name="registrations",
    type_name="microsoft.graph.virtualEventRegistration",
    properties=(
        "id",
        "userId",
        "firstName",
        "lastName",
        "email",
        "status",
        "registrationDateTime",
        "cancelationDateTime",
        "preferredTimezone",
        "preferredLanguage",
        "registrationQuestionAnswers",
    ),
    filterable={
        "userId": frozenset({"eq"}),
        "email": frozenset({"eq"}),
        "status": frozenset({"eq", "ne"}),
    },
    count_needs_eventual=False,
)
UPDATABLE = frozenset(
    {"displayName", "description", "startDateTime", "endDateTime", "audience", "coOrganizers"}
    | {"settings", "invitedAttendees", "isInviteOnly", "@odata.type"}
)


def _not_found(what: str = "virtual event") -> GraphError:
    return GraphError(404, "NotFound", f"The {what} was not found.")


def _forbidden(message: str = "The caller is not allowed to do this.") -> GraphError:
    return GraphError(403, "Forbidden", message)


def _event(ctx: GraphContext, kind: EventKind) -> VirtualEvent:
    event = area_of(ctx.state).store.get(ctx.path_params["event_id"], kind)
    if event is None:
        raise _not_found()
    return event


def _is_manager(ctx: GraphContext, event: VirtualEvent) -> bool:
    user = ctx.principal.user_id
    return event.is_organizer(user) or event.is_co_organizer(user)


def check_read(ctx: GraphContext, event: VirtualEvent, *, managers_only: bool = False) -> None:
    """Let organizers, co-organizers, presenters and attendees read; apps need the policy."""
    if ctx.principal.kind == "application":
        if not area_of(ctx.state).store.has_policy(event.organizer_id):
            raise _forbidden(
                "No application access policy allows this app to act for the organizer."
            )
        return
    user = ctx.principal.user_id
    if _is_manager(ctx, event):
        return
    if managers_only:
        raise _forbidden("Only the organizer and co-organizers may do this.")
    if event.is_presenter(user) or event.is_invited(user):
        return
    if user and event.kind == "webinar" and event.registration_of(user) is not None:
        return
    if event.status != "draft" and not event.is_invite_only:
        return
    raise _not_found()


def check_manage(ctx: GraphContext, event: VirtualEvent, *, organizer_only: bool = False) -> None:
    """Let the organizer (and co-organizers, unless ``organizer_only``) change the event."""
    check_read(ctx, event)
    user = ctx.principal.user_id
    if event.is_organizer(user) or (not organizer_only and event.is_co_organizer(user)):
        return
    raise _forbidden(
        "Only the organizer may do this."
        if organizer_only
        else "Only the organizer and co-organizers may do this."
    )


def _not_canceled(event: VirtualEvent) -> None:
    if event.status == "canceled":
        raise bad_request("The event is canceled; a canceled event cannot change.")


def _text(body: dict[str, Any], name: str, limit: int, *, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise bad_request(f"'{name}' is required.")
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise bad_request(f"'{name}' must be a non-empty string.")
    if len(value) > limit:
        raise bad_request(f"'{name}' is longer than {limit} characters.")
    return value


def _description(value: Any) -> dict[str, str]:
    if value is None:
        return {"contentType": "text", "content": ""}
    if isinstance(value, str):
        value = {"contentType": "text", "content": value}
    if not isinstance(value, dict) or not isinstance(value.get("content", ""), str):
        raise bad_request("'description' must be an itemBody.")
    content_type = str(value.get("contentType", "text"))
    if content_type.lower() not in ("text", "html"):
        raise bad_request("'description.contentType' must be text or html.")
    content = str(value.get("content", ""))
    if len(content) > MAX_DESCRIPTION:
        raise bad_request(f"'description' is longer than {MAX_DESCRIPTION} characters.")
    return {"contentType": content_type.lower(), "content": content}


def _identities(ctx: GraphContext, value: Any, name: str) -> list[dict[str, str]]:
    if not isinstance(value, list):
        raise bad_request(f"'{name}' must be an array of communicationsUserIdentity.")
    people: list[dict[str, str]] = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise bad_request(f"Each of '{name}' needs an id.")
        user = ctx.state.tenant.directory_user(item["id"])
        if user is None:
            raise bad_request(f"The user '{item['id']}' of '{name}' was not found.")
        if any(one["id"] == user.id for one in people):
            continue
        people.append({"id": user.id, "displayName": user.display_name, "tenantId": user.tenant_id})
    return people


def _invitees(ctx: GraphContext, value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise bad_request("'invitedAttendees' must be an array of identities.")
    invited: list[dict[str, Any]] = []
    for item in value:
        if not isinstance(item, dict):
            raise bad_request("Each invited attendee must be an identity.")
        if "guest" in str(item.get("@odata.type", "")).lower():
            email = _text(item, "email", 254, required=True) or ""
            invited.append(
                {
                    "@odata.type": "#microsoft.graph.communicationsGuestIdentity",
                    "id": str(uuid.uuid5(uuid.NAMESPACE_URL, email.lower())),
                    "displayName": item.get("displayName") or email,
                    "email": email,
                }
            )
            continue
        (person,) = _identities(ctx, [item], "invitedAttendees")
        invited.append({"@odata.type": "#microsoft.graph.communicationsUserIdentity", **person})
    return invited


def _apply(ctx: GraphContext, event: VirtualEvent, body: dict[str, Any], *, creating: bool) -> None:
    """Apply the documented properties of ``body`` to ``event``, checking each."""
    unknown = set(body) - UPDATABLE
    if unknown:
        raise bad_request(f"Property '{sorted(unknown)[0]}' cannot be set on a virtual event.")
    name = _text(body, "displayName", MAX_DISPLAY_NAME, required=creating)
    if name is not None:
        event.display_name = name
    if "description" in body:
        event.description = _description(body["description"])
    if "startDateTime" in body or creating:
        event.start, event.start_zone = parse_date_time_time_zone(
            body.get("startDateTime"), "startDateTime"
        )
    if "endDateTime" in body or creating:
        event.end, event.end_zone = parse_date_time_time_zone(
            body.get("endDateTime"), "endDateTime"
        )
    if event.end <= event.start:
        raise bad_request("'endDateTime' must be after 'startDateTime'.")
    if "audience" in body:
        if body["audience"] not in AUDIENCES:
            raise bad_request("'audience' must be everyone or organization.")
        event.audience = str(body["audience"])
    if "coOrganizers" in body:
        people = _identities(ctx, body["coOrganizers"], "coOrganizers")
        event.co_organizers = [p for p in people if not event.is_organizer(p["id"])]
    if "settings" in body:
        settings = body["settings"]
        flag = (
            settings.get("isAttendeeEmailNotificationEnabled")
            if isinstance(settings, dict)
            else None
        )
        if not isinstance(flag, bool):
            raise bad_request("'settings.isAttendeeEmailNotificationEnabled' must be a boolean.")
        event.attendee_emails = flag
    if event.kind == "townhall":
        if "invitedAttendees" in body:
            event.invited_attendees = _invitees(ctx, body["invitedAttendees"])
        if "isInviteOnly" in body:
            if not isinstance(body["isInviteOnly"], bool):
                raise bad_request("'isInviteOnly' must be a boolean.")
            event.is_invite_only = body["isInviteOnly"]
        if event.is_invite_only and event.audience != "organization":
            raise bad_request("'isInviteOnly' can be true only when the audience is organization.")
    elif {"invitedAttendees", "isInviteOnly"} & set(body):
        raise bad_request("Webinars have no invited attendees; registration admits people.")
    if event.sessions:
        session = event.sessions[0]
        session.subject, session.start, session.end = event.display_name, event.start, event.end


def _event_json(ctx: GraphContext, event: VirtualEvent) -> dict[str, Any]:
    return {
        "@odata.context": (
            f"{ctx.base_url}/$metadata#solutions/virtualEvents/{event.collection}/$entity"
        ),
        **event.to_graph(),
    }


# --- the events ---------------------------------------------------------------------------


def _create(kind: EventKind) -> Handler:
    # https://learn.microsoft.com/graph/api/virtualeventsroot-post-webinars
    # https://learn.microsoft.com/graph/api/virtualeventsroot-post-townhalls
    async def create(ctx: GraphContext) -> Response:
        body = await ctx.json_body()
        area = area_of(ctx.state)
        with ctx.state.lock:
            organizer = ctx.state.tenant.directory_user(ctx.principal.user_id or "")
            if organizer is None:
                raise _forbidden("Only a person of the tenant may create an event.")
            now = ctx.state.clock.now()
            event = VirtualEvent(
                id=new_event_id(ctx.state.tenant.tenant_id),
                kind=kind,
                tenant_id=ctx.state.tenant.tenant_id,
                organizer_id=organizer.id,
                organizer_name=organizer.display_name,
                display_name="",
                description={"contentType": "text", "content": ""},
                start=now,
                end=now,
                start_zone="UTC",
                end_zone="UTC",
                audience="organization",
                created_at=now,
            )
            _apply(ctx, event, body, creating=True)
            event.sessions.append(new_session(event))
            area.store.add(event)
            publish_event_created(ctx.state, event)
            return graph_json(_event_json(ctx, event), status=201)

    return create


def _get(kind: EventKind) -> Handler:
    # https://learn.microsoft.com/graph/api/virtualeventwebinar-get
    async def get(ctx: GraphContext) -> Response:
        with ctx.state.lock:
            event = _event(ctx, kind)
            check_read(ctx, event)
            return graph_json(_event_json(ctx, event))

    return get


def _update(kind: EventKind) -> Handler:
    # https://learn.microsoft.com/graph/api/virtualeventwebinar-update
    async def update(ctx: GraphContext) -> Response:
        body = await ctx.json_body()
        with ctx.state.lock:
            event = _event(ctx, kind)
            check_manage(ctx, event)
            _not_canceled(event)
            # Checked on a copy first, so a refused change leaves the event as it was.
            trial = VirtualEvent(**{**event.__dict__, "sessions": []})
            _apply(ctx, trial, body, creating=False)
            _apply(ctx, event, body, creating=False)
            return graph_json(_event_json(ctx, event))

    return update


def _transition(kind: EventKind, to: str) -> Handler:
    # https://learn.microsoft.com/graph/api/virtualeventwebinar-publish
    # https://learn.microsoft.com/graph/api/virtualeventwebinar-cancel
    async def transition(ctx: GraphContext) -> Response:
        with ctx.state.lock:
            event = _event(ctx, kind)
            check_manage(ctx, event, organizer_only=True)
            if event.status == "canceled":
                raise bad_request(
                    "The event is canceled; it cannot be published or canceled again."
                )
            if to == "published" and event.status == "published":
                raise bad_request("The event is published already.")
            event.status = to
            return no_content()

    return transition


def _list(kind: EventKind) -> Handler:
    # https://learn.microsoft.com/graph/api/virtualeventsroot-list-webinars
    async def list_events(ctx: GraphContext) -> Response:
        query = parse_query(
            ctx.request.query_params,
            EVENTS,
            consistency_level=ctx.request.headers.get("ConsistencyLevel"),
        )
        with ctx.state.lock:
            store = area_of(ctx.state).store
            items = [e.to_graph() for e in store.of_kind(kind) if store.has_policy(e.organizer_id)]
        return graph_json(
            page_of(items, query, EVENTS, base_url=ctx.base_url, path=ctx.request.url.path)
        )

    return list_events


def _quoted(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'")
    raise bad_request(f"Expected a quoted string, got {text!r}.")


def _role(text: str) -> str:
    role = _quoted(text)
    if role not in ("organizer", "coOrganizer"):
        raise bad_request("'role' must be organizer or coOrganizer.")
    return role


def _by_role(ctx: GraphContext, kind: EventKind, user_id: str, role: str) -> list[dict[str, Any]]:
    store = area_of(ctx.state).store
    test: Callable[[VirtualEvent], bool] = (
        (lambda e: e.is_organizer(user_id))
        if role == "organizer"
        else (lambda e: e.is_co_organizer(user_id))
    )
    return [event.to_graph() for event in store.of_kind(kind) if test(event)]


def _get_by_user_role(kind: EventKind) -> Handler:
    # https://learn.microsoft.com/graph/api/virtualeventwebinar-getbyuserrole
    async def get_by_user_role(ctx: GraphContext) -> Response:
        role = _role(ctx.path_params["role"])
        with ctx.state.lock:
            value = _by_role(ctx, kind, ctx.principal.user_id or "", role)
        return graph_json({"value": value})

    return get_by_user_role


def _get_by_user_id_and_role(kind: EventKind) -> Handler:
    # https://learn.microsoft.com/graph/api/virtualeventwebinar-getbyuseridandrole
    async def get_by_user_id_and_role(ctx: GraphContext) -> Response:
        args: dict[str, str] = {}
        for part in ctx.path_params["args"].split(","):
            name, _, value = part.partition("=")
            args[name.strip().lower()] = value
        if set(args) != {"userid", "role"}:
            raise bad_request("Pass userId and role.")
        user_id, role = _quoted(args["userid"]), _role(args["role"])
        with ctx.state.lock:
            if ctx.state.tenant.directory_user(user_id) is None:
                raise _not_found("user")
            if not area_of(ctx.state).store.has_policy(user_id):
                raise _forbidden(
                    "No application access policy allows this app to act for the user."
                )
            found = _by_role(ctx, kind, user_id, role)
        return graph_json({"value": found})

    return get_by_user_id_and_role


# --- sessions and attendance ------------------------------------------------------------


def _session(ctx: GraphContext, event: VirtualEvent) -> Any:
    for session in event.sessions:
        if session.id.lower() == ctx.path_params["session_id"].lower():
            return session
    raise _not_found("session")


def _sessions(kind: EventKind) -> Handler:
    # https://learn.microsoft.com/graph/api/virtualeventsession-list
    async def sessions(ctx: GraphContext) -> Response:
        with ctx.state.lock:
            event = _event(ctx, kind)
            check_read(ctx, event)
            return graph_json({"value": [s.to_graph() for s in event.sessions]})

    return sessions


def _session_get(kind: EventKind) -> Handler:
    # https://learn.microsoft.com/graph/api/virtualeventsession-get
    async def session_get(ctx: GraphContext) -> Response:
        with ctx.state.lock:
            event = _event(ctx, kind)
            check_read(ctx, event)
            return graph_json(_session(ctx, event).to_graph())

    return session_get


def _reports(kind: EventKind) -> Handler:
    # https://learn.microsoft.com/graph/api/meetingattendancereport-list
    async def reports(ctx: GraphContext) -> Response:
        with ctx.state.lock:
            event = _event(ctx, kind)
            check_read(ctx, event, managers_only=True)
            session = _session(ctx, event)
            return graph_json({"value": [r.to_graph() for r in session.reports]})

    return reports


def _report(ctx: GraphContext, kind: EventKind) -> tuple[Any, VirtualEvent]:
    event = _event(ctx, kind)
    check_read(ctx, event, managers_only=True)
    session = _session(ctx, event)
    for report in session.reports:
        if report.id.lower() == ctx.path_params["report_id"].lower():
            return report, event
    raise _not_found("attendance report")


def _report_get(kind: EventKind) -> Handler:
    # https://learn.microsoft.com/graph/api/meetingattendancereport-get
    async def report_get(ctx: GraphContext) -> Response:
        with ctx.state.lock:
            report, event = _report(ctx, kind)
            context = (
                f"{ctx.base_url}/$metadata#solutions/virtualEvents/{event.collection}"
                f"('{event.id}')/sessions('{ctx.path_params['session_id']}')"
                f"/attendanceReports('{report.id}')"
            )
            return graph_json({"@odata.context": context, **report.to_graph()})

    return report_get


def _records(kind: EventKind) -> Handler:
    # https://learn.microsoft.com/graph/api/attendancerecord-list
    async def records(ctx: GraphContext) -> Response:
        with ctx.state.lock:
            report, event = _report(ctx, kind)
            return graph_json({"value": [r.to_graph(event.tenant_id) for r in report.records]})

    return records


# --- presenters ---------------------------------------------------------------------------


def _presenters(kind: EventKind) -> Handler:
    # https://learn.microsoft.com/graph/api/virtualevent-list-presenters
    async def presenters(ctx: GraphContext) -> Response:
        with ctx.state.lock:
            event = _event(ctx, kind)
            check_read(ctx, event)
            return graph_json({"value": [p.to_graph(kind) for p in event.presenters]})

    return presenters


def _presenter_create(kind: EventKind) -> Handler:
    # https://learn.microsoft.com/graph/api/virtualevent-post-presenters
    async def presenter_create(ctx: GraphContext) -> Response:
        body = await ctx.json_body()
        identity = body.get("identity")
        if not isinstance(identity, dict):
            raise bad_request("'identity' is required.")
        with ctx.state.lock:
            event = _event(ctx, kind)
            check_manage(ctx, event)
            _not_canceled(event)
            if "guest" in str(identity.get("@odata.type", "")).lower():
                email = _text(identity, "email", 254, required=True) or ""
                name = _text(identity, "displayName", MAX_DISPLAY_NAME, required=True) or ""
                if "@" not in email:
                    raise bad_request("A guest presenter needs an e-mail address.")
                presenter_id = str(uuid.uuid4())
                presenter = Presenter(
                    id=presenter_id,
                    email=email,
                    identity={
                        "@odata.type": "#microsoft.graph.communicationsGuestIdentity",
                        "id": presenter_id,
                        "displayName": name,
                        "email": email,
                    },
                )
            else:
                (person,) = _identities(ctx, [identity], "identity")
                user = ctx.state.tenant.directory_user(person["id"])
                presenter = Presenter(
                    id=str(uuid.uuid4()),
                    email=user.mail if user else None,
                    identity={
                        "@odata.type": "#microsoft.graph.communicationsUserIdentity",
                        **person,
                    },
                )
            if presenter.email and any(
                (p.email or "").lower() == presenter.email.lower() for p in event.presenters
            ):
                raise GraphError(409, "Conflict", "This person presents at the event already.")
            event.presenters.append(presenter)
            return graph_json(presenter.to_graph(kind), status=201)

    return presenter_create


def _remove_from_event(ctx: GraphContext, kind: EventKind, field: str, what: str) -> Response:
    """Delete the presenter or question named in the path from an event its caller manages."""
    with ctx.state.lock:
        event = _event(ctx, kind)
        check_manage(ctx, event)
        _not_canceled(event)
        wanted = ctx.path_params[f"{what}_id"].lower()
        items = getattr(event, field)
        kept = [item for item in items if item.id.lower() != wanted]
        if len(kept) == len(items):
            raise _not_found(what)
        setattr(event, field, kept)
        return no_content()


def _presenter_delete(kind: EventKind) -> Handler:
    # https://learn.microsoft.com/graph/api/virtualeventpresenter-delete
    async def presenter_delete(ctx: GraphContext) -> Response:
        return _remove_from_event(ctx, kind, "presenters", "presenter")

    return presenter_delete


# --- registration configuration and questions ------------------------------------------------


def _configuration(kind: EventKind) -> Handler:
    # https://learn.microsoft.com/graph/api/virtualeventwebinarregistrationconfiguration-get
    async def configuration(ctx: GraphContext) -> Response:
        with ctx.state.lock:
            event = _event(ctx, kind)
            check_read(ctx, event)
            return graph_json(event.registration_configuration())

    return configuration


def _configuration_update(kind: EventKind) -> Handler:
    async def configuration_update(ctx: GraphContext) -> Response:
        body = await ctx.json_body()
        unknown = set(body) - {"capacity", "isWaitlistEnabled", "@odata.type"}
        if unknown:
            raise bad_request(f"Property '{sorted(unknown)[0]}' cannot be set here.")
        capacity = body.get("capacity")
        if (
            "capacity" in body
            and capacity is not None
            and (
                isinstance(capacity, bool)
                or not isinstance(capacity, int)
                or not 1 <= capacity <= 10_000
            )
        ):
            raise bad_request("'capacity' must be a whole number from 1 to 10000, or null.")
        waitlist = body.get("isWaitlistEnabled", True)
        if not isinstance(waitlist, bool):
            raise bad_request("'isWaitlistEnabled' must be a boolean.")
        with ctx.state.lock:
            event = _event(ctx, kind)
            check_manage(ctx, event)
            _not_canceled(event)
            if "capacity" in body:
                event.capacity = capacity
            if "isWaitlistEnabled" in body:
                event.waitlist_enabled = waitlist
            return graph_json(event.registration_configuration())

    return configuration_update


def _questions(kind: EventKind) -> Handler:
    # https://learn.microsoft.com/graph/api/virtualeventregistrationconfiguration-list-questions?view=graph-rest-beta
    async def questions(ctx: GraphContext) -> Response:
        with ctx.state.lock:
            event = _event(ctx, kind)
            check_read(ctx, event)
            return graph_json({"value": [q.to_graph() for q in event.questions]})

    return questions


def _question_create(kind: EventKind) -> Handler:
    # https://learn.microsoft.com/graph/api/virtualeventregistrationconfiguration-post-questions?view=graph-rest-beta
    async def question_create(ctx: GraphContext) -> Response:
        body = await ctx.json_body()
        question = _question_from(body)
        with ctx.state.lock:
            event = _event(ctx, kind)
            check_manage(ctx, event)
            _not_canceled(event)
            if len(event.questions) >= MAX_QUESTIONS:
                raise bad_request(f"An event asks at most {MAX_QUESTIONS} questions.")
            if not question.custom and any(q.label == question.label for q in event.questions):
                raise GraphError(
                    409, "Conflict", f"The question '{question.label}' is asked already."
                )
            event.questions.append(question)
            return graph_json(question.to_graph(), status=201)

    return question_create


def _question_from(body: dict[str, Any]) -> Question:
    kind = str(body.get("@odata.type", "")).lower()
    required = body.get("isRequired", False)
    if not isinstance(required, bool):
        raise bad_request("'isRequired' must be a boolean.")
    if kind.endswith("predefinedquestion"):
        label = body.get("label")
        if label not in PREDEFINED_LABELS:
            raise bad_request(f"'label' must be one of {', '.join(PREDEFINED_LABELS)}.")
        return Question(
            id=str(uuid.uuid4()),
            custom=False,
            display_name=PREDEFINED_LABELS[str(label)],
            label=str(label),
            is_required=required,
        )
    if not kind.endswith("customquestion"):
        raise bad_request("'@odata.type' must name a custom or predefined question.")
    name = _text(body, "displayName", MAX_DISPLAY_NAME, required=True) or ""
    answer_type = body.get("answerInputType")
    if answer_type not in ANSWER_INPUT_TYPES:
        raise bad_request(
            f"'answerInputType' must be one of {', '.join(sorted(ANSWER_INPUT_TYPES))}."
        )
    choices = body.get("answerChoices") or []
    if not isinstance(choices, list) or not all(
        isinstance(c, str) and c.strip() and len(c) <= MAX_DISPLAY_NAME for c in choices
    ):
        raise bad_request("'answerChoices' must be an array of non-empty strings.")
    if answer_type in ("singleChoice", "multiChoice"):
        if not 2 <= len(choices) <= MAX_CHOICES or len(set(choices)) != len(choices):
            raise bad_request(f"A choice question needs 2 to {MAX_CHOICES} different choices.")
    elif choices:
        raise bad_request("Only choice questions take 'answerChoices'.")
    return Question(
        id=str(uuid.uuid4()),
        custom=True,
        display_name=name,
        answer_input_type=str(answer_type),
        answer_choices=list(choices),
        is_required=required,
    )


def _question_delete(kind: EventKind) -> Handler:
    async def question_delete(ctx: GraphContext) -> Response:
        return _remove_from_event(ctx, kind, "questions", "question")

    return question_delete


# --- registrations ---------------------------------------------------------------------------


def _registration(ctx: GraphContext, event: VirtualEvent) -> Any:
    wanted = ctx.path_params["registration_id"].lower()
    for registration in event.registrations.values():
        if registration.id.lower() == wanted or registration.email.lower() == wanted:
            return registration
    raise _not_found("registration")


async def registration_create(ctx: GraphContext) -> Response:
    """Register the signed-in person (201), or an anonymous person for an app (204)."""
    # https://learn.microsoft.com/graph/api/virtualeventwebinar-post-registrations
    body = await ctx.json_body()
    timezone = _text(body, "preferredTimezone", 100, required=True) or ""
    language = _text(body, "preferredLanguage", 20, required=True) or ""
    zone_of(timezone)
    with ctx.state.lock:
        event = _event(ctx, "webinar")
        now = ctx.state.clock.now()
        answers = check_answers(event, body.get("registrationQuestionAnswers"))
        if ctx.principal.kind == "delegated":
            user = ctx.state.tenant.directory_user(ctx.principal.user_id or "")
            if user is None:
                raise _forbidden()
            check_read(ctx, event)
            registration = register(
                event,
                user_id=user.id,
                first_name=user.given_name or user.display_name,
                last_name=user.surname or "",
                email=user.mail,
                preferred_timezone=timezone,
                preferred_language=language,
                answers=answers,
                now=now,
            )
        else:
            check_read(ctx, event)
            if event.audience != "everyone":
                raise _forbidden("Anonymous registration needs a webinar open to everyone.")
            email = _text(body, "email", 254, required=True) or ""
            if "@" not in email:
                raise bad_request("'email' must be an e-mail address.")
            registration = register(
                event,
                user_id=None,
                first_name=_text(body, "firstName", 100, required=True) or "",
                last_name=_text(body, "lastName", 100, required=True) or "",
                email=email,
                preferred_timezone=timezone,
                preferred_language=language,
                answers=answers,
                now=now,
            )
        publish_registrations(ctx.state, event, [registration], "created")
        if ctx.principal.kind == "application":
            return no_content()
        return graph_json(registration.to_graph(), status=201)


async def registrations_list(ctx: GraphContext) -> Response:
    """List a webinar's registrations (organizers, co-organizers, apps with the policy)."""
    # https://learn.microsoft.com/graph/api/virtualeventwebinar-list-registrations
    query = parse_query(
        ctx.request.query_params,
        REGISTRATIONS,
        consistency_level=ctx.request.headers.get("ConsistencyLevel"),
    )
    with ctx.state.lock:
        event = _event(ctx, "webinar")
        check_read(ctx, event, managers_only=True)
        items = [r.to_graph() for r in event.registrations.values()]
    return graph_json(
        page_of(items, query, REGISTRATIONS, base_url=ctx.base_url, path=ctx.request.url.path)
    )


def _own_or_managed(ctx: GraphContext, event: VirtualEvent, registration: Any) -> None:
    user = ctx.principal.user_id
    if user and registration.user_id and registration.user_id.lower() == user.lower():
        return
    check_read(ctx, event, managers_only=True)


async def registration_get(ctx: GraphContext) -> Response:
    """Return one registration to its registrant, the organizers, or an app with the policy."""
    # https://learn.microsoft.com/graph/api/virtualeventregistration-get
    with ctx.state.lock:
        event = _event(ctx, "webinar")
        registration = _registration(ctx, event)
        _own_or_managed(ctx, event, registration)
        return graph_json(registration.to_graph())


async def registration_cancel(ctx: GraphContext) -> Response:
    """Cancel a registration; the first wait-listed person moves up."""
    # https://learn.microsoft.com/graph/api/virtualeventregistration-cancel
    with ctx.state.lock:
        event = _event(ctx, "webinar")
        registration = _registration(ctx, event)
        if ctx.principal.kind == "delegated":
            _own_or_managed(ctx, event, registration)
        else:
            check_read(ctx, event)
        _not_canceled(event)
        changed = cancel_registration(event, registration, ctx.state.clock.now())
        publish_registrations(ctx.state, event, changed, "updated")
        return no_content()


def _register_routes() -> None:
    for collection, kind in KINDS.items():
        base = f"{ROOT}/{collection}"
        one = f"{base}/{{event_id}}"
        both: dict[str, Any] = {"delegated": READ_DELEGATED, "application": READ_APPLICATION}
        graph_route("POST", base, delegated=WRITE_DELEGATED, application=(), throttle=WRITES)(
            _create(kind)
        )
        # The tenant list is for apps only: delegated callers use getByUserRole.
        graph_route("GET", base, delegated=(), application=READ_APPLICATION, throttle=READS)(
            _list(kind)
        )
        graph_route("GET", one, **both, throttle=READS)(_get(kind))
        graph_route("PATCH", one, delegated=WRITE_DELEGATED, application=(), throttle=WRITES)(
            _update(kind)
        )
        for action, status in (("publish", "published"), ("cancel", "canceled")):
            graph_route(
                "POST",
                f"{one}/{action}",
                delegated=WRITE_DELEGATED,
                application=(),
                throttle=WRITES,
            )(_transition(kind, status))
        graph_route(
            "GET",
            f"{base}/getByUserRole(role={{role}})",
            delegated=READ_DELEGATED,
            application=(),
            throttle=READS,
        )(_get_by_user_role(kind))
        graph_route(
            "GET",
            f"{base}/getByUserIdAndRole({{args}})",
            delegated=(),
            application=READ_APPLICATION,
            throttle=READS,
        )(_get_by_user_id_and_role(kind))
        graph_route("GET", f"{one}/sessions", **both, throttle=READS)(_sessions(kind))
        graph_route("GET", f"{one}/sessions/{{session_id}}", **both, throttle=READS)(
            _session_get(kind)
        )
        reports = f"{one}/sessions/{{session_id}}/attendanceReports"
        graph_route("GET", reports, **both, throttle=READS)(_reports(kind))
        graph_route("GET", f"{reports}/{{report_id}}", **both, throttle=READS)(_report_get(kind))
        graph_route("GET", f"{reports}/{{report_id}}/attendanceRecords", **both, throttle=READS)(
            _records(kind)
        )
        graph_route("GET", f"{one}/presenters", **both, throttle=READS)(_presenters(kind))
        graph_route(
            "POST", f"{one}/presenters", delegated=WRITE_DELEGATED, application=(), throttle=WRITES
        )(_presenter_create(kind))
        graph_route(
            "DELETE",
            f"{one}/presenters/{{presenter_id}}",
            delegated=WRITE_DELEGATED,
            application=(),
            throttle=WRITES,
        )(_presenter_delete(kind))
        config = f"{one}/registrationConfiguration"
        graph_route("GET", config, **both, throttle=READS)(_configuration(kind))
        graph_route("PATCH", config, delegated=WRITE_DELEGATED, application=(), throttle=WRITES)(
            _configuration_update(kind)
        )
        # Registration questions are a beta API.
        graph_route("GET", f"{config}/questions", **both, throttle=READS, versions=("beta",))(
            _questions(kind)
        )
        graph_route(
            "POST",
            f"{config}/questions",
            delegated=WRITE_DELEGATED,
            application=(),
            throttle=WRITES,
            versions=("beta",),
        )(_question_create(kind))
        graph_route(
            "DELETE",
            f"{config}/questions/{{question_id}}",
            delegated=WRITE_DELEGATED,
            application=(),
            throttle=WRITES,
            versions=("beta",),
        )(_question_delete(kind))
    registrations = f"{ROOT}/webinars/{{event_id}}/registrations"
    graph_route(
        "POST",
        registrations,
        delegated=WRITE_DELEGATED,
        application=ANONYMOUS_REGISTRATION,
        throttle=WRITES,
    )(registration_create)
    graph_route(
        "GET", registrations, delegated=READ_DELEGATED, application=READ_APPLICATION, throttle=READS
    )(registrations_list)
    graph_route(
        "GET",
        f"{registrations}/{{registration_id}}",
        delegated=READ_DELEGATED,
        application=READ_APPLICATION,
        throttle=READS,
    )(registration_get)
    graph_route(
        "POST",
        f"{registrations}/{{registration_id}}/cancel",
        delegated=WRITE_DELEGATED,
        application=ANONYMOUS_REGISTRATION,
        throttle=WRITES,
    )(registration_cancel)


_register_routes()
