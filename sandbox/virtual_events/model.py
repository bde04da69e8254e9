"""Webinars and town halls with their sessions, presenters, questions and registrations.

https://learn.microsoft.com/graph/api/resources/virtualeventwebinar
https://learn.microsoft.com/graph/api/resources/virtualeventtownhall
https://learn.microsoft.com/graph/api/resources/virtualeventregistration
https://learn.microsoft.com/graph/api/resources/virtualeventsession

Ids are ``{guid}@{tenant guid}`` for events and plain GUIDs for what they hold. A new event
is a ``draft``; its organizer publishes it and may cancel it, and a canceled event stays
readable but never changes again. A webinar with a capacity puts registrations beyond it on
the wait list, and moves the first waiting person up when a registered one cancels.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sandbox.graph.odata_types import format_graph_datetime
from sandbox.graph.routing import GraphError

EventKind = Literal["webinar", "townhall"]
STATUSES = ("draft", "published", "canceled")
AUDIENCES = frozenset({"everyone", "organization"})
ANSWER_INPUT_TYPES = frozenset({"text", "multilineText", "singleChoice", "multiChoice", "boolean"})
PREDEFINED_LABELS = {
    "street": "Address",
    "city": "City",
    "state": "State or province",
    "postalCode": "Zip or postal code",
    "countryOrRegion": "Country or region",
    "industry": "Industry",
    "jobTitle": "Job title",
    "organization": "Organization",
}
MAX_DISPLAY_NAME = 255
MAX_DESCRIPTION = 4_000
MAX_ANSWER = 1_000
MAX_QUESTIONS = 30
MAX_CHOICES = 25

# The Windows zones Graph writes most often, besides every IANA name and "UTC".
WINDOWS_ZONES = {
    "utc": "UTC",
    "coordinated universal time": "UTC",
    "gmt standard time": "Europe/London",
    "greenwich standard time": "Atlantic/Reykjavik",
    "w. europe standard time": "Europe/Berlin",
    "central europe standard time": "Europe/Budapest",
    "romance standard time": "Europe/Paris",
    "e. europe standard time": "Europe/Chisinau",
    "fle standard time": "Europe/Kiev",
    "eastern standard time": "America/New_York",
    "central standard time": "America/Chicago",
    "mountain standard time": "America/Denver",
    "pacific standard time": "America/Los_Angeles",
    "tokyo standard time": "Asia/Tokyo",
    "india standard time": "Asia/Kolkata",
    "china standard time": "Asia/Shanghai",
    "singapore standard time": "Asia/Singapore",
    "aus eastern standard time": "Australia/Sydney",
    "new zealand standard time": "Pacific/Auckland",
}


def bad_request(message: str) -> GraphError:
    return GraphError(400, "BadRequest", message)


def new_event_id(tenant_id: str) -> str:
    """Return an event id as Graph shapes it: ``{guid}@{tenant guid}``."""
    return f"{uuid.uuid4()}@{tenant_id}"


def zone_of(name: str) -> ZoneInfo:
    """Return the zone of a Windows or IANA time zone name, or raise Graph's 400."""
    if not isinstance(name, str) or not name.strip():
        raise bad_request("A dateTimeTimeZone needs a timeZone.")
    mapped = WINDOWS_ZONES.get(name.strip().lower(), name.strip())
    try:
        return ZoneInfo(mapped)
    except (ZoneInfoNotFoundError, ValueError):
        raise bad_request(f"The time zone '{name}' is not supported.") from None


def parse_date_time_time_zone(value: Any, name: str) -> tuple[datetime, str]:
    """Return the UTC moment of a dateTimeTimeZone and its zone name, or raise Graph's 400."""
    if not isinstance(value, dict) or not isinstance(value.get("dateTime"), str):
        raise bad_request(f"'{name}' must be a dateTimeTimeZone with dateTime and timeZone.")
    zone = zone_of(value.get("timeZone", ""))
    text = value["dateTime"].strip().rstrip("Z")
    try:
        local = datetime.fromisoformat(text[:26])
    except ValueError:
        raise bad_request(
            f"'{name}.dateTime' is not a date and time: {value['dateTime']!r}."
        ) from None
    if local.tzinfo is None:
        local = local.replace(tzinfo=zone)
    return local.astimezone(UTC), str(value["timeZone"])


