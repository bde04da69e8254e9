"""The live socket of every page: it relays messages of the topics the page may watch."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from comms_portal.live.backends import LiveFanout, process_live_fanout
from comms_portal.live.fanout import FanoutUnavailable
from comms_portal.live.topics import group_name, user_topic
from comms_portal.live.watching import WatchRejected, allowed_watch

logger = logging.getLogger(__name__)

# Close code for "not signed in" (4000-4999 are free for applications).
CLOSE_UNAUTHENTICATED = 4401
# Messages a socket may have waiting for a slow browser; past that they are dropped and the
# page is told to re-read its snapshot instead, so a stalled tab cannot hoard memory.
MAX_WAITING_MESSAGES = 1000
# What a page is told when messages may have been lost: re-read a snapshot.
RESYNC_TEXT = json.dumps({"type": "resync"})


class LiveConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    """Relay the messages of the watched topics and the signed-in person's notices.

    The process's fan-out calls ``deliver`` and ``resync``; they only queue the text, and
    one task per socket writes the queue out in order, so a slow browser holds up no one.
    """

    async def connect(self) -> None:
        self.topics: frozenset[str] = frozenset()
        self.own_topic: str | None = None
        self._waiting: deque[str] = deque()
        self._writer: asyncio.Task[None] | None = None
        self._fanout: LiveFanout | None = None
        self.user = self.scope.get("user")
        await self.accept()
        if self.user is None or not self.user.is_authenticated:
            # Accepted first so the browser sees the code and stops retrying.
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.own_topic = user_topic(self.user.pk)
        self._fanout = process_live_fanout()
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
            self.topics = await allowed_watch(self.user, content)
        except WatchRejected as rejected:
            await self.send_json(rejected.reply())
            return
        if await self._follow():
            await self.send_json({"type": "watching", "count": len(self.topics)})

    async def _follow(self) -> bool:
        """Follow this page's topics; tell the page when live updates are down for now."""
        assert self._fanout is not None and self.own_topic is not None
        names = {group_name(topic) for topic in (self.own_topic, *self.topics)}
        try:
            await self._fanout.follow(self, names)
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
            text = RESYNC_TEXT
        self._waiting.append(text)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_waiting())

    def resync(self) -> None:
        """Ask the page to re-read its snapshot: messages may have been missed."""
        self.deliver(RESYNC_TEXT)

    async def _write_waiting(self) -> None:
        while self._waiting:
            text = self._waiting.popleft()
            try:
                await self.send(text_data=text)
            except Exception as error:  # the browser has gone; its disconnect cleans up
                logger.debug("live socket: send failed: %s", error)
                self._waiting.clear()
                return
