"""Incident call-out: the bot creates a Teams meeting, joins it, and calls the team.

The meeting is created app-only for the admin who starts the call-out (they organise it, the
people called are its attendees); an admin may instead give the link of a meeting that already
exists. Each person called hears the message, spoken by the server's synthesizer (or, where
it cannot be, a recorded notice; see ``calls.speech``); pressing 1 moves their call into the
meeting (an invitation that replaces their call with the bot), pressing 2 declines. Whoever is
not reached is called again, up to the incident's number of attempts. People are called
Available first and Do not disturb last; Offline people are not called unless the admin asked
for it; within each presence, whoever has been in it longest is called first (free longest).
Only metadata is kept: who was called, when, and what they answered.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from calls import speech, steps
from calls.bot import graph_for_bot
from calls.models import Call, Incident, IncidentTarget
from comms_portal.graph import GraphError
from comms_portal.graph import calls as graph_calls
from comms_portal.graph import meetings as graph_meetings
from directory.models import Person

logger = logging.getLogger(__name__)

LISTEN = "incident"  # the clientContext of the message, waiting for 1 or 2
RETRY_AFTER = timedelta(seconds=60)
MEETING_LENGTH = timedelta(hours=1)
# Who is called first: Available, then those who may pick up, Do not disturb last.
CALL_ORDER = {
    "Available": 0,
    "AvailableIdle": 0,
    "Away": 1,
    "BeRightBack": 1,
    "Busy": 2,
    "BusyIdle": 2,
    "DoNotDisturb": 4,
}
# Offline (or unknown) people, when the admin asks for them, come before Do not disturb.
OFFLINE_ORDER = 3


class MeetingRefused(Exception):
    """Graph would not create the incident meeting; the message says why, for the admin."""

    def __init__(self, message: str, error: GraphError) -> None:
        super().__init__(message)
        self.message = message
        self.error = error


def call_order(availability: str, *, call_offline: bool) -> int | None:
    """Return where a person of this availability comes, or None when they are not called."""
    if availability in CALL_ORDER:
        return CALL_ORDER[availability]
    return OFFLINE_ORDER if call_offline else None


@dataclass(frozen=True)
class PlannedCall:
    """One person of a call-out as planned: presence, and when (or whether) they are called."""

    person: Person
    availability: str
    # 1 for the first called; None when they are not called (Offline, not asked for).
    position: int | None
    rank: int

    @property
    def called(self) -> bool:
        return self.position is not None


def plan(
    people: list[Person], presence: dict[str, tuple[str, float]], *, call_offline: bool
) -> list[PlannedCall]:
    """Return whom a call-out calls and in what order, those not called last.

    Within the same group, whoever has been in their presence longest comes first, as the
    reception line gives a call to the Available member free longest; ties go by name.
    """
    ranked = []
    for index, person in enumerate(people):
        availability, since = presence.get(person.graph_id, ("Offline", 0.0))
        order = call_order(availability, call_offline=call_offline)
        rank = OFFLINE_ORDER if order is None else order
        ranked.append((order is None, rank, since, person.display_name, index, person))
    ranked.sort(key=lambda item: item[:5])
    planned, position = [], 0
    for skipped, rank, _, _, _, person in ranked:
        position += 0 if skipped else 1
        planned.append(
            PlannedCall(
                person=person,
                availability=presence.get(person.graph_id, ("Offline", 0.0))[0],
                position=None if skipped else position,
                rank=rank,
            )
        )
    return planned


def gather(team: list[Person], *, also: list[Person], leave_out: set[str]) -> list[Person]:
    """Return a team's members with people added and some left out, each once."""
    chosen = {person.graph_id: person for person in [*team, *also]}
    return [person for graph_id, person in chosen.items() if graph_id not in leave_out]


