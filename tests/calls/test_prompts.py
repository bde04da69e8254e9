"""The bundled recordings: spoken words in the format the calling platform plays, each slot
served until an admin uploads their own, and the reception page saying what each one says."""

from __future__ import annotations

import array
import io
import math
import wave

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from calls import recordings, selectors, services
from calls.forms import PROMPT_SLOTS, validate_wav
from calls.models import Prompt

pytestmark = pytest.mark.django_db
SLOTS = [slot for slot, _ in PROMPT_SLOTS]
FRAME_SECONDS = 0.02


def loudness_of_frames(content: bytes) -> tuple[float, list[float]]:
    """Return a recording's length in seconds and the loudness (RMS) of each 20 ms frame."""
    with wave.open(io.BytesIO(content)) as audio:
        rate = audio.getframerate()
        samples = array.array("h", audio.readframes(audio.getnframes()))
    step = int(rate * FRAME_SECONDS)
    frames = [samples[i : i + step] for i in range(0, len(samples) - step + 1, step)]
    loudness = [math.sqrt(sum(s * s for s in frame) / len(frame)) for frame in frames]
    return len(samples) / rate, loudness


@pytest.mark.parametrize("slot", SLOTS)
def test_each_bundled_recording_is_a_few_seconds_of_speech_the_platform_can_play(
    slot: str,
) -> None:
    served = Client().get(reverse("calls:prompt", args=[slot]))

    assert served.status_code == 200 and served["Content-Type"] == "audio/wav"
    content = served.content
    assert content == recordings.path_of(slot).read_bytes()
    # PCM, 16-bit, mono, 16 kHz: what the platform plays (and what uploads must be).
    validate_wav(content)
    seconds, loudness = loudness_of_frames(content)
    assert 1.5 <= seconds <= 15
    # Speech comes and goes between words; a tone or silence is one steady level.
    loudest = max(loudness)
    assert loudest > 1000
    quiet = sum(1 for level in loudness if level < loudest * 0.05) / len(loudness)
    loud = sum(1 for level in loudness if level > loudest * 0.25) / len(loudness)
    assert quiet > 0.05 and loud > 0.25


def test_a_steady_tone_is_not_taken_for_speech() -> None:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(16_000)
        tone = [int(8000 * math.sin(2 * math.pi * 440 * n / 16_000)) for n in range(16_000)]
        audio.writeframes(array.array("h", tone).tobytes())

    _, loudness = loudness_of_frames(buffer.getvalue())

    assert not any(level < max(loudness) * 0.05 for level in loudness)


def test_every_slot_has_a_bundled_text_and_recording() -> None:
    assert set(recordings.TEXTS) == set(SLOTS)
    assert all(recordings.path_of(slot).is_file() for slot in SLOTS)


def test_the_reception_page_says_what_each_bundled_recording_says() -> None:
    admin = Client()
    admin.force_login(
        User.objects.create(username="megan", display_name="Megan Reyes", is_portal_admin=True)
    )

    page = admin.get(reverse("calls:reception")).content.decode()

    for slot in SLOTS:
        assert f'data-slot="{slot}"' in page
        assert reverse("calls:prompt", args=[slot]) in page
    assert "We will call you back as soon as someone is free." in page
    assert "Press 1 to join the incident meeting, or 2 to decline." in page
    assert "The bundled menu cannot name your keys" in page


def test_a_greeting_uploaded_alone_is_played_without_the_bundled_menu() -> None:
    line = services.the_line()
    assert selectors.greeting_slots() == ["greeting", "menu"]
    greeting = Prompt.objects.create(line=line, slot="greeting", content=b"")
    # An older greeting named the keys itself: no generic menu after it.
    assert selectors.greeting_slots() == ["greeting"]
    Prompt.objects.create(line=line, slot="menu", content=b"")
    assert selectors.greeting_slots() == ["greeting", "menu"]
    greeting.delete()
    assert selectors.greeting_slots() == ["greeting", "menu"]