def date_time_time_zone(moment: datetime, zone_name: str) -> dict[str, str]:
    """Write ``moment`` as a dateTimeTimeZone in the zone it was given in."""
    local = moment.astimezone(zone_of(zone_name))
    return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": zone_name}


@dataclass
class Question:
    """A registration question: a custom one, or one of the predefined labels."""

    id: str
    custom: bool
    display_name: str
    answer_input_type: str = "text"
    answer_choices: list[str] = field(default_factory=list)
    is_required: bool = False
    label: str | None = None

    def to_graph(self) -> dict[str, Any]:
        if self.custom:
            return {
                "@odata.type": "#microsoft.graph.virtualEventRegistrationCustomQuestion",
                "id": self.id,
                "displayName": self.display_name,
                "answerInputType": self.answer_input_type,
                "answerChoices": list(self.answer_choices),
                "isRequired": self.is_required,
            }
        return {
            "@odata.type": "#microsoft.graph.virtualEventRegistrationPredefinedQuestion",
            "id": self.id,
            "label": self.label,
            "displayName": self.display_name,
            "isRequired": self.is_required,
        }


@dataclass
class Registration:
    """One person's registration for a webinar."""

    id: str
    user_id: str | None
    first_name: str
    last_name: str
    email: str
    status: str
    registered_at: datetime
    preferred_timezone: str
    preferred_language: str
    answers: list[dict[str, Any]]
    canceled_at: datetime | None = None

    def to_graph(self) -> dict[str, Any]:
        return {
            "@odata.type": "#microsoft.graph.virtualEventRegistration",
            "id": self.id,
            "userId": self.user_id,
            "firstName": self.first_name,
            "lastName": self.last_name,
            "email": self.email,
            "status": self.status,
            "registrationDateTime": format_graph_datetime(self.registered_at),
            "cancelationDateTime": (
                format_graph_datetime(self.canceled_at) if self.canceled_at else None
            ),
            "preferredTimezone": self.preferred_timezone,
            "preferredLanguage": self.preferred_language,
            "registrationQuestionAnswers": [dict(answer) for answer in self.answers],
        }


@dataclass
class Presenter:
    """A presenter: a person of the tenant, or a guest named by e-mail address."""

    id: str
    email: str | None
    identity: dict[str, Any]

    def to_graph(self, kind: EventKind) -> dict[str, Any]:
        body: dict[str, Any] = {
            "@odata.type": "#microsoft.graph.virtualEventPresenter",
            "id": self.id,
            "email": self.email,
            "identity": dict(self.identity),
        }
        # Only a webinar's presenters have details; town halls' say null.
        body["presenterDetails"] = None
        return body


@dataclass
class AttendanceRecord:
    """One attendee's time in a session, metadata only."""

    id: str
    email: str | None
    display_name: str
    user_id: str | None
    role: str
    seconds: int
    joined: datetime
    left: datetime

    def to_graph(self, tenant_id: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "emailAddress": self.email,
            "totalAttendanceInSeconds": self.seconds,
            "role": self.role,
            "registrantId": None,
            "identity": {
                "@odata.type": "#microsoft.graph.communicationsUserIdentity",
                "id": self.user_id,
                "displayName": self.display_name,
                "tenantId": tenant_id if self.user_id else None,
            },
            "attendanceIntervals": [
                {
                    "joinDateTime": format_graph_datetime(self.joined),
                    "leaveDateTime": format_graph_datetime(self.left),
                    "durationInSeconds": self.seconds,
                }
            ],
        }


@dataclass
class AttendanceReport:
    """What one run of a session looked like."""

    id: str
    started: datetime
    ended: datetime
    records: list[AttendanceRecord]

    def to_graph(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "totalParticipantCount": len(self.records),
            "meetingStartDateTime": format_graph_datetime(self.started),
            "meetingEndDateTime": format_graph_datetime(self.ended),
        }


# Meeting options a session carries as an onlineMeetingBase; the sandbox sets none of them.
_SESSION_UNSET = (
    "broadcastSettings",
    "audioConferencing",
    "videoTeleconferenceId",
    "externalId",
    "joinMeetingIdSettings",
    "lobbyBypassSettings",
    "isEntryExitAnnounced",
    "allowedPresenters",
    "allowAttendeeToEnableMic",
    "allowAttendeeToEnableCamera",
    "allowMeetingChat",
    "shareMeetingChatHistoryDefault",
    "allowTeamworkReactions",
    "recordAutomatically",
    "watermarkProtection",
    "allowParticipantsToChangeName",
)


