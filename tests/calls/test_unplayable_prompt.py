"""Prompts the platform fetches from the portal: played when good, noted when they cannot be."""

# Fixtures are imported by name, so their parameters shadow them.
# ruff: noqa: F811

from __future__ import annotations

import io
import wave
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from calls import incidents, services, steps
from calls.models import Call, Prompt, ReceptionLine
from tests.calls.support import (  # noqa: F401  (fixtures)
    CallbackPump,
    bot_webhook,
    control,
    receiver,
    set_presence,
    user_id,
)
from tests.calls.test_board import admin, open_line  # noqa: F401  (fixtures)
from tests.calls.test_reception_flow import GRACE, SAMUEL, ended, ring
from tests.presence.engine_fixtures import clean_presence  # noqa: F401  (fixture)
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_presence")]


def wav_at(rate: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(rate)
        audio.writeframes(b"\x00\x10" * rate)
    return buffer.getvalue()


def greeting_outcome(call: Call) -> dict[str, Any] | None:
    """Return the greeting's playPromptOperation as the platform reported it once it ended."""
    deliveries = control("GET", f"/calls/deliveries?callId={call.graph_id}").json()["deliveries"]
    for delivery in deliveries:
        for item in delivery["body"]["value"]:
            data = item["resourceData"]
            if (
                isinstance(data, dict)
                and data.get("clientContext") == services.MENU
                and data.get("status") in ("completed", "failed")
            ):
                return dict(data)
    return None


def test_the_platform_plays_the_greeting_the_portal_serves(
    bot_webhook: WebhookReceiver, open_line: ReceptionLine, admin: Client
) -> None:
    pump = CallbackPump(bot_webhook)
    call = ring(pump)

    outcome = pump.until(lambda: greeting_outcome(call))
    pump.step()

    assert outcome["status"] == "completed"
    assert {"/calls/prompts/greeting.wav", "/calls/prompts/menu.wav"} <= set(bot_webhook.gets)
    page = admin.get(reverse("calls:call", args=[call.pk])).content.decode()
    assert "could not be played" not in page
    admin.post(reverse("calls:hang_up", args=[call.pk]))
    ended(pump, call)


def test_a_greeting_the_platform_cannot_play_is_noted_and_the_menu_still_routes(
    bot_webhook: WebhookReceiver, open_line: ReceptionLine, admin: Client
) -> None:
    # A greeting kept from before uploads were checked: 8 kHz, which the platform refuses.
    Prompt.objects.create(line=open_line, slot="greeting", content=wav_at(8_000))
    set_presence(SAMUEL, "Busy", "InAMeeting")
    set_presence(GRACE, "Available", "Available")
    pump = CallbackPump(bot_webhook)
    call = ring(pump)

    noted = pump.until(
        lambda: call.events.filter(text__startswith="The greeting could not be played").first()
    )
    assert "greeting.wav" in noted.text and "8000 Hz" in noted.text
    page = admin.get(reverse("calls:call", args=[call.pk])).content.decode()
    assert "The greeting could not be played" in page

    control("POST", f"/calls/{call.graph_id}/tones", {"tones": "1"})
    done = ended(pump, call)

    assert done.routed_to is not None and done.routed_to.graph_id == user_id(GRACE)
    assert done.routing.startswith("Transferred to")
    control("POST", f"/calls/{call.graph_id}/hangup")


def test_every_prompt_context_of_the_flows_has_a_name() -> None:
    contexts = {services.MENU, services.OFFER, services.BYE, incidents.LISTEN}

    assert contexts <= set(steps.PROMPT_NAMES)
