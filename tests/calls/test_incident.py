"""Incident call-out against the sandbox: the bot creates the meeting and joins it, calls
Available first and Do not disturb last, 1 joins, 2 declines, the unreached are called again,
Offline people only when the admin asks; a meeting Graph refuses is told on the form."""

# Fixtures are imported by name, so their parameters shadow them.
# ruff: noqa: F811

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote, unquote

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from calls import incidents, services
from calls.models import Call, Incident, IncidentTarget
from comms_portal.graph.calls import meeting_from_join_url
from tests.calls.support import (  # noqa: F401  (fixtures)
    CallbackPump,
    bot_webhook,
    control,
    receiver,
    sandbox_info,
    set_presence,
    user_id,
)
from tests.calls.test_reception_flow import AIKO, GRACE, LENA, SAMUEL, ended, person
from tests.presence.engine_fixtures import clean_presence  # noqa: F401  (fixture)
from tests.support.cast import MARCUS, MEGAN
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_presence")]


def join_url() -> str:
    context = quote(f'{{"Tid":"{sandbox_info()["tenant_id"]}","Oid":"{user_id(GRACE)}"}}')
    return (
        "https://teams.microsoft.com/l/meetup-join/19%3ameeting_incident%40thread.v2/0"
        f"?context={context}"
    )


def sandbox_meeting(meeting_id: str) -> dict[str, Any]:
    meetings = control("GET", "/meetings").json()["value"]
    return dict(next(m for m in meetings if m["id"] == meeting_id))


def bot_calls() -> list[dict[str, Any]]:
    return list(control("GET", "/calls").json()["calls"])


def admin_client(*, object_id: str = "") -> Client:
    admin = Client()
    admin.force_login(
        User.objects.create(
            username="megan",
            display_name="Megan Reyes",
            is_portal_admin=True,
            tenant_id=sandbox_info()["tenant_id"],
            object_id=object_id,
        )
    )
    return admin


def target(upn: str) -> IncidentTarget:
    return IncidentTarget.objects.select_related("person").get(person__graph_id=user_id(upn))


def listening(pump: CallbackPump, upn: str) -> Call:
    return pump.until(
        lambda: (
            Call.objects.filter(
                incident_target__person__graph_id=user_id(upn), waiting_for="incident"
            )
            .exclude(state="terminated")
            .first()
        )
    )


def test_a_call_out_creates_the_meeting_and_gathers_the_team(
    bot_webhook: WebhookReceiver,
) -> None:
    set_presence(GRACE, "Available", "Available")
    set_presence(LENA, "Available", "Available")
    set_presence(SAMUEL, "Busy", "InACall")
    set_presence(MARCUS, "DoNotDisturb", "Presenting")
    set_presence(AIKO, "Offline", "Offline")
    pump = CallbackPump(bot_webhook)
    people = [person(MARCUS), person(SAMUEL), person(AIKO), person(GRACE), person(LENA)]

    incident = services.start_call_out(
        title="Payments down",
        message="Payments fail for every customer.",
        people=people,
        created_by="Megan Reyes",
        organizer_id=user_id(MEGAN),
    )

    # The bot made a Teams meeting in Megan's name, with the team invited, and joined it.
    meeting = sandbox_meeting(incident.meeting_id)
    assert meeting["organizerId"] == user_id(MEGAN)
    assert meeting["subject"] == "Payments down"
    assert meeting["joinWebUrl"] == incident.join_url
    bridge_in_sandbox = next(c for c in bot_calls() if c["id"] == incident.bridge_call_id)
    assert bridge_in_sandbox["meetingInfo"]["organizer"]["user"]["id"] == user_id(MEGAN)
    assert bridge_in_sandbox["chatInfo"]["threadId"] in unquote(incident.join_url)
    # Available first, Busy next, Do not disturb last; Offline not called.
    order = [t.person.graph_id for t in incident.targets.exclude(state="offline")]
    assert set(order[:2]) == {user_id(GRACE), user_id(LENA)}
    assert order[2:] == [user_id(SAMUEL), user_id(MARCUS)]
    assert target(AIKO).state == "offline" and target(AIKO).attempts == 0
    grace_call = listening(pump, GRACE)
    control("POST", f"/calls/{grace_call.graph_id}/tones", {"tones": "1"})
    pump.until(lambda: target(GRACE).state == "joined")
    bridge = Call.objects.get(graph_id=incident.bridge_call_id)
    pump.until(lambda: bridge.participants.filter(person__graph_id=user_id(GRACE)).exists())
    assert ended(pump, grace_call).result_subcode == "7015"

    lena_call = listening(pump, LENA)
    control("POST", f"/calls/{lena_call.graph_id}/tones", {"tones": "2"})
    ended(pump, lena_call)
    assert target(LENA).state == "declined"

    pump.until(lambda: target(SAMUEL).state == "retry")
    assert target(SAMUEL).attempts == 1
    pump.until(lambda: target(MARCUS).state == "retry")
    assert incidents.retry_call_outs() == 0
    set_presence(SAMUEL, "Available", "Available")
    IncidentTarget.objects.filter(pk=target(SAMUEL).pk).update(
        retry_at=timezone.now() - timedelta(seconds=1)
    )
    assert incidents.retry_call_outs() == 1
    samuel_call = listening(pump, SAMUEL)
    control("POST", f"/calls/{samuel_call.graph_id}/tones", {"tones": "1"})
    pump.until(lambda: target(SAMUEL).state == "joined")
    assert target(SAMUEL).attempts == 2

    admin = admin_client()
    page = admin.get(reverse("calls:incident", args=[incident.pk])).content.decode()
    assert 'data-meeting="created"' in page and incident.join_url.replace("&", "&amp;") in page
    live = admin.get(reverse("calls:incident_live", args=[incident.pk])).content.decode()
    assert "Joined the meeting" in live and "Declined" in live and "Offline: not called" in live
    assert "No answer: will try again" in live
    services.hang_up(call=bridge)
    ended(pump, bridge)