@dataclass
class Session:
    """A session of an event: an online meeting with a start and an end."""

    id: str
    subject: str
    start: datetime
    end: datetime
    join_url: str
    thread_id: str
    reports: list[AttendanceReport] = field(default_factory=list)

    def to_graph(self) -> dict[str, Any]:
        return {
            "@odata.type": "#microsoft.graph.virtualEventSession",
            "id": self.id,
            "startDateTime": format_graph_datetime(self.start),
            "endDateTime": format_graph_datetime(self.end),
            "joinWebUrl": self.join_url,
            "subject": self.subject,
            "participants": {"@odata.type": "microsoft.graph.meetingParticipants"},
            "isBroadcast": None,
            "capabilities": [],
            "chatInfo": {"threadId": self.thread_id, "messageId": "0", "replyChainMessageId": None},
            **dict.fromkeys(_SESSION_UNSET),
        }


@dataclass
class VirtualEvent:
    """A webinar or a town hall."""

    id: str
    kind: EventKind
    tenant_id: str
    organizer_id: str
    organizer_name: str
    display_name: str
    description: dict[str, str]
    start: datetime
    end: datetime
    start_zone: str
    end_zone: str
    audience: str
    created_at: datetime
    co_organizers: list[dict[str, str]] = field(default_factory=list)
    invited_attendees: list[dict[str, Any]] = field(default_factory=list)
    is_invite_only: bool = False
    attendee_emails: bool = True
    status: str = "draft"
    capacity: int | None = None
    waitlist_enabled: bool = True
    questions: list[Question] = field(default_factory=list)
    registrations: dict[str, Registration] = field(default_factory=dict)
    presenters: list[Presenter] = field(default_factory=list)
    sessions: list[Session] = field(default_factory=list)
    # Registration ids by lower-case object id (and "mail:" + address), and how many are
    # registered (not wait-listed or canceled), so that big webinars stay quick.
    by_person: dict[str, str] = field(default_factory=dict, repr=False)
    registered: int = 0

    @property
    def graph_type(self) -> str:
        return (
            "#microsoft.graph.virtualEventWebinar"
            if self.kind == "webinar"
            else "#microsoft.graph.virtualEventTownhall"
        )

    @property
    def collection(self) -> str:
        return "webinars" if self.kind == "webinar" else "townhalls"

    def co_organizer_ids(self) -> set[str]:
        return {str(one.get("id", "")).lower() for one in self.co_organizers}

    def is_organizer(self, user_id: str | None) -> bool:
        return user_id is not None and user_id.lower() == self.organizer_id.lower()

    def is_co_organizer(self, user_id: str | None) -> bool:
        return user_id is not None and user_id.lower() in self.co_organizer_ids()

    def is_presenter(self, user_id: str | None) -> bool:
        return user_id is not None and any(
            str(p.identity.get("id", "")).lower() == user_id.lower() for p in self.presenters
        )

    def is_invited(self, user_id: str | None) -> bool:
        return user_id is not None and any(
            str(one.get("id", "")).lower() == user_id.lower() for one in self.invited_attendees
        )

    def registration_of(self, user_id: str) -> Registration | None:
        """Return a person's registration (the latest, canceled or not), by object id."""
        found = self.by_person.get(user_id.lower())
        return self.registrations.get(found) if found else None

    def registration_by_email(self, email: str) -> Registration | None:
        found = self.by_person.get("mail:" + email.lower())
        return self.registrations.get(found) if found else None

    def registered_count(self) -> int:
        return self.registered

    def registration_web_url(self) -> str:
        return f"https://events.teams.microsoft.com/event/{self.id}"

    def to_graph(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "@odata.type": self.graph_type,
            "id": self.id,
            "status": self.status,
            "displayName": self.display_name,
            "description": dict(self.description),
            "startDateTime": date_time_time_zone(self.start, self.start_zone),
            "endDateTime": date_time_time_zone(self.end, self.end_zone),
            "audience": self.audience,
            "createdBy": {
                "application": None,
                "device": None,
                "user": {
                    "@odata.type": "#microsoft.graph.communicationsUserIdentity",
                    "id": self.organizer_id,
                    "displayName": self.organizer_name,
                    "tenantId": self.tenant_id,
                },
            },
            "coOrganizers": [dict(one) for one in self.co_organizers],
            "settings": {"isAttendeeEmailNotificationEnabled": self.attendee_emails},
        }
        if self.kind == "townhall":
            body["invitedAttendees"] = [dict(one) for one in self.invited_attendees]
            body["isInviteOnly"] = self.is_invite_only
        return body

    def registration_configuration(self) -> dict[str, Any]:
        kind = "Webinar" if self.kind == "webinar" else "Townhall"
        return {
            "@odata.type": f"#microsoft.graph.virtualEvent{kind}RegistrationConfiguration",
            "id": self.id,
            "capacity": self.capacity,
            "registrationWebUrl": self.registration_web_url(),
            "isManualApprovalEnabled": False,
            "isWaitlistEnabled": self.waitlist_enabled,
        }


