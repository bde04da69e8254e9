"""What the events pages do: plan, publish and cancel events at Graph, register, keep copies.

Graph is the truth: every change is made there first, as the person acting (delegated), and
the portal's copy follows Graph's answer. Registrations arrive by change notification
(``events.handlers``) and by reading the whole list again (the safety net).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.graph_clients import graph_for_app, graph_for_user
from accounts.identity import FEATURE_SCOPES
from accounts.models import User
from comms_portal import live
from comms_portal.graph import (
    BadRequest,
    Conflict,
    Forbidden,
    GraphClient,
    GraphError,
    NotFound,
    Throttled,
)
from comms_portal.graph import virtual_events as api
from directory.models import Person
from events.models import Attendance, Presenter, Question, Registration, Session, VirtualEvent

logger = logging.getLogger(__name__)

EVENT_SCOPES = FEATURE_SCOPES["events"]


class EventError(Exception):
    """Graph refused what a person asked; the message says so in words for the page."""


@dataclass
class Guest:
    """A presenter from outside the directory."""

    name: str
    email: str


@dataclass
class QuestionDraft:
    """A registration question as the form gives it."""

    text: str
    input_type: str
    choices: list[str] = field(default_factory=list)
    is_required: bool = False


@dataclass
class EventDraft:
    """What the console's form holds for one event."""

    kind: str
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime
    time_zone: str
    audience: str
    co_organizers: list[Person] = field(default_factory=list)
    presenters: list[Person] = field(default_factory=list)
    guests: list[Guest] = field(default_factory=list)
    invited: list[Person] = field(default_factory=list)
    is_invite_only: bool = False
    capacity: int | None = None
    questions: list[QuestionDraft] = field(default_factory=list)
    # Where the questions to add go, after those the event asks already.
    question_start: int = 0


def explain(error: GraphError, doing: str) -> str:
    """Say in words why Graph refused ``doing``."""
    if isinstance(error, Throttled):
        return (
            f"Teams is busy and refused to {doing} for now (too many changes in a short time). "
            "Nothing was lost; try again in half a minute."
        )
    if isinstance(error, Forbidden):
        return (
            f"Teams did not let you {doing}: only the event's organizer may publish or cancel it, "
            "and only organizers and co-organizers may change it."
        )
    if isinstance(error, NotFound):
        return f"Teams no longer knows this event, so it could not {doing}."
    if isinstance(error, Conflict):
        return f"Could not {doing}: {error.message}"
    if isinstance(error, BadRequest):
        return f"Teams refused to {doing}: {error.message}"
    return f"Teams could not {doing} just now ({error.message}). Try again shortly."


def client_as(user: User) -> GraphClient:
    return graph_for_user(user.pk, EVENT_SCOPES)


