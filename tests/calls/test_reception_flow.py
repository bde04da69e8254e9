"""The reception line with the real sandbox: answer, menu, routing by presence, call-back."""

# Fixtures are imported by name, so their parameters shadow them.
# ruff: noqa: F811

from __future__ import annotations

import json
import time
from datetime import time as clock_time

import pytest

from calls import services
from calls.models import Call, CallbackOffer, CallDelegate, MenuOption, ReceptionLine
from comms_portal.graph.calls import parse_comms_notifications
from directory.models import Person
from tests.calls.support import (  # noqa: F401  (fixtures)
    CallbackPump,
    bot_webhook,
    control,
    presence_in_sandbox,
    receiver,
    set_presence,
    user_id,
)
from tests.presence.engine_fixtures import clean_presence  # noqa: F401  (fixture)
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_presence")]

GRACE = "grace.whitfield@lumenhall.example"
SAMUEL = "samuel.ortega@lumenhall.example"
AIKO = "aiko.tanaka@lumenhall.example"
LENA = "lena.brandt@lumenhall.example"
CALLER = "+447700900555"


def person(upn: str) -> Person:
    name = upn.split("@")[0].replace(".", " ").title()
    found, _ = Person.objects.get_or_create(
        graph_id=user_id(upn), defaults={"user_principal_name": upn, "display_name": name}
    )
    return found


@pytest.fixture
def line() -> ReceptionLine:
    """A line open all day, every day, with a menu: key 1 for a support list of three."""
    line = ReceptionLine.objects.create(
        opens_at=clock_time(0, 0), closes_at=clock_time(0, 0), open_days="0123456"
    )
    support = MenuOption.objects.create(line=line, digit="1", label="Support", kind="list")
    support.members.set([person(GRACE), person(SAMUEL), person(AIKO)])
    # A second key, so callers hear the menu.
    MenuOption.objects.create(line=line, digit="9", label="Operator", kind="person")
    return line


def ring(pump: CallbackPump) -> Call:
    answer = control("POST", "/calls/incoming", {"from": {"phone": CALLER}})
    graph_id = answer.json()["id"]
    return pump.until(
        lambda: (
            Call.objects.filter(graph_id=graph_id, waiting_for="menu", state="established")
            .select_related("routed_to")
            .first()
        )
    )


def press(call: Call, keys: str) -> None:
    control("POST", f"/calls/{call.graph_id}/tones", {"tones": keys})


def ended(pump: CallbackPump, call: Call) -> Call:
    return pump.until(
        lambda: (
            Call.objects.filter(pk=call.pk, state="terminated").select_related("routed_to").first()
        )
    )


def test_the_available_member_free_longest_gets_the_call_by_transfer(
    bot_webhook: WebhookReceiver, line: ReceptionLine
) -> None:
    pump = CallbackPump(bot_webhook)
    set_presence(SAMUEL, "Busy", "InAMeeting")
    set_presence(GRACE, "Available", "Available")
    set_presence(AIKO, "Away", "Away")
    # The portal sees Grace Available first, Aiko only later.
    services.fresh_presence([person(GRACE), person(AIKO)])
    time.sleep(0.05)
    set_presence(AIKO, "Available", "Available")
    call = ring(pump)

    press(call, "1")
    done = ended(pump, call)

    assert done.routed_to is not None and done.routed_to.graph_id == user_id(GRACE)
    assert (done.result_code, done.result_subcode) == ("0", "7015")
    assert done.routing.startswith("Transferred to")
    assert presence_in_sandbox(GRACE) == ("Busy", "InACall")
    steps = [event.text for event in done.events.all()]
    assert any("Chose Support" in step for step in steps)
    control("POST", f"/calls/{call.graph_id}/hangup")


def test_nobody_free_offers_a_call_back_placed_when_someone_becomes_available(
    bot_webhook: WebhookReceiver, line: ReceptionLine
) -> None:
    pump = CallbackPump(bot_webhook)
    for upn in (GRACE, SAMUEL, AIKO):
        set_presence(upn, "DoNotDisturb", "Presenting")
    call = ring(pump)

    press(call, "1")
    pump.until(lambda: Call.objects.filter(pk=call.pk, waiting_for="offer").exists())
    press(call, "1")
    done = ended(pump, call)

    assert done.routing == "Call back requested"
    # The caller heard the greeting and the menu, the offer, then the promise of a call back.
    played = next(c for c in control("GET", "/calls").json()["calls"] if c["id"] == call.graph_id)
    assert [uri.rsplit("/", 1)[-1] for uri in played["promptsPlayed"]] == [
        "greeting.wav",
        "menu.wav",
        "offer.wav",
        "callback.wav",
    ]
    offer = CallbackOffer.objects.get()
    assert (offer.caller_phone, offer.state) == (CALLER, "waiting")
    assert services.place_call_backs() == 0
    set_presence(SAMUEL, "Available", "Available")
    assert services.place_call_backs() == 1
    back = pump.until(lambda: Call.objects.filter(purpose="callback", state="established").first())
    assert back.routed_to is not None and back.routed_to.graph_id == user_id(SAMUEL)
    assert CallbackOffer.objects.get().state == "calling"
    pump.until(lambda: back.participants.count() == 3)
    services.hang_up(call=back)
    ended(pump, back)


def test_a_busy_person_s_call_goes_to_an_available_delegate(
    bot_webhook: WebhookReceiver, line: ReceptionLine
) -> None:
    boss = person(GRACE)
    MenuOption.objects.create(line=line, digit="2", label="Grace", kind="person", person=boss)
    CallDelegate.objects.create(delegator=boss, delegate=person(LENA), receives_calls=True)
    set_presence(GRACE, "Busy", "InAMeeting")
    set_presence(LENA, "Available", "Available")
    pump = CallbackPump(bot_webhook)
    call = ring(pump)

    press(call, "2")
    done = ended(pump, call)

    assert done.routed_to is not None and done.routed_to.graph_id == user_id(LENA)
    control("POST", f"/calls/{call.graph_id}/hangup")


