"""A call-out's message, spoken: the people called hear what the admin wrote.

When a call-out starts, its title and message are spoken into a WAV prompt by the same local
synthesizer that makes the bundled recordings (Debian's espeak-ng and sox, offline), and served
to the calling platform at an address naming an unguessable token. The recording is a prompt
the admin wrote, not call media: it is kept while the call-out runs and deleted as soon as
nobody is left to call, when the bot leaves the incident meeting, or after
``CALLS_SPOKEN_MESSAGE_HOURS`` at most. Without the synthesizer (or when it fails), the people
called hear the bundled notice instead and the call-out's page says why.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django import forms
from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from calls import recordings
from calls.forms import validate_wav
from calls.models import Call, Incident, IncidentTarget, SpokenMessage

logger = logging.getLogger(__name__)

TOOLS = ("espeak-ng", "sox")
# Longer than the synthesizer ever needs for 700 characters; a stuck one must not hold the
# call-out back for long.
SYNTHESIS_TIMEOUT_SECONDS = 30.0
CHOICE = "Press 1 to join the incident meeting, or 2 to decline."
# States in which a person may still hear the message (now or on a later attempt).
STILL_CALLING = (
    IncidentTarget.State.WAITING,
    IncidentTarget.State.CALLING,
    IncidentTarget.State.LISTENING,
    IncidentTarget.State.RETRY,
)


@dataclass(frozen=True)
class Spoken:
    """A message spoken into a WAV prompt, or why it could not be."""

    content: bytes | None
    error: str = ""


def script(*, title: str, message: str) -> str:
    """Return what the people called hear: the title, the message, then the choice."""
    said = " ".join(message.split())
    if said and said[-1] not in ".!?":
        said += "."
    heading = " ".join(title.split()).rstrip(".!?")
    return f"An incident has been declared: {heading}. {said} {CHOICE}"


def speak(text: str) -> Spoken:
    """Speak ``text`` into a WAV prompt the platform plays (PCM, 16-bit, mono, 16 kHz)."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return Spoken(None, f"the server has no speech synthesizer ({' and '.join(missing)})")
    with tempfile.TemporaryDirectory() as scratch:
        target = Path(scratch) / "message.wav"
        try:
            recordings.synthesize(text, target, timeout=SYNTHESIS_TIMEOUT_SECONDS)
            content = target.read_bytes()
        except (OSError, subprocess.SubprocessError) as error:
            logger.warning("speaking a call-out's message failed: %s", error)
            return Spoken(None, "the speech synthesizer failed")
    try:
        validate_wav(content)
    except forms.ValidationError as error:
        return Spoken(None, f"the spoken message is not a playable prompt ({error.messages[0]})")
    return Spoken(content)


def keep(*, incident: Incident, spoken: Spoken) -> None:
    """Store the spoken message of a call-out (or why there is none) for its calls to play."""
    incident.message_spoken = spoken.content is not None
    incident.speech_error = spoken.error[:300]
    incident.save(update_fields=["message_spoken", "speech_error"])
    if spoken.content is not None:
        SpokenMessage.objects.create(
            incident=incident, token=secrets.token_urlsafe(32), content=spoken.content
        )


def message_uri(incident: Incident) -> str | None:
    """Return where the platform fetches the call-out's spoken message, or None if it has none."""
    token = SpokenMessage.objects.filter(incident=incident).values_list("token", flat=True).first()
    if token is None:
        return None
    path = reverse("calls:spoken_message", kwargs={"token": token})
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


def content_of(token: str) -> bytes | None:
    """Return a spoken message by its token, or None."""
    spoken = SpokenMessage.objects.filter(token=token).only("content").first()
    return bytes(spoken.content) if spoken is not None else None


def forget_if_over(incident: Incident) -> bool:
    """Delete the call-out's spoken message once nobody is left to hear it; tell if deleted."""
    if incident.targets.filter(state__in=STILL_CALLING).exists():
        return False
    return SpokenMessage.objects.filter(incident=incident).delete()[0] > 0


def forget_spoken_messages() -> int:
    """Delete the spoken messages of call-outs that are over or too old; return how many."""
    still_calling = IncidentTarget.objects.filter(
        incident=OuterRef("incident"), state__in=STILL_CALLING
    )
    bridge_ended = Call.objects.filter(
        graph_id=OuterRef("incident__bridge_call_id"), state="terminated"
    )
    too_old = timezone.now() - timedelta(hours=settings.CALLS_SPOKEN_MESSAGE_HOURS)
    over = SpokenMessage.objects.filter(
        Q(created_at__lt=too_old) | ~Exists(still_calling) | Exists(bridge_ended)
    )
    return over.delete()[0]
