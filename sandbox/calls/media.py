"""Service-hosted prompt media: the platform fetches each prompt and checks it can play it.

https://learn.microsoft.com/graph/api/resources/mediainfo: a prompt's ``uri`` must be a Wave
file (.wav), single-channel, 16-bit samples at 16,000 Hz. Graph fetches the file itself and
keeps prefetched media (``serviceHostedMediaConfig.preFetchMedia``) against its
``resourceId``. The sandbox fetches on its event loop (never under the state lock, never on
the timer loop's turn for long), with a time and size limit, and keeps what played well by
address for a while, so a prompt played again is not fetched again.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import struct
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from sandbox.notifications.endpoints import is_loopback_host
from sandbox.notifications.transport import trust_context
from sandbox.state import SandboxState

logger = logging.getLogger("sandbox.calls")

FETCH_SECONDS = 5.0
MAX_BYTES = 8 * 1024 * 1024  # over four minutes of 16 kHz 16-bit mono
KEEP_SECONDS = 60.0  # a prompt fetched to be played
PREFETCH_KEEP_SECONDS = 30 * 60.0  # a prompt the bot asked to be prefetched
# Graph documents no resultInfo for a prompt it cannot fetch or play. The sandbox answers
# 400 (the request's media is at fault, as Graph's 4xx codes say of a bad request) with
# subcode 0, and a message naming the prompt and what was wrong with it.
UNPLAYABLE_CODE = 400
UNPLAYABLE_SUBCODE = 0
WAVE_FORMAT_PCM = 1
CHANNELS, SAMPLE_BITS, SAMPLE_RATE = 1, 16, 16_000


def media_uri_problem(uri: object) -> str | None:
    """Say what is wrong with a prompt's address, or None: https, or http on loopback only."""
    if not isinstance(uri, str):
        return "must be an absolute https URI"
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    try:
        parts.port  # noqa: B018  (raises on a port out of range)
    except ValueError:
        return "must be an absolute https URI with a valid port"
    if scheme not in ("https", "http") or not parts.hostname:
        return "must be an absolute https URI"
    if scheme == "http" and not is_loopback_host(parts.hostname):
        return "must use https (http is accepted only on a loopback address)"
    return None


def wav_problem(content: bytes) -> str | None:
    """Say why ``content`` is not a prompt the platform plays, or None when it is."""
    if len(content) < 12 or content[:4] != b"RIFF" or content[8:12] != b"WAVE":
        return "it is not a WAV file"
    offset, fmt, has_data = 12, None, False
    while offset + 8 <= len(content):
        chunk_id = content[offset : offset + 4]
        (size,) = struct.unpack_from("<I", content, offset + 4)
        if chunk_id == b"fmt " and size >= 16 and offset + 24 <= len(content):
            fmt = struct.unpack_from("<HHIIHH", content, offset + 8)
        elif chunk_id == b"data":
            has_data = size > 0 and offset + 8 < len(content)
            break
        offset += 8 + size + (size & 1)
    if fmt is None:
        return "it is not a WAV file: it has no format chunk"
    tag, channels, rate, _byte_rate, _align, bits = fmt
    if (tag, channels, bits, rate) != (WAVE_FORMAT_PCM, CHANNELS, SAMPLE_BITS, SAMPLE_RATE):
        kind = "PCM" if tag == WAVE_FORMAT_PCM else f"format {tag}"
        return (
            f"it is {kind}, {channels} channel(s), {bits}-bit at {rate} Hz; the platform "
            f"plays only PCM, mono, 16-bit at 16 kHz"
        )
    if not has_data:
        return "it holds no audio"
    return None


class PromptMedia:
    """Fetches and checks prompts in the background; keeps those that play well by address."""

    def __init__(self, ca_bundle: Path | None) -> None:
        self._ca_bundle = ca_bundle
        self._context: ssl.SSLContext | None = None
        self._held: dict[str, tuple[float, asyncio.Task[str | None]]] = {}
        self._running: set[asyncio.Task[Any]] = set()

    def check(self, uri: str, *, keep_seconds: float = KEEP_SECONDS) -> asyncio.Task[str | None]:
        """Return the check of ``uri`` (None: it plays; else why not), started or shared.

        Call it on the sandbox's event loop only: the cache has no lock of its own.
        """
        now = time.monotonic()
        for address in [a for a, (until, _) in self._held.items() if until <= now]:
            del self._held[address]
        held = self._held.get(uri)
        if held is not None:
            until, task = held
            if not task.done() or task.result() is None:
                self._held[uri] = (max(until, now + keep_seconds), task)
                return task
        task = self.spawn(self._fetch(uri))
        self._held[uri] = (now + keep_seconds, task)
        return task

    def spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``work`` in the background, keeping a reference until it is done."""
        task = asyncio.get_running_loop().create_task(work)
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return task

    async def _fetch(self, uri: str) -> str | None:
        try:
            async with asyncio.timeout(FETCH_SECONDS):
                content = await self._download(uri)
        except TimeoutError:
            return f"it could not be fetched within {FETCH_SECONDS:g} s"
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            return f"it could not be fetched: {error or type(error).__name__}"
        except Exception as error:
            # Whatever else stops the fetch, the prompt cannot be played; the call goes on.
            logger.warning("fetching prompt %s failed", uri, exc_info=True)
            return f"it could not be fetched: {error or type(error).__name__}"
        if isinstance(content, str):
            return content
        return wav_problem(content)

    async def _download(self, uri: str) -> bytes | str:
        if self._context is None:
            self._context = trust_context(self._ca_bundle)
        async with (
            httpx.AsyncClient(verify=self._context, trust_env=False, timeout=FETCH_SECONDS) as http,
            http.stream("GET", uri) as response,
        ):
            if response.status_code != 200:
                return f"fetching it answered {response.status_code}"
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > MAX_BYTES:
                return f"it is larger than {MAX_BYTES} bytes"
            content = bytearray()
            async for piece in response.aiter_bytes():
                content += piece
                if len(content) > MAX_BYTES:
                    return f"it is larger than {MAX_BYTES} bytes"
            return bytes(content)


_MEDIA = "calls.prompt-media"


def prompt_media(state: SandboxState) -> PromptMedia:
    """Return the prompt media of ``state``, made on first use."""
    with state.lock:
        media = state.extensions.get(_MEDIA)
        if not isinstance(media, PromptMedia):
            media = PromptMedia(state.ca_bundle)
            state.extensions[_MEDIA] = media
        return media
