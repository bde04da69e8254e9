"""Teams, as the reception menu and incident call-outs choose them: a department of the
directory, a saved team of people picked by hand, or one person; a call-out's preview shows
whom the bot will call and in what order before anything is started."""

# Fixtures are imported by name, so their parameters shadow them.
# ruff: noqa: F811

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from calls import services
from calls.models import Call, Incident, MenuOption, Team
from directory.models import Person
from tests.calls.support import (  # noqa: F401  (fixtures)
    CallbackPump,
    bot_webhook,
    control,
    receiver,
    set_presence,
    user_id,
)
from tests.calls.test_incident import admin_client, bot_calls, target
from tests.calls.test_reception_flow import AIKO, GRACE, LENA, SAMUEL, ended, person
from tests.presence.engine_fixtures import clean_presence  # noqa: F401  (fixture)
from tests.support.cast import MARCUS, MEGAN
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_presence")]
ON_CALL = "Incident response"


def on_call_department() -> list[Person]:
    """Put Grace, Samuel, Aiko and Lena in one department of the directory."""
    people = [person(upn) for upn in (GRACE, SAMUEL, AIKO, LENA)]
    Person.objects.filter(pk__in=[p.pk for p in people]).update(department=ON_CALL)
    return people


def planned_rows(page: str) -> list[tuple[str, str]]:
    """Return each previewed person's id and whether they are called, in the page's order."""
    return re.findall(r'data-planned="([^"]+)" data-called="([^"]+)"', page)


def form(**fields: str) -> dict[str, str]:
    return {"title": "Checkout errors", "message": "Checkout fails.", **fields}


def test_the_preview_shows_a_department_in_call_order_and_starts_nothing(
    bot_webhook: WebhookReceiver,
) -> None:
    on_call_department()
    set_presence(GRACE, "DoNotDisturb", "Presenting")
    set_presence(SAMUEL, "Busy", "InACall")
    set_presence(AIKO, "Offline", "Offline")
    set_presence(LENA, "Available", "Available")
    set_presence(MARCUS, "Away", "Away")
    admin = admin_client(object_id=user_id(MEGAN))
    calls_before = len(bot_calls())

    answer = admin.post(
        reverse("calls:incidents"),
        form(kind="department", department=ON_CALL, also_call=person(MARCUS).graph_id),
    )

    page = answer.content.decode()
    assert answer.status_code == 200
    # Available, Away, Busy, Do not disturb; Offline not called unless asked.
    assert planned_rows(page) == [
        (user_id(LENA), "yes"),
        (user_id(MARCUS), "yes"),
        (user_id(SAMUEL), "yes"),
        (user_id(GRACE), "yes"),
        (user_id(AIKO), "no"),
    ]
    assert "Do not disturb" in page and "Start the call-out" in page
    assert not Incident.objects.exists() and len(bot_calls()) == calls_before

    # Asked for, Offline people come before Do not disturb; one left out is not called.
    again = admin.post(
        reverse("calls:incidents"),
        form(
            kind="department",
            department=ON_CALL,
            call_offline="on",
            leave_out=user_id(SAMUEL),
        ),
    ).content.decode()
    assert planned_rows(again) == [
        (user_id(LENA), "yes"),
        (user_id(AIKO), "yes"),
        (user_id(GRACE), "yes"),
        (user_id(SAMUEL), "left-out"),
    ]


def test_a_call_out_to_a_saved_team_calls_its_members_give_or_take_people(
    bot_webhook: WebhookReceiver,
) -> None:
    set_presence(GRACE, "Available", "Available")
    set_presence(SAMUEL, "Available", "Available")
    set_presence(AIKO, "Busy", "InACall")
    set_presence(MARCUS, "Available", "Available")
    pump = CallbackPump(bot_webhook)
    admin = admin_client(object_id=user_id(MEGAN))
    picked = ",".join(person(upn).graph_id for upn in (GRACE, SAMUEL, AIKO))

    # People picked by hand and named: the preview does not save the team yet.
    previewed = admin.post(
        reverse("calls:incidents"), form(kind="list", people=picked, team_name="Payments")
    )
    assert previewed.status_code == 200 and not Team.objects.exists()
    started = admin.post(
        reverse("calls:incidents"),
        form(kind="list", people=picked, team_name="Payments", step="start"),
    )
    first = Incident.objects.get()
    assert started.status_code == 302
    team = Team.objects.get(name="Payments")
    assert {p.graph_id for p in team.members.all()} == {user_id(u) for u in (GRACE, SAMUEL, AIKO)}
    assert first.team_label == "the team Payments"

    # The saved team is chosen again by name, with Marcus added and Samuel left out.
    admin.post(
        reverse("calls:incidents"),
        form(
            title="Payments again",
            kind="list",
            team=str(team.pk),
            also_call=person(MARCUS).graph_id,
            leave_out=user_id(SAMUEL),
            step="start",
        ),
    )

    second = Incident.objects.get(title="Payments again")
    targets = list(second.targets.all())
    assert {t.person.graph_id for t in targets} == {user_id(GRACE), user_id(MARCUS), user_id(AIKO)}
    # Marcus is Available and Aiko Busy (Grace may still be in the first call-out's call).
    called = [t.person.graph_id for t in targets]
    assert called.index(user_id(MARCUS)) < called.index(user_id(AIKO))
    assert [t.order for t in targets] == sorted(t.order for t in targets)
    page = admin.get(reverse("calls:incident", args=[second.pk])).content.decode()
    assert "Calling the team Payments." in page
    # The people called hear the message itself.
    assert 'data-speech="spoken"' in page and "not read out" not in page
    for incident in (first, second):
        bridge = Call.objects.get(graph_id=incident.bridge_call_id)
        services.hang_up(call=bridge)
        ended(pump, bridge)
    assert target_count(second) == 3