def test_a_closed_line_says_so_and_hangs_up(bot_webhook: WebhookReceiver) -> None:
    ReceptionLine.objects.create(open_days="")
    pump = CallbackPump(bot_webhook)
    answer = control("POST", "/calls/incoming", {"from": {"phone": CALLER}})

    done = pump.until(
        lambda: Call.objects.filter(graph_id=answer.json()["id"], state="terminated").first()
    )

    assert done.routing == "Closed"
    assert done.result_subcode == "5001"


def test_out_of_order_states_never_step_back(
    bot_webhook: WebhookReceiver, line: ReceptionLine
) -> None:
    pump = CallbackPump(bot_webhook)
    call = ring(pump)
    late = parse_comms_notifications(
        '{"value": [{"changeType": "updated", "resourceUrl": "/communications/calls/'
        + call.graph_id
        + '", "resourceData": {"state": "establishing"}}]}'
    ).value[0]

    outcome = services.apply_notification(late)

    assert outcome.applied is False or "ignored" in outcome.reason
    call.refresh_from_db()
    assert call.state == "established"
    services.hang_up(call=call)
    ended(pump, call)


def test_an_incoming_call_notified_again_is_answered_once(
    bot_webhook: WebhookReceiver, line: ReceptionLine
) -> None:
    pump = CallbackPump(bot_webhook)
    call = ring(pump)
    [created] = [
        post.body
        for post in bot_webhook.posts
        if call.graph_id in str(post.body) and post.body["value"][0]["changeType"] == "created"
    ]
    again = parse_comms_notifications(json.dumps(created)).value[0]

    outcome = services.apply_notification(again)

    assert outcome.applied is False and "seen already" in outcome.reason
    assert Call.objects.filter(graph_id=call.graph_id).count() == 1
    call.refresh_from_db()
    assert (call.state, call.waiting_for) == ("established", "menu")
    services.hang_up(call=call)
    ended(pump, call)


@pytest.fixture
def one_team_line() -> ReceptionLine:
    """A line with a single team: callers ring it straight away, without a menu."""
    line = ReceptionLine.objects.create(
        opens_at=clock_time(0, 0), closes_at=clock_time(0, 0), open_days="0123456"
    )
    team = MenuOption.objects.create(line=line, digit="1", label="Desk", kind="list")
    team.members.set([person(GRACE), person(SAMUEL), person(AIKO)])
    return line


def incoming(pump: CallbackPump) -> str:
    answer = control("POST", "/calls/incoming", {"from": {"phone": CALLER}})
    graph_id = str(answer.json()["id"])
    pump.until(lambda: Call.objects.filter(graph_id=graph_id).exists())
    return graph_id


def test_a_one_team_line_rings_the_available_member_free_longest_without_answering(
    bot_webhook: WebhookReceiver, one_team_line: ReceptionLine
) -> None:
    set_presence(SAMUEL, "Available", "Available")
    services.fresh_presence([person(SAMUEL)])
    time.sleep(0.05)
    set_presence(GRACE, "Available", "Available")
    set_presence(AIKO, "Busy", "InACall")
    pump = CallbackPump(bot_webhook)

    graph_id = incoming(pump)
    done = pump.until(lambda: Call.objects.filter(graph_id=graph_id, state="terminated").first())

    assert done.routing == "Taken by Samuel Ortega"
    overview = control("GET", "/calls").json()
    assert next(c for c in overview["calls"] if c["id"] == graph_id)["connectedTo"] == user_id(
        SAMUEL
    )
    assert "established" not in [e.text for e in done.events.all()]
    control("POST", f"/calls/{graph_id}/hangup")


def test_with_nobody_available_the_team_is_rung_at_once_but_not_dnd_or_offline(
    bot_webhook: WebhookReceiver, one_team_line: ReceptionLine
) -> None:
    set_presence(GRACE, "DoNotDisturb", "Presenting")
    set_presence(SAMUEL, "Away", "Away")
    set_presence(AIKO, "Offline", "Offline")
    control("POST", f"/calls/behaviours/{user_id(SAMUEL)}", {"behaviour": "answer"})
    pump = CallbackPump(bot_webhook)
    try:
        graph_id = incoming(pump)
        done = pump.until(
            lambda: Call.objects.filter(graph_id=graph_id, state="terminated").first()
        )
    finally:
        control("POST", f"/calls/behaviours/{user_id(SAMUEL)}", {"behaviour": "presence"})

    assert done.routing == "Taken by the team"
    steps = [event.text for event in done.events.all()]
    assert "Ringing 1 of Desk at once." in steps
    control("POST", f"/calls/{graph_id}/hangup")


def test_with_nobody_to_ring_the_caller_is_answered_and_offered_a_call_back(
    bot_webhook: WebhookReceiver, one_team_line: ReceptionLine
) -> None:
    for upn in (GRACE, SAMUEL, AIKO):
        set_presence(upn, "DoNotDisturb", "Presenting")
    pump = CallbackPump(bot_webhook)

    graph_id = incoming(pump)
    call = pump.until(lambda: Call.objects.filter(graph_id=graph_id, waiting_for="offer").first())
    control("POST", f"/calls/{graph_id}/tones", {"tones": "1"})
    done = ended(pump, call)

    assert done.routing == "Call back requested"
    assert CallbackOffer.objects.get().caller_phone == CALLER