def new_session(event: VirtualEvent) -> Session:
    """Return the one session an event is created with, spanning the event."""
    meeting = uuid.uuid4().hex
    thread = f"19:meeting_{meeting}@thread.v2"
    return Session(
        id=str(uuid.uuid4()),
        subject=event.display_name,
        start=event.start,
        end=event.end,
        join_url=f"https://teams.microsoft.com/l/meetup-join/{thread.replace(':', '%3a')}/0",
        thread_id=thread,
    )


@dataclass
class VirtualEventStore:
    """Every event of the tenant, and who has an application access policy."""

    events: dict[str, VirtualEvent] = field(default_factory=dict)
    # People whose events apps may read with application permissions; None means the policy
    # is granted tenant-wide (Grant-CsApplicationAccessPolicy -Global).
    policy_users: set[str] | None = None

    def get(self, event_id: str, kind: EventKind | None = None) -> VirtualEvent | None:
        event = self.events.get(event_id.lower())
        if event is None or (kind is not None and event.kind != kind):
            return None
        return event

    def add(self, event: VirtualEvent) -> None:
        self.events[event.id.lower()] = event

    def has_policy(self, user_id: str) -> bool:
        return self.policy_users is None or user_id.lower() in self.policy_users

    def of_kind(self, kind: EventKind) -> list[VirtualEvent]:
        return sorted(
            (event for event in self.events.values() if event.kind == kind),
            key=lambda event: event.created_at,
        )


def register(
    event: VirtualEvent,
    *,
    user_id: str | None,
    first_name: str,
    last_name: str,
    email: str,
    preferred_timezone: str,
    preferred_language: str,
    answers: list[dict[str, Any]],
    now: datetime,
    registration_id: str | None = None,
) -> Registration:
    """Add a registration, wait-listed when the webinar is full; raise Graph's error if refused."""
    if event.kind != "webinar":
        raise bad_request("Only webinars take registrations.")
    if event.status != "published":
        raise bad_request(f"Registration is not open: the webinar is {event.status}.")
    if event.end <= now:
        raise bad_request("Registration is closed: the webinar has ended.")
    taken = event.registration_of(user_id) if user_id else event.registration_by_email(email)
    if taken is not None and taken.status != "canceled":
        raise GraphError(409, "Conflict", "This person is already registered for the webinar.")
    status = "registered"
    if event.capacity is not None and event.registered_count() >= event.capacity:
        if not event.waitlist_enabled:
            raise bad_request("The webinar is full.")
        status = "waitlisted"
    registration = Registration(
        id=registration_id or str(uuid.uuid4()),
        user_id=user_id,
        first_name=first_name,
        last_name=last_name,
        email=email,
        status=status,
        registered_at=now,
        preferred_timezone=preferred_timezone,
        preferred_language=preferred_language,
        answers=answers,
    )
    if taken is not None:
        # A canceled registration is replaced by the new one.
        del event.registrations[taken.id]
    event.registrations[registration.id] = registration
    if user_id:
        event.by_person[user_id.lower()] = registration.id
    event.by_person["mail:" + email.lower()] = registration.id
    event.registered += status == "registered"
    return registration