def can_manage(user: Any, event: VirtualEvent) -> bool:
    """Portal admins and the event's co-organizers reach its console."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_portal_admin:
        return True
    own = (user.object_id or "").lower()
    return bool(own) and (
        own == event.organizer_graph_id.lower()
        or own in {one.lower() for one in event.co_organizer_ids}
    )


def managed_events(user: User) -> Any:
    """The events whose console ``user`` reaches."""
    events = VirtualEvent.objects.all()
    if user.is_portal_admin:
        return events
    own = (user.object_id or "").lower()
    return [event for event in events if can_manage(user, event)] if own else []


def _identity(person: Person) -> dict[str, str]:
    return {"id": person.graph_id}


def _event_body(draft: EventDraft) -> dict[str, Any]:
    body: dict[str, Any] = {
        "displayName": draft.title,
        "description": {"contentType": "text", "content": draft.description},
        "startDateTime": api.date_time_time_zone(draft.starts_at),
        "endDateTime": api.date_time_time_zone(draft.ends_at),
        "audience": draft.audience,
        "coOrganizers": [_identity(p) for p in draft.co_organizers],
    }
    if draft.kind == VirtualEvent.Kind.TOWNHALL:
        body["invitedAttendees"] = [_identity(p) for p in draft.invited]
        body["isInviteOnly"] = draft.is_invite_only
    return body


def _copy_draft(event: VirtualEvent, draft: EventDraft, graph: dict[str, Any]) -> None:
    event.title = str(graph.get("displayName") or draft.title)
    event.description = draft.description
    event.starts_at, event.ends_at = draft.starts_at, draft.ends_at
    event.time_zone = draft.time_zone
    event.audience = str(graph.get("audience") or draft.audience)
    event.status = str(graph.get("status") or event.status)
    event.co_organizer_ids = [p.graph_id for p in draft.co_organizers]
    event.invited_ids = [p.graph_id for p in draft.invited]
    event.is_invite_only = draft.is_invite_only


def create_event(user: User, draft: EventDraft) -> tuple[VirtualEvent, list[str]]:
    """Create the event at Graph as ``user``, then its presenters, capacity and questions.

    Returns the event and what could not be done after it was created (each in words); raises
    EventError when Graph refused the event itself, so that nothing was made.
    """
    client = client_as(user)
    collection: api.Collection = (
        "webinars" if draft.kind == VirtualEvent.Kind.WEBINAR else "townhalls"
    )
    try:
        made = api.create_event(client, collection, _event_body(draft))
    except GraphError as error:
        raise EventError(explain(error, "create the event")) from error
    event = VirtualEvent(
        graph_id=made["id"],
        kind=draft.kind,
        organizer=user,
        organizer_graph_id=user.object_id,
    )
    _copy_draft(event, draft, made)
    event.save()
    problems = _add_parts(client, event, draft)
    return event, problems


def _add_parts(client: GraphClient, event: VirtualEvent, draft: EventDraft) -> list[str]:
    problems: list[str] = []
    collection: api.Collection = "webinars" if event.is_webinar else "townhalls"
    identities: list[tuple[dict[str, Any], str, str, str]] = [
        (
            {"@odata.type": "#microsoft.graph.communicationsUserIdentity", "id": p.graph_id},
            p.graph_id,
            p.display_name,
            p.mail or p.user_principal_name,
        )
        for p in draft.presenters
    ]
    identities += [
        (
            {
                "@odata.type": "#microsoft.graph.communicationsGuestIdentity",
                "displayName": guest.name,
                "email": guest.email,
            },
            "",
            guest.name,
            guest.email,
        )
        for guest in draft.guests
    ]
    for identity, person_id, name, email in identities:
        try:
            presenter = api.add_presenter(client, collection, event.graph_id, identity)
        except GraphError as error:
            problems.append(explain(error, f"add {name} as a presenter"))
            continue
        Presenter.objects.create(
            event=event,
            graph_id=presenter["id"],
            person_graph_id=person_id,
            display_name=name,
            email=email,
        )
    if event.is_webinar and draft.capacity is not None:
        try:
            api.update_registration_configuration(client, event.graph_id, capacity=draft.capacity)
            event.capacity = draft.capacity
            event.save(update_fields=["capacity"])
        except GraphError as error:
            problems.append(explain(error, "set the capacity"))
    if event.is_webinar:
        for position, question in enumerate(draft.questions, start=draft.question_start):
            body = {
                "@odata.type": "#microsoft.graph.virtualEventRegistrationCustomQuestion",
                "displayName": question.text,
                "answerInputType": question.input_type,
                "answerChoices": question.choices,
                "isRequired": question.is_required,
            }
            try:
                made = api.create_question(client, event.graph_id, body)
            except GraphError as error:
                problems.append(explain(error, f"add the question {question.text!r}"))
                continue
            Question.objects.create(
                event=event,
                graph_id=made["id"],
                position=position,
                text=question.text,
                input_type=question.input_type,
                choices=question.choices,
                is_required=question.is_required,
            )
    return problems


def update_event(user: User, event: VirtualEvent, draft: EventDraft) -> list[str]:
    """Change the event at Graph as ``user``; new presenters and questions are added."""
    client = client_as(user)
    collection: api.Collection = "webinars" if event.is_webinar else "townhalls"
    body = _event_body(draft)
    try:
        changed = api.update_event(client, collection, event.graph_id, body)
    except GraphError as error:
        raise EventError(explain(error, "save the changes")) from error
    _copy_draft(event, draft, changed)
    event.save()
    problems = _remove_presenters(client, event, draft)
    known = {p.person_graph_id for p in event.presenters.all()} | {
        p.email.lower() for p in event.presenters.all()
    }
    draft.presenters = [p for p in draft.presenters if p.graph_id not in known]
    draft.guests = [g for g in draft.guests if g.email.lower() not in known]
    problems += _rework_questions(client, event, draft)
    if draft.capacity == event.capacity:
        draft.capacity = None
    return problems + _add_parts(client, event, draft)


def _remove_presenters(client: GraphClient, event: VirtualEvent, draft: EventDraft) -> list[str]:
    """Remove at Graph the presenters the form no longer lists."""
    problems: list[str] = []
    people = {p.graph_id for p in draft.presenters}
    guests = {g.email.lower() for g in draft.guests}
    for presenter in event.presenters.all():
        wanted = (
            presenter.email.lower() in guests
            if presenter.is_guest
            else presenter.person_graph_id in people
        )
        if wanted:
            continue
        try:
            api.delete_presenter(
                client,
                "webinars" if event.is_webinar else "townhalls",
                event.graph_id,
                presenter.graph_id,
            )
        except NotFound:
            pass
        except GraphError as error:
            problems.append(explain(error, f"remove {presenter.display_name} as a presenter"))
            continue
        presenter.delete()
    return problems


def _shape(question: QuestionDraft | Question) -> tuple[str, str, tuple[str, ...], bool]:
    return (question.text, question.input_type, tuple(question.choices), question.is_required)


def _rework_questions(client: GraphClient, event: VirtualEvent, draft: EventDraft) -> list[str]:
    """Leave ``draft.questions`` holding only what is still to be added at Graph.

    A draft's questions may change in any way (they are asked again in the new order); a
    published webinar's may only grow, since people answered the ones it had.
    """
    asked = list(event.questions.all())
    wanted = draft.questions
    if [_shape(q) for q in asked] == [_shape(q) for q in wanted[: len(asked)]]:
        draft.questions = wanted[len(asked) :]
        draft.question_start = len(asked)
        return []
    if event.status != VirtualEvent.Status.DRAFT:
        texts = {q.text for q in asked}
        draft.questions = [q for q in wanted if q.text not in texts]
        draft.question_start = len(asked)
        return [
            "People have answered this webinar's questions, so they stay as they were; "
            "new questions are added after them."
        ]
    for question in asked:
        try:
            api.delete_question(client, event.graph_id, question.graph_id)
        except NotFound:
            pass
        except GraphError as error:
            return [explain(error, "change the questions")]
        question.delete()
    return []


def publish_event(user: User, event: VirtualEvent) -> None:
    """Publish the event at Graph as ``user``; then follow its registrations."""
    try:
        api.publish_event(client_as(user), event.collection, event.graph_id)  # type: ignore[arg-type]
    except GraphError as error:
        raise EventError(explain(error, "publish the event")) from error
    event.status = VirtualEvent.Status.PUBLISHED
    event.save(update_fields=["status", "updated_at"])
    _tell_pages(event)
    if event.is_webinar:
        from comms_portal.notifications.tasks import maintain_subscriptions

        transaction.on_commit(lambda: maintain_subscriptions.delay())


def cancel_event(user: User, event: VirtualEvent) -> None:
    """Cancel the event at Graph as ``user``; for good."""
    try:
        api.cancel_event(client_as(user), event.collection, event.graph_id)  # type: ignore[arg-type]
    except GraphError as error:
        raise EventError(explain(error, "cancel the event")) from error
    event.status = VirtualEvent.Status.CANCELED
    event.save(update_fields=["status", "updated_at"])
    _tell_pages(event)


def _tell_pages(event: VirtualEvent) -> None:
    from events.topics import event_topic

    live.publish(event_topic(event.pk), {"type": "event", "status": event.status})


# --- registrations ----------------------------------------------------------------------------


def registration_row(registration: Registration) -> dict[str, Any]:
    """Return what the registration table shows of one registration."""
    return {
        "id": registration.graph_id,
        "name": registration.name,
        "email": registration.email,
        "status": registration.status,
        "statusLabel": Registration.Status(registration.status).label
        if registration.status in Registration.Status.values
        else registration.status,
        "registeredAt": registration.registered_at.isoformat(),
        "answers": [
            {"question": a.get("displayName") or "", "answer": answer_text(a)}
            for a in registration.answers
        ],
    }


def answer_text(answer: dict[str, Any]) -> str:
    """Return an answer as words, whatever kind of question it answers."""
    if answer.get("booleanValue") is not None:
        return "Yes" if answer["booleanValue"] else "No"
    if answer.get("multiChoiceValues"):
        return ", ".join(str(one) for one in answer["multiChoiceValues"])
    return str(answer.get("value") or "")


def counts_of(event: VirtualEvent) -> dict[str, int]:
    """Return how many registrations the event has in each status."""
    counts = dict.fromkeys(Registration.Status.values, 0)
    for row in event.registrations.values("status").annotate(n=models_count()):
        counts[row["status"]] = row["n"]
    return counts


def models_count() -> Any:
    from django.db.models import Count

    return Count("pk")


def upsert_registration(event: VirtualEvent, data: dict[str, Any]) -> tuple[Registration, bool]:
    """Store Graph's registration; return it and whether anything changed."""
    graph_id = str(data["id"])
    answers: list[dict[str, Any]] = [
        dict(a) for a in data.get("registrationQuestionAnswers") or [] if isinstance(a, dict)
    ]
    fields: dict[str, Any] = {
        "user_graph_id": str(data.get("userId") or ""),
        "first_name": str(data.get("firstName") or "")[:100],
        "last_name": str(data.get("lastName") or "")[:100],
        "email": str(data.get("email") or "")[:254],
        "status": str(data.get("status") or "registered")[:12],
        "registered_at": parse_moment(data.get("registrationDateTime")) or timezone.now(),
        "canceled_at": parse_moment(data.get("cancelationDateTime")),
        "answers": [
            a for a in data.get("registrationQuestionAnswers") or [] if isinstance(a, dict)
        ],
    }
    fields["search_text"] = (
        f"{fields['first_name']} {fields['last_name']} {fields['email']}".lower()[:460]
    )
    names = {q.graph_id: q.text for q in event.questions.all()}
    for answer in answers:
        if not answer.get("displayName"):
            answer["displayName"] = names.get(str(answer.get("questionId")), "")
    existing = Registration.objects.filter(event=event, graph_id=graph_id).first()
    if existing is None:
        return Registration.objects.create(event=event, graph_id=graph_id, **fields), True
    changed = any(getattr(existing, name) != value for name, value in fields.items())
    if changed:
        for name, value in fields.items():
            setattr(existing, name, value)
        existing.save()
    return existing, changed