def test_the_form_starts_a_call_out_that_calls_offline_people_when_asked(
    bot_webhook: WebhookReceiver,
) -> None:
    set_presence(GRACE, "Available", "Available")
    set_presence(SAMUEL, "DoNotDisturb", "Presenting")
    set_presence(AIKO, "Offline", "Offline")
    pump = CallbackPump(bot_webhook)
    people = [person(SAMUEL), person(AIKO), person(GRACE)]
    admin = admin_client(object_id=user_id(MEGAN))

    answer = admin.post(
        reverse("calls:incidents"),
        {
            "title": "Database failover",
            "message": "The primary database failed over.",
            "kind": "list",
            "people": ",".join(p.graph_id for p in people),
            "call_offline": "on",
            "step": "start",
        },
    )

    incident = Incident.objects.get()
    assert answer.status_code == 302
    assert answer["Location"] == reverse("calls:incident", args=[incident.pk])
    assert incident.call_offline and incident.organizer_id == user_id(MEGAN)
    assert sandbox_meeting(incident.meeting_id)["organizerId"] == user_id(MEGAN)
    # Offline comes after everyone else but Do not disturb, and is called.
    order = [t.person.graph_id for t in incident.targets.all()]
    assert order == [user_id(GRACE), user_id(AIKO), user_id(SAMUEL)]
    assert target(AIKO).state != "offline" and target(AIKO).attempts == 1
    assert Call.objects.filter(incident_target=target(AIKO)).exists()
    bridge = Call.objects.get(graph_id=incident.bridge_call_id)
    services.hang_up(call=bridge)
    ended(pump, bridge)


def test_a_meeting_graph_refuses_is_told_on_the_form_which_is_kept(
    bot_webhook: WebhookReceiver,
) -> None:
    set_presence(GRACE, "Available", "Available")
    admin = admin_client(object_id=user_id(MEGAN))
    calls_before = len(bot_calls())
    meetings_before = len(control("GET", "/meetings").json()["value"])
    control("POST", "/meetings/access-policy", {"everyone": False})
    try:
        answer = admin.post(
            reverse("calls:incidents"),
            {
                "title": "Network outage",
                "message": "The office network is down.",
                "kind": "list",
                "people": person(GRACE).graph_id,
                "call_offline": "on",
                "step": "start",
            },
        )
    finally:
        control("POST", "/meetings/access-policy", {"everyone": True})

    page = answer.content.decode()
    assert answer.status_code == 400
    assert "refused to create the incident meeting" in page
    assert "application access policy" in page and 'role="alert"' in page
    # What the admin wrote, and whom they chose, are still there.
    assert 'value="Network outage"' in page and "The office network is down." in page
    assert f'value="{user_id(GRACE)}"' in page and "checked" in page
    assert not Incident.objects.exists()
    assert len(bot_calls()) == calls_before
    assert len(control("GET", "/meetings").json()["value"]) == meetings_before