def cancel_registration(
    event: VirtualEvent, registration: Registration, now: datetime
) -> list[Registration]:
    """Cancel a registration; return it and whoever moved up from the wait list."""
    if registration.status == "canceled":
        raise bad_request("The registration is canceled already.")
    was_registered = registration.status == "registered"
    registration.status = "canceled"
    registration.canceled_at = now
    changed = [registration]
    event.registered -= was_registered
    if was_registered:
        waiting = sorted(
            (r for r in event.registrations.values() if r.status == "waitlisted"),
            key=lambda r: r.registered_at,
        )
        if waiting:
            waiting[0].status = "registered"
            event.registered += 1
            changed.append(waiting[0])
    return changed


def check_answers(event: VirtualEvent, raw: Any) -> list[dict[str, Any]]:
    """Validate registrationQuestionAnswers against the event's questions; return them named."""
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise bad_request("'registrationQuestionAnswers' must be an array.")
    questions = {question.id.lower(): question for question in event.questions}
    answered: dict[str, dict[str, Any]] = {}
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("questionId"), str):
            raise bad_request("Each answer needs a questionId.")
        question = questions.get(item["questionId"].lower())
        if question is None:
            raise bad_request(f"The question '{item['questionId']}' is not asked by this event.")
        if question.id.lower() in answered:
            raise bad_request(f"The question '{question.id}' is answered twice.")
        answered[question.id.lower()] = _checked_answer(question, item)
    for question in event.questions:
        if question.is_required and not _is_answered(answered.get(question.id.lower())):
            raise bad_request(f"The question '{question.display_name}' requires an answer.")
    return list(answered.values())


def _is_answered(answer: dict[str, Any] | None) -> bool:
    if answer is None:
        return False
    return bool(
        (answer.get("value") or "").strip()
        or answer.get("booleanValue") is not None
        or answer.get("multiChoiceValues")
    )


def _checked_answer(question: Question, item: dict[str, Any]) -> dict[str, Any]:
    value = item.get("value")
    boolean = item.get("booleanValue")
    choices = item.get("multiChoiceValues") or []
    if value is not None and (not isinstance(value, str) or len(value) > MAX_ANSWER):
        raise bad_request(
            f"The answer to '{question.display_name}' must be text up to {MAX_ANSWER}."
        )
    if boolean is not None and not isinstance(boolean, bool):
        raise bad_request(f"The answer to '{question.display_name}' must be true or false.")
    if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
        raise bad_request("'multiChoiceValues' must be an array of strings.")
    kind = question.answer_input_type if question.custom else "text"
    if kind == "boolean" and (value is not None or choices):
        raise bad_request(f"'{question.display_name}' takes a booleanValue.")
    if kind in ("text", "multilineText") and (boolean is not None or choices):
        raise bad_request(f"'{question.display_name}' takes a text value.")
    if kind in ("singleChoice", "multiChoice"):
        if value is not None or boolean is not None:
            raise bad_request(f"'{question.display_name}' takes multiChoiceValues.")
        if kind == "singleChoice" and len(choices) > 1:
            raise bad_request(f"'{question.display_name}' takes one choice.")
        for choice in choices:
            if choice not in question.answer_choices:
                raise bad_request(f"'{choice}' is not a choice of '{question.display_name}'.")
        if len(set(choices)) != len(choices):
            raise bad_request(f"A choice of '{question.display_name}' is repeated.")
    return {
        "questionId": question.id,
        "displayName": question.display_name,
        "value": value,
        "booleanValue": boolean,
        "multiChoiceValues": list(choices),
    }


def attendance_for(
    event: VirtualEvent,
    started: datetime,
    ended: datetime,
    rng: random.Random,
    share: float = 0.7,
    new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> AttendanceReport:
    """Make the attendance of a session run: the organizer and some of those registered."""
    seconds = max(60, int((ended - started).total_seconds()))
    records = [
        AttendanceRecord(
            id=new_id(),
            email=None,
            display_name=event.organizer_name,
            user_id=event.organizer_id,
            role="Organizer",
            seconds=seconds,
            joined=started,
            left=ended,
        )
    ]
    for registration in event.registrations.values():
        if registration.status != "registered" or rng.random() >= share:
            continue
        late = int(rng.random() * seconds / 3)
        records.append(
            AttendanceRecord(
                id=new_id(),
                email=registration.email,
                display_name=f"{registration.first_name} {registration.last_name}".strip(),
                user_id=registration.user_id,
                role="Attendee",
                seconds=seconds - late,
                joined=started + timedelta(seconds=late),
                left=ended,
            )
        )
    return AttendanceReport(id=new_id(), started=started, ended=ended, records=records)