_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_moment(value: Any) -> datetime | None:
    """Parse Graph's date-times (up to 7 fraction digits; no zone means UTC)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(_FRACTION.sub(r"\1", value.strip()).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def announce(event: VirtualEvent, registrations: list[Registration]) -> None:
    """Tell the event's open consoles about changed registrations, with the new counts."""
    from events.topics import event_topic

    if not registrations:
        return
    counts = counts_of(event)
    live.publish_many(
        (
            event_topic(event.pk),
            {"type": "registration", "registration": registration_row(r), "counts": counts},
        )
        for r in registrations
    )


def register_employee(
    user: User, event: VirtualEvent, answers: list[dict[str, Any]], time_zone: str
) -> Registration:
    """Register ``user`` for a webinar at Graph, as them."""
    try:
        made = api.register(
            client_as(user), event.graph_id, time_zone=time_zone, language="en-us", answers=answers
        )
    except Conflict as error:
        raise EventError("You are registered for this webinar already.") from error
    except GraphError as error:
        raise EventError(explain(error, "register you")) from error
    registration, _ = upsert_registration(event, made)
    announce(event, [registration])
    return registration


def cancel_own_registration(user: User, event: VirtualEvent, registration: Registration) -> None:
    """Cancel ``user``'s own registration at Graph, then read the list again."""
    try:
        api.cancel_registration(client_as(user), event.graph_id, registration.graph_id)
    except GraphError as error:
        raise EventError(explain(error, "cancel your registration")) from error
    # Someone on the wait list may have moved up: the whole list tells.
    try:
        sync_registrations(event)
    except GraphError:
        registration.status = Registration.Status.CANCELED
        registration.save(update_fields=["status"])
        announce(event, [registration])


