"""The live presence socket: it only relays pushes to the people a page shows."""

from __future__ import annotations

import asyncio
import logging
import re
from collections import deque
from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from comms_portal import realtime
from comms_portal.fanout import Fanout, FanoutUnavailable, process_fanout

logger = logging.getLogger(__name__)

# A page never shows more people than this at once.
MAX_WATCHED = 1000
# Graph ids are GUIDs; group names allow only these characters, so nothing else is accepted.
_ID_SHAPE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
# Close code for "not signed in" (4000-4999 are free for applications).
CLOSE_UNAUTHENTICATED = 4401
# Messages a socket may have waiting for a slow browser; past that they are dropped and the
# page is told to re-read its snapshot instead, so a stalled tab cannot hoard memory.
MAX_WAITING_MESSAGES = 1000


class WatchRejected(ValueError):
    """A watch message the socket cannot honour; the text goes back to the page."""


def parse_watch(content: object) -> set[str]:
    """Return the ids of a ``{"type": "watch", "ids": [...]}`` message, or raise WatchRejected."""
    if not isinstance(content, dict):
        raise WatchRejected("a message must be a JSON object")
    if content.get("type") != "watch":
        raise WatchRejected(f"unknown message type {content.get('type')!r}; send 'watch'")
    ids = content.get("ids")
    if not isinstance(ids, list):
        raise WatchRejected("'ids' must be a list of person ids")
    if len(ids) > MAX_WATCHED:
        raise WatchRejected(f"at most {MAX_WATCHED} people can be watched at once")
    for person_id in ids:
        if not isinstance(person_id, str) or not _ID_SHAPE.match(person_id):
            raise WatchRejected(f"{str(person_id)[:80]!r} is not a person id")
    return set(ids)


class PresenceConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    """Relay presence changes of watched people and notices for the signed-in person.

    The process's fan-out calls ``deliver`` and ``resync``; they only queue the text, and
    one task per socket writes the queue out in order, so a slow browser holds up no one.
    """

    async def connect(self) -> None:
        self.watched: set[str] = set()
        self.own_topic: str | None = None
        self._waiting: deque[str] = deque()
        self._writer: asyncio.Task[None] | None = None
        self._fanout: Fanout | None = None
        user = self.scope.get("user")
        await self.accept()
        if user is None or not user.is_authenticated:
            # Accepted first so the browser sees the code and stops retrying.
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.own_topic = realtime.user_topic(user.pk)
        self._fanout = process_fanout(settings.REDIS_URL)
        await self._follow()

    async def disconnect(self, code: int) -> None:
        fanout = getattr(self, "_fanout", None)
        if fanout is not None:
            await fanout.forget(self)
        writer = getattr(self, "_writer", None)
        if writer is not None:
            writer.cancel()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.own_topic is None:
            return
        if text_data is None:
            await self.send_json({"type": "error", "error": "send text frames of JSON"})
            return
        try:
            await super().receive(text_data=text_data)
        except ValueError:
            await self.send_json({"type": "error", "error": "a message must be valid JSON"})

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        try:
            wanted = parse_watch(content)
        except WatchRejected as rejected:
            await self.send_json({"type": "error", "error": str(rejected)})
            return
        self.watched = wanted
        if await self._follow():
            await self.send_json({"type": "watching", "count": len(wanted)})

    async def _follow(self) -> bool:
        """Follow this page's topics; tell the page when live updates are down for now."""
        assert self._fanout is not None and self.own_topic is not None
        topics = {self.own_topic, *(realtime.presence_topic(p) for p in self.watched)}
        try:
            await self._fanout.follow(self, topics)
        except FanoutUnavailable as error:
            # Still registered: the fan-out subscribes and asks for a resync once Redis is back.
            await self.send_json({"type": "unavailable", "error": str(error)})
            return False
        return True

    # -- called by the fan-out -----------------------------------------------------------

    def deliver(self, text: str) -> None:
        """Queue ``text`` for the browser."""
        if len(self._waiting) >= MAX_WAITING_MESSAGES:
            self._waiting.clear()
            text = realtime.RESYNC_TEXT
        self._waiting.append(text)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_waiting())

    def resync(self) -> None:
        """Ask the page to re-read its snapshot: messages may have been missed."""
        self.deliver(realtime.RESYNC_TEXT)

    async def _write_waiting(self) -> None:
        while self._waiting:
            text = self._waiting.popleft()
            try:
                await self.send(text_data=text)
            except Exception as error:  # the browser has gone; its disconnect cleans up
                logger.debug("presence socket: send failed: %s", error)
                self._waiting.clear()
                return