def create_meeting(*, title: str, organizer_id: str, people: list[Person]) -> tuple[str, str]:
    """Create the incident meeting for the organizer; return its id and join link."""
    start = timezone.now()
    body = graph_meetings.meeting_body(
        subject=title,
        start=start,
        end=start + MEETING_LENGTH,
        attendees=[graph_meetings.attendee_json(p.graph_id) for p in people],
    )
    try:
        meeting = graph_meetings.create_meeting(graph_for_bot(), body, user_id=organizer_id)
    except GraphError as error:
        if error.status == 403:
            message = (
                "Microsoft Graph refused to create the incident meeting in your name "
                f"({error.message}). The tenant's administrator must give the calling bot an "
                "application access policy for online meetings that includes you; until then, "
                "give the link of an existing meeting instead."
            )
        else:
            message = f"Microsoft Graph did not create the incident meeting: {error.message}"
        raise MeetingRefused(message, error) from error
    return meeting.id, meeting.join_web_url


def start_incident(
    *,
    title: str,
    message: str,
    people: list[Person],
    created_by: str,
    presence: dict[str, tuple[str, float]],
    organizer_id: str = "",
    join_url: str = "",
    call_offline: bool = False,
    team_label: str = "",
) -> Incident:
    """Create (or take) the incident meeting, join it, and call every person in order.

    Without ``join_url`` the bot creates a meeting organised by ``organizer_id``. Raises
    MeetingRefused when Graph will not create it, GraphError when the bot cannot join.
    """
    # Spoken first: the people called hear it within seconds of the calls being placed.
    spoken = speech.speak(speech.script(title=title, message=message))
    meeting_id = ""
    if not join_url:
        meeting_id, join_url = create_meeting(title=title, organizer_id=organizer_id, people=people)
    chat, meeting = graph_calls.meeting_from_join_url(join_url)
    try:
        bridge = graph_calls.create_call(
            graph_for_bot(),
            callback_uri=steps.callback_uri(),
            meeting_info=meeting,
            chat_info=chat,
            subject=title,
        )
    except GraphError:
        if meeting_id:
            _forget_meeting(meeting_id, organizer_id)
        raise
    with transaction.atomic():
        incident = Incident.objects.create(
            title=title,
            message=message,
            join_url=join_url,
            meeting_id=meeting_id,
            organizer_id=organizer_id,
            call_offline=call_offline,
            team_label=team_label[:300],
            bridge_call_id=bridge.id or "",
            created_by=created_by,
        )
        speech.keep(incident=incident, spoken=spoken)
        call = Call.objects.create(
            graph_id=bridge.id or "",
            purpose=Call.Purpose.BRIDGE,
            direction="outgoing",
            state=bridge.state or "establishing",
            caller_label=f"Incident: {title}"[:256],
            routing="In the incident meeting",
            incident=incident,
        )
        if meeting_id:
            steps.event(call, "Created the incident meeting in Teams.")
        steps.event(call, "Joined the incident meeting.")
        steps.publish(call)
        for planned in plan(people, presence, call_offline=call_offline):
            IncidentTarget.objects.create(
                incident=incident,
                person=planned.person,
                availability=planned.availability,
                order=planned.rank,
                state=IncidentTarget.State.WAITING
                if planned.called
                else IncidentTarget.State.OFFLINE,
            )
    for target in incident.targets.filter(state=IncidentTarget.State.WAITING):
        place_call(target)
    return incident


def _forget_meeting(meeting_id: str, organizer_id: str) -> None:
    """Delete a meeting the bot made but could not join, so no empty meeting is left."""
    try:
        graph_meetings.delete_meeting(graph_for_bot(), meeting_id, user_id=organizer_id)
    except GraphError as error:
        logger.warning("incident meeting %s could not be deleted: %s", meeting_id, error)


