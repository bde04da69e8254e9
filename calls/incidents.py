"""Incident call-out: the bot joins the incident meeting and calls the team, Available first.

Each person called hears the message; pressing 1 moves their call into the meeting (an
invitation that replaces their call with the bot), pressing 2 declines. Whoever is not
reached is called again, up to the incident's number of attempts; Offline people are not
called. Only metadata is kept: who was called, when, and what they answered.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from calls import steps
from calls.bot import graph_for_bot
from calls.models import Call, Incident, IncidentTarget
from comms_portal.graph import GraphError
from comms_portal.graph import calls as graph_calls
from directory.models import Person

logger = logging.getLogger(__name__)

LISTEN = "incident"  # the clientContext of the message, waiting for 1 or 2
RETRY_AFTER = timedelta(seconds=60)
# Who is called first: Available, then those who may pick up, Do not disturb last.
CALL_ORDER = {
    "Available": 0,
    "AvailableIdle": 0,
    "Away": 1,
    "BeRightBack": 1,
    "Busy": 2,
    "BusyIdle": 2,
    "DoNotDisturb": 3,
}


def start_incident(
    *,
    title: str,
    message: str,
    join_url: str,
    people: list[Person],
    created_by: str,
    presence: dict[str, tuple[str, float]],
) -> Incident:
    """Join the incident meeting and call every person, Available first."""
    chat, meeting = graph_calls.meeting_from_join_url(join_url)
    bridge = graph_calls.create_call(
        graph_for_bot(),
        callback_uri=steps.callback_uri(),
        meeting_info=meeting,
        chat_info=chat,
        subject=title,
    )
    with transaction.atomic():
        incident = Incident.objects.create(
            title=title,
            message=message,
            join_url=join_url,
            bridge_call_id=bridge.id or "",
            created_by=created_by,
        )
        call = Call.objects.create(
            graph_id=bridge.id or "",
            purpose=Call.Purpose.BRIDGE,
            direction="outgoing",
            state=bridge.state or "establishing",
            caller_label=f"Incident: {title}"[:256],
            routing="In the incident meeting",
            incident=incident,
        )
        steps.event(call, "Joined the incident meeting.")
        steps.publish(call)
        for person in people:
            availability = presence.get(person.graph_id, ("Offline", 0.0))[0]
            IncidentTarget.objects.create(
                incident=incident,
                person=person,
                availability=availability,
                order=CALL_ORDER.get(availability, 9),
                state=IncidentTarget.State.WAITING
                if availability in CALL_ORDER
                else IncidentTarget.State.OFFLINE,
            )
    for target in incident.targets.filter(state=IncidentTarget.State.WAITING):
        place_call(target)
    return incident


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
    steps.play(call, "incident", LISTEN)


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