def cancel_registration_as_organizer(
    user: User, event: VirtualEvent, registration: Registration
) -> None:
    """Cancel someone's registration as an organizer."""
    try:
        api.cancel_registration(client_as(user), event.graph_id, registration.graph_id)
    except GraphError as error:
        raise EventError(explain(error, "cancel the registration")) from error
    sync_registrations(event)


def sync_registrations(event: VirtualEvent, client: GraphClient | None = None) -> int:
    """Read every registration of a webinar again (as the app); return how many changed."""
    changed: list[Registration] = []
    for data in api.iter_registrations(client or graph_for_app(), event.graph_id):
        registration, did_change = upsert_registration(event, data)
        if did_change:
            changed.append(registration)
    announce(event, changed[-50:])
    return len(changed)


def read_attendance(event: VirtualEvent) -> int:
    """Read the sessions and their attendance reports (as the app); return the records read."""
    client = graph_for_app()
    collection: api.Collection = "webinars" if event.is_webinar else "townhalls"
    read = 0
    for data in api.list_sessions(client, collection, event.graph_id):
        starts = parse_moment(data.get("startDateTime")) or event.starts_at
        ends = parse_moment(data.get("endDateTime")) or event.ends_at
        session, _ = Session.objects.update_or_create(
            event=event,
            graph_id=str(data["id"]),
            defaults={
                "subject": str(data.get("subject") or "")[:255],
                "starts_at": starts,
                "ends_at": ends,
                "join_url": str(data.get("joinWebUrl") or "")[:1000],
            },
        )
        reports = api.list_attendance(client, collection, event.graph_id, session.graph_id)
        with transaction.atomic():
            session.attendance.all().delete()
            for report, records in reports:
                for record in records:
                    interval = (record.get("attendanceIntervals") or [{}])[0]
                    identity = record.get("identity") or {}
                    Attendance.objects.create(
                        session=session,
                        report_graph_id=str(report["id"]),
                        display_name=str(identity.get("displayName") or "")[:255],
                        email=str(record.get("emailAddress") or "")[:254],
                        role=str(record.get("role") or "")[:32],
                        seconds=int(record.get("totalAttendanceInSeconds") or 0),
                        joined_at=parse_moment(interval.get("joinDateTime")),
                        left_at=parse_moment(interval.get("leaveDateTime")),
                    )
                    read += 1
            session.attendance_read_at = timezone.now()
            session.save(update_fields=["attendance_read_at"])
    return read
