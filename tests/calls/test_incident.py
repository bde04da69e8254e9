"""Incident call-out against the sandbox: join the meeting, call Available first, 1 joins, 2
declines, the unreached are called again, Offline people are not called."""

# Fixtures are imported by name, so their parameters shadow them.
# ruff: noqa: F811

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

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
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_presence")]


def join_url() -> str:
    context = quote(f'{{"Tid":"{sandbox_info()["tenant_id"]}","Oid":"{user_id(GRACE)}"}}')
    return (
        "https://teams.microsoft.com/l/meetup-join/19%3ameeting_incident%40thread.v2/0"
        f"?context={context}"
    )


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


def test_a_call_out_gathers_the_team_in_the_meeting(bot_webhook: WebhookReceiver) -> None:
    set_presence(GRACE, "Available", "Available")
    set_presence(LENA, "Available", "Available")
    set_presence(SAMUEL, "Busy", "InACall")
    set_presence(AIKO, "Offline", "Offline")
    pump = CallbackPump(bot_webhook)
    people = [person(SAMUEL), person(AIKO), person(GRACE), person(LENA)]

    incident = services.start_call_out(
        title="Payments down",
        message="Payments fail for every customer.",
        join_url=join_url(),
        people=people,
        created_by="Megan Reyes",
    )

    order = [t.person.graph_id for t in incident.targets.exclude(state="offline")]
    assert order[-1] == user_id(SAMUEL)
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

    admin = Client()
    admin.force_login(User.objects.create(username="m", display_name="M", is_portal_admin=True))
    page = admin.get(reverse("calls:incident_live", args=[incident.pk])).content.decode()
    assert "Joined the meeting" in page and "Declined" in page and "Offline: not called" in page
    services.hang_up(call=bridge)
    ended(pump, bridge)


def test_someone_never_reached_is_given_up_after_the_last_attempt(
    bot_webhook: WebhookReceiver,
) -> None:
    set_presence(SAMUEL, "DoNotDisturb", "Presenting")
    pump = CallbackPump(bot_webhook)
    incident = services.start_call_out(
        title="Disk full",
        message="The disk is full.",
        join_url=join_url(),
        people=[person(SAMUEL)],
        created_by="Megan Reyes",
    )
    Incident.objects.filter(pk=incident.pk).update(max_attempts=1)

    pump.until(lambda: target(SAMUEL).state == "unreached")

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
    admin = Client()
    admin.force_login(User.objects.create(username="m", display_name="M", is_portal_admin=True))

    answer = admin.post(
        reverse("calls:incidents"),
        {"title": "x", "message": "y", "join_url": link, "people": user_id(GRACE)},
    )

    assert answer.status_code == 400
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