def test_without_an_organizer_the_form_asks_for_an_existing_meeting() -> None:
    admin = admin_client()

    answer = admin.post(
        reverse("calls:incidents"),
        {
            "title": "x",
            "message": "y",
            "kind": "person",
            "people": person(GRACE).graph_id,
            "step": "start",
        },
    )

    assert answer.status_code == 400
    assert "give the link of an existing meeting" in answer.content.decode()
    assert not Incident.objects.exists()


@pytest.mark.parametrize(
    ("availability", "call_offline", "expected"),
    [
        ("Available", False, 0),
        ("AvailableIdle", False, 0),
        ("Away", False, 1),
        ("BeRightBack", False, 1),
        ("Busy", False, 2),
        ("BusyIdle", False, 2),
        ("DoNotDisturb", False, 4),
        ("Offline", False, None),
        ("PresenceUnknown", False, None),
        ("Offline", True, 3),
        ("PresenceUnknown", True, 3),
        ("DoNotDisturb", True, 4),
    ],
)
def test_people_are_called_available_first_and_do_not_disturb_last(
    availability: str, call_offline: bool, expected: int | None
) -> None:
    assert incidents.call_order(availability, call_offline=call_offline) == expected


def test_someone_never_reached_is_given_up_after_the_last_attempt(
    bot_webhook: WebhookReceiver,
) -> None:
    set_presence(SAMUEL, "DoNotDisturb", "Presenting")
    pump = CallbackPump(bot_webhook)
    # An existing meeting's link may still be given: the bot joins it and creates none.
    incident = services.start_call_out(
        title="Disk full",
        message="The disk is full.",
        join_url=join_url(),
        people=[person(SAMUEL)],
        created_by="Megan Reyes",
    )
    Incident.objects.filter(pk=incident.pk).update(max_attempts=1)

    pump.until(lambda: target(SAMUEL).state == "unreached")

    assert incident.meeting_id == "" and incident.join_url == join_url()
    assert target(SAMUEL).attempts == 1
    bridge = Call.objects.get(graph_id=incident.bridge_call_id)
    services.hang_up(call=bridge)
    ended(pump, bridge)


@pytest.mark.parametrize(
    "link",
    [
        "https://example.org/meeting",
        "http://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0?context=%7b%7d",
        "https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0?context=nope",
        "https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0?context=%7b%7d",
        "https://teams.microsoft.com/l/meetup-join/not-a-thread/0?context=%7b%22Tid%22%3a%22t%22%2c%22Oid%22%3a%22o%22%7d",
    ],
    ids=["other-site", "http", "context-not-json", "no-organizer", "no-thread"],
)
def test_only_teams_meeting_links_are_taken(link: str) -> None:
    with pytest.raises(ValueError):
        meeting_from_join_url(link)
    admin = admin_client(object_id=user_id(MEGAN))

    answer = admin.post(
        reverse("calls:incidents"),
        {
            "title": "x",
            "message": "y",
            "join_url": link,
            "kind": "person",
            "people": person(GRACE).graph_id,
            "step": "start",
        },
    )

    assert answer.status_code == 400
    assert "That is not a Teams meeting link" in answer.content.decode()
    assert not Incident.objects.exists()


def test_a_teams_link_gives_the_meeting_s_thread_and_organizer() -> None:
    chat, meeting = meeting_from_join_url(
        "https://teams.microsoft.com/l/meetup-join/19%3ameeting_abc%40thread.v2/0"
        "?context=%7b%22Tid%22%3a%22tenant-1%22%2c%22Oid%22%3a%22organizer-1%22%7d"
    )

    assert chat["threadId"] == "19:meeting_abc@thread.v2" and chat["messageId"] == "0"
    assert meeting["organizer"]["user"] == {
        "@odata.type": "#microsoft.graph.identity",
        "id": "organizer-1",
        "tenantId": "tenant-1",
    }
