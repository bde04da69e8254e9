"""A call-out's message is heard: spoken into a WAV prompt the platform fetches from the portal,
played before the choice, deleted when the call-out is over; a server without the synthesizer
plays the recorded notice and the page says the message is not read out."""

# Fixtures are imported by name, so their parameters shadow them.
# ruff: noqa: F811

from __future__ import annotations

import io
import os
import wave
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from calls import recordings, services, speech, steps
from calls.models import Call, Incident, SpokenMessage
from calls.tasks import forget_spoken_messages
from comms_portal.celery import app
from tests.calls.support import (  # noqa: F401  (fixtures)
    CallbackPump,
    bot_webhook,
    control,
    receiver,
    set_presence,
    user_id,
)
from tests.calls.test_incident import admin_client, bot_calls, listening, target
from tests.calls.test_reception_flow import GRACE, LENA, ended, person
from tests.presence.engine_fixtures import clean_presence  # noqa: F401  (fixture)
from tests.support.cast import MEGAN
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_presence")]


def prompts_played(call: Call) -> list[str]:
    return list(next(c for c in bot_calls() if c["id"] == call.graph_id)["promptsPlayed"])


def fetch(uri: str) -> tuple[int, str, bytes]:
    """Fetch a prompt as the calling platform does: no session, by its address alone."""
    answer = Client().get(urlsplit(uri).path)
    return answer.status_code, answer.get("Content-Type", ""), answer.content


def seconds_of(content: bytes) -> float:
    with wave.open(io.BytesIO(content)) as audio:
        assert (audio.getframerate(), audio.getsampwidth(), audio.getnchannels()) == (16_000, 2, 1)
        return audio.getnframes() / audio.getframerate()


def start(title: str, message: str, upn: str) -> Incident:
    return services.start_call_out(
        title=title,
        message=message,
        people=[person(upn)],
        created_by="Megan Reyes",
        organizer_id=user_id(MEGAN),
    )


def hang_up_bridge(pump: CallbackPump, incident: Incident) -> None:
    bridge = Call.objects.get(graph_id=incident.bridge_call_id)
    services.hang_up(call=bridge)
    ended(pump, bridge)


def test_the_person_called_hears_the_admin_s_message_then_the_choice(
    bot_webhook: WebhookReceiver,
) -> None:
    set_presence(GRACE, "Available", "Available")
    pump = CallbackPump(bot_webhook)
    message = "Card payments fail for every customer since the release at noon."

    incident = start("Payments down", message, GRACE)
    call = listening(pump, GRACE)

    played = prompts_played(call)
    assert len(played) == 1 and "/calls/spoken/" in played[0]
    assert steps.prompt_uri("incident") not in played
    status, kind, content = fetch(played[0])
    assert (status, kind) == (200, "audio/wav")
    assert content[:4] == b"RIFF" and content[8:12] == b"WAVE"
    # The message itself, not the recorded notice: longer, and not the same sound.
    notice = recordings.path_of("incident").read_bytes()
    assert content != notice and seconds_of(content) > seconds_of(notice)
    assert incident.message_spoken and incident.speech_error == ""
    page = admin_client().get(reverse("calls:incident", args=[incident.pk])).content.decode()
    assert 'data-speech="spoken"' in page and "not read out" not in page

    # Grace presses 1: nobody is left to call, so the recording goes at once.
    control("POST", f"/calls/{call.graph_id}/tones", {"tones": "1"})
    pump.until(lambda: target(GRACE).state == "joined")
    assert not SpokenMessage.objects.exists()
    assert fetch(played[0])[0] == 404
    hang_up_bridge(pump, incident)


def test_what_is_said_is_the_title_the_message_and_the_choice() -> None:
    said = speech.script(title="Payments down.", message="  Card payments\nfail ")

    assert said == (
        "An incident has been declared: Payments down. Card payments fail. "
        "Press 1 to join the incident meeting, or 2 to decline."
    )


def test_a_longer_message_is_a_longer_recording() -> None:
    short = speech.speak(speech.script(title="Outage", message="Email is down."))
    long = speech.speak(
        speech.script(
            title="Outage",
            message="Email is down for the whole company; the mail gateway rejects every "
            "message since nine, and the supplier is looking into it.",
        )
    )

    assert short.content is not None and long.content is not None
    assert seconds_of(long.content) > seconds_of(short.content) + 2


def test_without_a_synthesizer_the_notice_plays_and_the_page_says_so(
    bot_webhook: WebhookReceiver, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A server where espeak-ng is not installed: only Python is on its path.
    bare = tmp_path / "bin"
    bare.mkdir()
    (bare / "sox").symlink_to("/usr/bin/sox")
    monkeypatch.setenv("PATH", str(bare) + os.pathsep + "/nonexistent")
    set_presence(GRACE, "Available", "Available")
    pump = CallbackPump(bot_webhook)

    incident = start("Disk full", "The build server's disk is full.", GRACE)
    call = listening(pump, GRACE)

    assert not incident.message_spoken
    assert "espeak-ng" in incident.speech_error
    assert not SpokenMessage.objects.exists()
    assert prompts_played(call) == [steps.prompt_uri("incident")]
    page = admin_client().get(reverse("calls:incident", args=[incident.pk])).content.decode()
    assert 'data-speech="notice"' in page
    assert "The message above is not read out" in page and "espeak-ng" in page
    control("POST", f"/calls/{call.graph_id}/tones", {"tones": "2"})
    ended(pump, call)
    hang_up_bridge(pump, incident)


def test_a_call_out_s_recording_is_deleted_once_over_or_too_old(
    bot_webhook: WebhookReceiver,
) -> None:
    set_presence(GRACE, "Available", "Available")
    set_presence(LENA, "Available", "Available")
    pump = CallbackPump(bot_webhook)
    running = start("Network down", "The office network is down.", GRACE)
    old = start("Printer on fire", "The third floor printer is on fire.", LENA)
    listening(pump, GRACE)
    listening(pump, LENA)
    SpokenMessage.objects.filter(incident=old).update(
        created_at=timezone.now() - timedelta(hours=25)
    )

    assert speech.forget_spoken_messages() == 1

    # The running call-out keeps its message; the one past its retention falls back.
    assert SpokenMessage.objects.filter(incident=running).exists()
    assert speech.message_uri(old) is None
    # When the bot leaves the incident meeting, the call-out is over.
    hang_up_bridge(pump, running)
    assert speech.forget_spoken_messages() == 1
    assert not SpokenMessage.objects.exists()
    hang_up_bridge(pump, old)


def test_an_unknown_message_address_finds_nothing() -> None:
    answer = Client().get(reverse("calls:spoken_message", kwargs={"token": "not-a-token"}))

    assert answer.status_code == 404


def test_the_beat_forgets_spoken_messages_well_within_their_retention() -> None:
    app.loader.import_default_modules()
    entry = app.conf.beat_schedule["forget-spoken-messages"]

    assert entry["task"] == forget_spoken_messages.name
    assert entry["schedule"] < 3600 * settings.CALLS_SPOKEN_MESSAGE_HOURS