def target_count(incident: Incident) -> int:
    return incident.targets.count()


def test_a_team_with_nobody_to_call_is_refused_on_the_form() -> None:
    admin = admin_client(object_id=user_id(MEGAN))
    grace = person(GRACE)

    answer = admin.post(
        reverse("calls:incidents"),
        form(kind="person", people=grace.graph_id, leave_out=grace.graph_id, step="start"),
    )

    assert answer.status_code == 400
    assert "Nobody to call: Grace Whitfield has nobody in it." in answer.content.decode()
    assert not Incident.objects.exists()


def test_the_menu_and_call_outs_share_saved_teams(bot_webhook: WebhookReceiver) -> None:
    on_call_department()
    admin = admin_client(object_id=user_id(MEGAN))
    url = reverse("calls:reception")
    picked = ",".join(person(upn).graph_id for upn in (GRACE, SAMUEL))

    # A list key's people become a saved team named after the key.
    saved = admin.post(
        url, {"form": "option", "digit": "1", "label": "Support", "kind": "list", "people": picked}
    )
    departments = admin.get(url).content.decode()
    both = admin.post(
        url,
        {
            "form": "option",
            "digit": "2",
            "label": "x",
            "kind": "list",
            "people": picked,
            "team": str(Team.objects.get(name="Support").pk),
        },
    )
    by_department = admin.post(
        url,
        {
            "form": "option",
            "digit": "3",
            "label": "Incidents",
            "kind": "department",
            "department": ON_CALL,
        },
    )

    assert saved.status_code == 302 and by_department.status_code == 302
    assert f'<option value="{ON_CALL}">{ON_CALL}</option>' in departments
    assert both.status_code == 400 and b"Choose a saved team or pick people, not both" in (
        both.content
    )
    support = MenuOption.objects.get(digit="1")
    assert support.team is not None and support.team.name == "Support"
    assert {p.graph_id for p in support.members.all()} == {user_id(GRACE), user_id(SAMUEL)}
    assert MenuOption.objects.get(digit="3").department == ON_CALL

    # Saving the team again from a call-out changes whom the menu key rings.
    set_presence(AIKO, "Available", "Available")
    pump = CallbackPump(bot_webhook)
    admin.post(
        reverse("calls:incidents"),
        form(kind="list", people=person(AIKO).graph_id, team_name="Support", step="start"),
    )
    assert [p.graph_id for p in MenuOption.objects.get(digit="1").members.all()] == [user_id(AIKO)]
    assert target(AIKO).incident.team_label == "the team Support"
    bridge = Call.objects.get(graph_id=Incident.objects.get().bridge_call_id)
    services.hang_up(call=bridge)
    ended(pump, bridge)

    # The reception page lists the saved teams; a deleted one leaves its key its people.
    listed = admin.get(url).content.decode()
    assert 'data-team="Support"' in listed and "Aiko Tanaka; keys 1" in listed
    support_team = Team.objects.get(name="Support")
    # In use by key 1: not deleted before the admin has seen where, then deleted.
    asked = admin.post(reverse("calls:delete_team", args=[support_team.pk]))
    assert asked["Location"] == reverse("calls:delete_team", args=[support_team.pk])
    assert Team.objects.filter(pk=support_team.pk).exists()
    deleted = admin.post(reverse("calls:delete_team", args=[support_team.pk]), {"confirm": "yes"})
    assert deleted.status_code == 302 and not Team.objects.exists()
    key = MenuOption.objects.get(digit="1")
    assert key.team is None and [p.graph_id for p in key.members.all()] == [user_id(AIKO)]