def place_call(target: IncidentTarget) -> None:
    """Call one person of the incident."""
    person = target.person
    try:
        created = graph_calls.create_call(
            graph_for_bot(),
            callback_uri=steps.callback_uri(),
            targets=[graph_calls.identity("user", person.graph_id, person.display_name)],
            subject=target.incident.title,
        )
    except GraphError as error:
        logger.warning("incident %s: calling %s failed: %s", target.incident_id, person.pk, error)
        _not_reached(target)
        return
    with transaction.atomic():
        target.attempts += 1
        target.state = IncidentTarget.State.CALLING
        target.retry_at = None
        target.save()
        call = Call.objects.create(
            graph_id=created.id or "",
            purpose=Call.Purpose.INCIDENT,
            direction="outgoing",
            state=created.state or "establishing",
            caller_label=person.display_name,
            routed_to=person,
            routing=f"Calling out for {target.incident.title}"[:256],
            incident=target.incident,
            incident_target=target,
        )
        steps.event(call, f"Calling {person.display_name} (attempt {target.attempts}).")
        steps.publish(call)


def on_established(call: Call) -> None:
    """The person answered: they hear the message and may press 1 or 2."""
    target = call.incident_target
    if target is None:
        return
    target.state = IncidentTarget.State.LISTENING
    target.save(update_fields=["state", "updated_at"])
    call.routing = "Hearing the message"
    graph_calls.subscribe_to_tone(graph_for_bot(), call.graph_id, client_context="tones")
    uri = speech.message_uri(target.incident)
    if uri is None:
        # Not spoken (or deleted after its retention): the recorded notice instead.
        steps.play(call, "incident", LISTEN)
        return
    call.waiting_for = LISTEN
    call.save(update_fields=["waiting_for", "routing", "updated_at"])
    graph_calls.play_prompt(graph_for_bot(), call.graph_id, prompts=[uri], client_context=LISTEN)


def on_tone(call: Call, digit: str) -> None:
    """1 moves the person into the meeting; 2 declines."""
    target = call.incident_target
    incident = call.incident
    if target is None or incident is None or call.waiting_for != LISTEN:
        return
    if digit == "1":
        graph_calls.invite(
            graph_for_bot(),
            incident.bridge_call_id,
            participants=[
                {
                    **graph_calls.identity(
                        "user", target.person.graph_id, target.person.display_name
                    ),
                    "replacesCallId": call.graph_id,
                }
            ],
            client_context="incident-join",
        )
        target.state = IncidentTarget.State.JOINED
        call.routing = "Joined the incident meeting"
        call.waiting_for = ""
        steps.event(call, f"{target.person.display_name} pressed 1 and joins the meeting.")
    elif digit == "2":
        target.state = IncidentTarget.State.DECLINED
        call.routing = "Declined"
        steps.event(call, f"{target.person.display_name} declined.")
        steps.play(call, "goodbye", "bye")
    else:
        return
    target.save(update_fields=["state", "updated_at"])
    call.save(update_fields=["routing", "waiting_for", "updated_at"])
    speech.forget_if_over(incident)


def on_ended(call: Call) -> None:
    """A call of the call-out ended: try again later unless the person answered 1 or 2."""
    target = call.incident_target
    if target is None:
        return
    target.refresh_from_db()
    if target.state in (IncidentTarget.State.CALLING, IncidentTarget.State.LISTENING):
        _not_reached(target)


def _not_reached(target: IncidentTarget) -> None:
    if target.attempts < target.incident.max_attempts:
        target.state = IncidentTarget.State.RETRY
        target.retry_at = timezone.now() + RETRY_AFTER
    else:
        target.state = IncidentTarget.State.UNREACHED
    target.save(update_fields=["state", "retry_at", "updated_at"])
    speech.forget_if_over(target.incident)


def retry_call_outs() -> int:
    """Call again the people not reached whose retry time came; return how many."""
    due = IncidentTarget.objects.filter(
        state=IncidentTarget.State.RETRY, retry_at__lte=timezone.now()
    ).select_related("incident", "person")
    placed = 0
    for target in due:
        place_call(target)
        placed += 1
    return placed
