"""The line's bundled recordings: what each says, and how the WAV files are made again.

The files in ``calls/prompts/`` are spoken by a speech synthesizer from the texts below and
committed, so the reception line needs none; a call-out's message is spoken with the same
synthesizer when the call-out starts (``calls.speech``). Service-hosted media plays WAV only,
PCM, 16-bit, mono, 16 kHz (https://learn.microsoft.com/graph/api/resources/mediainfo).

To make them again after changing a text (needs Debian's ``espeak-ng`` and ``sox``)::

    python -m calls.recordings
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

FOLDER = Path(__file__).resolve().parent / "prompts"
# One voice, a little slower than espeak-ng's default, so callers on a phone line follow it.
VOICE, WORDS_PER_MINUTE = "en-gb", 150

# What each bundled recording says. A line's own greeting and menu are uploaded recordings; only
# a call-out's message is spoken at run time (calls.speech), where the server has the tools.
TEXTS: dict[str, str] = {
    "greeting": "Welcome, and thank you for calling.",
    "menu": "Please press the key of the team you would like to speak to.",
    "closed": (
        "Thank you for calling. We are closed at the moment. "
        "Please call again during our opening hours. Goodbye."
    ),
    "offer": (
        "Nobody is free to take your call right now. "
        "Press 1 to be called back as soon as someone is free, or 2 to end the call."
    ),
    "callback": "Thank you. We will call you back as soon as someone is free. Goodbye.",
    "goodbye": "Thank you for calling. Goodbye.",
    "incident": (
        "An incident has been declared, and your help is needed. "
        "Its title is the subject of the incident meeting. "
        "Press 1 to join the incident meeting, or 2 to decline."
    ),
}


def path_of(slot: str) -> Path:
    """Return the bundled recording of a slot."""
    return FOLDER / f"{slot}.wav"


def synthesize(text: str, target: Path, *, timeout: float | None = None) -> None:
    """Speak ``text`` into ``target`` as PCM, 16-bit, mono, 16 kHz."""
    with tempfile.TemporaryDirectory() as scratch:
        spoken = Path(scratch) / "spoken.wav"
        subprocess.run(
            ["espeak-ng", "-v", VOICE, "-s", str(WORDS_PER_MINUTE), "-w", str(spoken), text],
            check=True,
            timeout=timeout,
        )
        # espeak-ng speaks at 22.05 kHz; the platform plays 16 kHz. A short silence at the
        # end keeps the last word from being cut where the platform stops the prompt.
        pcm_16k_mono = ["-r", "16000", "-c", "1", "-b", "16", "-e", "signed-integer"]
        subprocess.run(
            ["sox", "-D", str(spoken), *pcm_16k_mono, str(target), "pad", "0", "0.3"],
            check=True,
            timeout=timeout,
        )


def main() -> int:
    """Make every bundled recording again from its text."""
    missing = [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]
    if missing:
        print(f"Needs {' and '.join(missing)} (apt-get install espeak-ng sox).", file=sys.stderr)
        return 1
    for slot, text in TEXTS.items():
        synthesize(text, path_of(slot))
        print(f"{path_of(slot).name}: {text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
